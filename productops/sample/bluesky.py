"""Bluesky posts as `app.bsky.feed.searchPosts` returns them: one postView per line.

The post's `record` is what the author's client wrote: its `createdAt` and `langs` (the
client's language setting, so sometimes wrong, sometimes absent). Posts are never
edited; a post read again later (`getPosts`) comes again with newer counts.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

from productops.sample import languages, messy
from productops.sample.company import Company
from productops.sample.ids import BASE32, BASE32_SORT, digits, random_digits, scramble
from productops.sample.mentions import Channel, day_of, draw, iso, people

CHANNEL = Channel(stream=12, weekday=8, weekend=6, spike=(6, 15), non_english=0.25)
LANGS_ABSENT = 0.1  # posts whose client sent no `langs`
LANGS_WRONG = 0.08  # posts tagged with another language than the one they are written in
NO_DISPLAY_NAME = (0.1, 0.1)  # authors with an empty display name, and with none at all
READ_AGAIN = 0.03  # posts read again one to three days later, with more likes
MAX_TEXT = 300  # graphemes a post may hold
JOINED = 1_672_531_200  # 2023-01-01: the public's accounts date from the two years after


def _tagged(rng: np.random.Generator, lang: np.ndarray) -> np.ndarray:
    """What the client says a post's language is: right, another, or nothing ("")."""
    n = len(lang)
    u = rng.random(n)
    wrong = np.where(lang == "en", rng.choice(np.array(languages.LANGUAGES), n), "en")
    return np.where(u < LANGS_ABSENT, "", np.where(u < LANGS_ABSENT + LANGS_WRONG, wrong, lang))


def _dids(seed: int, author_no: np.ndarray) -> np.ndarray:
    """`did:plc:` and 24 base-32 digits, one per person (a bijection of seed and number)."""
    person = np.uint64(seed) * np.uint64(10**8) + author_no.astype(np.uint64)
    head = digits(scramble(person, 0x9E3779B97F4A7C15), BASE32, 13)
    tail = digits(scramble(person, 0xC2B2AE3D27D4EB4F) >> np.uint64(9), BASE32, 11)
    return np.char.add("did:plc:", np.char.add(head, tail))


def post_lines(company: Company) -> pl.DataFrame:
    m = draw(company, CHANNEL)
    rng = company.rng(CHANNEL.stream + 100)
    n = m.height
    author_no = rng.integers(0, 5000 * max(1, int(company.scale)), n)
    first, last = people(author_no)
    did = _dids(company.seed, author_no)
    # A TID: the post's microseconds (unique in the chunk: the record's index, spread over
    # the second by a bijection) and a clock id.
    micros = m["created"].to_numpy() * 10**6 + (m["serial"].to_numpy() % 10**6) * 7919 % 10**6
    clock = np.uint64(company.seed % 1024)
    tid = digits((micros.astype(np.uint64) << np.uint64(10)) | clock, BASE32_SORT, 13)
    serial = m["serial"].to_numpy().astype(np.uint64) + np.uint64(company.seed) * np.uint64(10**10)
    cid = np.char.add(
        np.char.add("bafyrei", digits(scramble(serial, 0xD6E8FEB86659FD93), BASE32, 13)),
        random_digits(rng, n, BASE32, 39),
    )
    shown = rng.random(n)
    empty, absent = NO_DISPLAY_NAME
    display = np.where(shown < empty, "", np.char.add(np.char.add(first, " "), last))
    handle = np.char.lower(np.char.add(np.char.add(first, last), (author_no % 1000).astype(str)))
    frame = m.with_columns(
        uri=pl.Series(
            np.char.add(np.char.add("at://", did), np.char.add("/app.bsky.feed.post/", tid))
        ),
        cid=pl.Series(cid),
        did=pl.Series(did),
        handle=pl.Series(np.char.add(handle, ".bsky.social")),
        display=pl.Series(display).set(pl.Series(shown > 1 - absent), None),
        created_ms=pl.Series(micros // 1000),
        joined_ms=pl.Series(
            (JOINED + author_no * 7919 % (2 * 365 * 86400)) * 1000 + author_no % 1000
        ),
        indexed_ms=pl.Series(micros // 1000 + rng.integers(50, 5000, n)),
        langs=pl.Series(_tagged(rng, m["lang"].to_numpy())),
        likes=pl.Series(rng.geometric(0.12, n) - 1),
        reposts=pl.Series(rng.geometric(0.4, n) - 1),
        replies=pl.Series(rng.geometric(0.5, n) - 1),
        quotes=pl.Series(rng.geometric(0.85, n) - 1),
        at=pl.col("created"),
    )
    again = frame.filter(messy.mask(rng, n, READ_AGAIN))
    again = again.with_columns(
        at=pl.col("created") + pl.Series(rng.integers(86400, 3 * 86400, again.height)),
        likes=pl.col("likes") * 2 + 1,
        replies=pl.col("replies") + 1,
    )
    view = pl.struct(
        uri=pl.col("uri"),
        cid=pl.col("cid"),
        author=pl.struct(
            did=pl.col("did"),
            handle=pl.col("handle"),
            displayName=pl.col("display"),
            labels=pl.lit([], dtype=pl.List(pl.String)),
            createdAt=iso("joined_ms"),
        ),
        record=pl.struct(
            **{
                "$type": pl.lit("app.bsky.feed.post"),
                "createdAt": iso("created_ms"),
                "langs": pl.when(pl.col("langs") == "")
                .then(None)
                .otherwise(pl.concat_list(pl.col("langs"))),
                "text": pl.col("text").str.slice(0, MAX_TEXT),
            }
        ),
        replyCount=pl.col("replies"),
        repostCount=pl.col("reposts"),
        likeCount=pl.col("likes"),
        quoteCount=pl.col("quotes"),
        indexedAt=iso("indexed_ms"),
        labels=pl.lit([], dtype=pl.List(pl.String)),
    )
    lines = pl.concat([frame, again]).sort("at", maintain_order=True)
    # An absent field is left out, not sent as null.
    line = (
        view.struct.json_encode()
        .str.replace(',"displayName":null', "", literal=True)
        .str.replace(',"langs":null', "", literal=True)
    )
    end = datetime.fromtimestamp(company.window_end, UTC).date()
    lines = lines.select(day_of("at"), line=line).filter(pl.col("day") < end)
    return messy.duplicate_lines(rng, lines, 0.004)
