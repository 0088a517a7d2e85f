"""Mastodon statuses as the hashtag timeline returns them (`/api/v1/timelines/tag/beacon`
on mastodon.social): one Status per line.

Statuses come from many instances; `language` is the author's default posting language,
so sometimes wrong and sometimes null. An edited status comes again, re-read by id,
with `edited_at` set and its content changed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

from productops.sample import languages, messy
from productops.sample.company import Company
from productops.sample.ids import snowflake
from productops.sample.mentions import Channel, day_of, draw, html_escape, iso, people

CHANNEL = Channel(stream=13, weekday=6, weekend=4, spike=(5, 12), non_english=0.3)
HOME = "mastodon.social"  # the instance whose hashtag timeline is read
INSTANCES = {  # where each language's authors have their accounts
    "en": ("mastodon.social", "mastodon.online", "fosstodon.org"),
    "de": ("chaos.social", "norden.social", "mastodon.social"),
    "fr": ("piaille.fr", "mamot.fr"),
    "es": ("masto.es", "mastodon.social"),
    "pt": ("mastodon.com.br", "bolha.us"),
}
LANGUAGE_NULL = 0.1  # statuses without a language
LANGUAGE_WRONG = 0.08  # statuses whose language is the author's default, not the text's
EXTRA_TAG = 0.3  # statuses with a second hashtag
EDITED = 0.02  # statuses edited 10 minutes to a day later
ACCOUNTS_FROM = 109_300_000_000_000_000  # account ids: snowflakes of late 2022
JOINED = 1_667_779_200  # 2022-11-07, when many accounts were opened


def _language(rng: np.random.Generator, lang: np.ndarray) -> pl.Series:
    n = len(lang)
    u = rng.random(n)
    wrong = np.where(lang == "en", rng.choice(np.array(languages.LANGUAGES), n), "en")
    tagged = np.where(u < LANGUAGE_NULL + LANGUAGE_WRONG, wrong, lang)
    return pl.Series(tagged, dtype=pl.String).set(pl.Series(u < LANGUAGE_NULL), None)


def _hashtag(domain: pl.Expr, name: str) -> pl.Expr:
    return (
        pl.lit('<a href="https://')
        + domain
        + pl.lit(
            f'/tags/{name.lower()}" class="mention hashtag" rel="tag">#<span>{name}</span></a>'
        )
    )


def status_lines(company: Company) -> pl.DataFrame:
    m = draw(company, CHANNEL)
    rng = company.rng(CHANNEL.stream + 100)
    n = m.height
    lang = m["lang"].to_numpy()
    author_no = rng.integers(0, 4000 * max(1, int(company.scale)), n)
    first, last = people(author_no)
    domain = languages.choose(rng, INSTANCES, lang)
    # Snowflake ids: milliseconds, then 16 bits of sequence. The record's index in the chunk
    # fills the milliseconds' last digits (a bijection) and the sequence's top 10 bits, the
    # seed its low 6 bits: distinct within a seed by construction.
    index = m["serial"].to_numpy() % 10**6
    millis = m["created"].to_numpy() * 1000 + index % 1000 * 7919 % 1000
    status_id = snowflake(millis, ((index // 1000) % 1024) << 6 | company.seed % 64)
    local = domain == HOME
    initial = last.astype("U1")
    username = np.char.lower(np.char.add(np.char.add(first, initial), (author_no % 97).astype(str)))
    frame = m.with_columns(
        id=pl.Series(status_id),
        domain=pl.Series(domain, dtype=pl.String),
        username=pl.Series(username),
        acct=pl.Series(
            np.where(local, username, np.char.add(np.char.add(username, "@"), domain.astype(str)))
        ),
        display_name=pl.Series(np.char.add(np.char.add(first, " "), last)),
        account_id=pl.Series((ACCOUNTS_FROM + company.seed * 10**8 + author_no).astype(str)),
        # Accounts opened on a day of the two years from November 2022, at midnight.
        joined_ms=pl.Series((JOINED + author_no * 7919 % 730 * 86400) * 1000),
        # Local statuses keep their milliseconds; remote ones arrive as whole seconds.
        created_ms=pl.Series(np.where(local, millis, m["created"].to_numpy() * 1000)),
        language=_language(rng, lang),
        extra_tag=pl.Series(rng.random(n) < EXTRA_TAG),
        replies=pl.Series(rng.geometric(0.5, n) - 1),
        reblogs=pl.Series(rng.geometric(0.35, n) - 1),
        favourites=pl.Series(rng.geometric(0.15, n) - 1),
        followers=pl.Series(rng.geometric(0.005, n)),
        following=pl.Series(rng.geometric(0.01, n)),
        statuses=pl.Series(rng.geometric(0.001, n)),
        html=html_escape(pl.col("text"), "&#39;"),
        edited_ms=pl.lit(None, dtype=pl.Int64),
        at=pl.col("created"),
    )
    edited = frame.filter(messy.mask(rng, n, EDITED))
    notes = languages.choose(rng, languages.part("edit_notes"), edited["lang"].to_numpy())
    edited = edited.with_columns(
        at=pl.col("created") + pl.Series(rng.integers(600, 86400, edited.height)),
        html=pl.col("html") + "</p><p>" + html_escape(pl.Series(notes, dtype=pl.String), "&#39;"),
    ).with_columns(edited_ms=pl.col("at") * 1000)
    tags = pl.concat_list(
        pl.struct(name=pl.lit("beacon"), url=pl.lit(f"https://{HOME}/tags/beacon")),
    )
    both = pl.concat_list(
        pl.struct(name=pl.lit("beacon"), url=pl.lit(f"https://{HOME}/tags/beacon")),
        pl.struct(name=pl.lit("productops"), url=pl.lit(f"https://{HOME}/tags/productops")),
    )
    dom = pl.col("domain")
    profile = pl.lit("https://") + dom + "/@" + pl.col("username")
    status = pl.struct(
        id=pl.col("id"),
        created_at=iso("created_ms"),
        in_reply_to_id=pl.lit(None, dtype=pl.String),
        in_reply_to_account_id=pl.lit(None, dtype=pl.String),
        sensitive=pl.lit(False),
        spoiler_text=pl.lit(""),
        visibility=pl.lit("public"),
        language=pl.col("language"),
        uri=pl.lit("https://") + dom + "/users/" + pl.col("username") + "/statuses/" + pl.col("id"),
        url=profile + "/" + pl.col("id"),
        replies_count=pl.col("replies"),
        reblogs_count=pl.col("reblogs"),
        favourites_count=pl.col("favourites"),
        quotes_count=pl.lit(0),
        edited_at=iso("edited_ms"),
        content=pl.lit("<p>")
        + pl.col("html")
        + " "
        + _hashtag(dom, "Beacon")
        + pl.when(pl.col("extra_tag"))
        .then(pl.lit(" ") + _hashtag(dom, "productops"))
        .otherwise(pl.lit(""))
        + "</p>",
        reblog=pl.lit(None, dtype=pl.String),
        account=pl.struct(
            id=pl.col("account_id"),
            username=pl.col("username"),
            acct=pl.col("acct"),
            display_name=pl.col("display_name"),
            locked=pl.lit(False),
            bot=pl.lit(False),
            discoverable=pl.lit(True),
            indexable=pl.lit(True),
            group=pl.lit(False),
            created_at=iso("joined_ms"),
            note=pl.lit(""),
            url=profile,
            uri=pl.lit("https://") + dom + "/users/" + pl.col("username"),
            avatar=pl.lit("https://") + dom + "/avatars/original/missing.png",
            avatar_static=pl.lit("https://") + dom + "/avatars/original/missing.png",
            header=pl.lit("https://") + dom + "/headers/original/missing.png",
            header_static=pl.lit("https://") + dom + "/headers/original/missing.png",
            followers_count=pl.col("followers"),
            following_count=pl.col("following"),
            statuses_count=pl.col("statuses"),
            last_status_at=pl.from_epoch("at", time_unit="s").dt.strftime("%Y-%m-%d"),
            emojis=pl.lit([], dtype=pl.List(pl.String)),
            fields=pl.lit([], dtype=pl.List(pl.String)),
        ),
        media_attachments=pl.lit([], dtype=pl.List(pl.String)),
        mentions=pl.lit([], dtype=pl.List(pl.String)),
        tags=pl.when(pl.col("extra_tag")).then(both).otherwise(tags),
        emojis=pl.lit([], dtype=pl.List(pl.String)),
        card=pl.lit(None, dtype=pl.String),
        poll=pl.lit(None, dtype=pl.String),
    )
    lines = pl.concat([frame, edited]).sort("at", maintain_order=True)
    end = datetime.fromtimestamp(company.window_end, UTC).date()
    lines = lines.select(day_of("at"), line=status.struct.json_encode()).filter(pl.col("day") < end)
    return messy.duplicate_lines(rng, lines, 0.004)
