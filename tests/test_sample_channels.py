"""The sample's social channels and languages: every channel lands every day in its
vendor's shape, a fifth of what customers write is not in English, and the stories
(the incident everywhere, the German app update in German only) are where they were
planted.

A text's language is read from the phrase banks it was written from (each text holds
one phrase whole), so the shares measured are the generator's, not a detector's.
"""

from __future__ import annotations

import html
import json
import math
import re
import tomllib
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from productops.config_files import config_file
from productops.sample import appstore, bluesky, mastodon, reddit, social, write_sample
from productops.sample.company import build_company
from productops.sample.languages import BANKS, LANGUAGES, de
from productops.settings import DataPaths
from productops.themes import _pattern

END = date(2026, 5, 31)
DAYS = 40  # the incident (75 %) has the 28 days before it that the spike rule reads
CHANNELS = ("hn_search_by_date", "reddit", "bluesky", "mastodon", "appstore_reviews")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("channels") / "data"
    summary = write_sample(DataPaths(root), seed=23, scale=1.0, days=DAYS, end=END)
    return root / "landing", summary.stories


def _records(landing: Path, channel: str) -> list[tuple[date, dict]]:
    """Every record of a channel with the day of the file it landed in, in file order."""
    out = []
    for path in sorted((landing / "social").glob(f"{channel}_*.jsonl")):
        day = date.fromisoformat(path.stem.rsplit("_", 1)[1])
        out += [(day, json.loads(line)) for line in path.read_text().splitlines()]
    return out


# --- shapes -------------------------------------------------------------------------

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PACIFIC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-0[78]:00$")


def _reddit_shape(r: dict) -> None:
    assert r["kind"] in ("t3", "t1")
    d = r["data"]
    assert d["name"] == f"{r['kind']}_{d['id']}" and re.fullmatch(r"[0-9a-z]+", d["id"])
    assert isinstance(d["created_utc"], float) and d["permalink"].startswith("/r/")
    assert d["edited"] is False or isinstance(d["edited"], float)
    assert isinstance(d["score"], int) and d["subreddit"] and d["author"]
    if r["kind"] == "t3":
        assert d["title"] and d["selftext"] and isinstance(d["num_comments"], int)
    else:
        assert d["body"] and d["link_id"].startswith("t3_")
        assert d["parent_id"].startswith(("t3_", "t1_"))


def _bluesky_shape(r: dict) -> None:
    assert re.fullmatch(r"at://did:plc:[a-z2-7]{24}/app\.bsky\.feed\.post/[2-7a-z]{13}", r["uri"])
    assert r["cid"].startswith("bafyrei") and r["uri"].split("/")[2] == r["author"]["did"]
    assert r["author"]["handle"].endswith(".bsky.social")
    rec = r["record"]
    assert rec["$type"] == "app.bsky.feed.post" and rec["text"] and ISO_Z.match(rec["createdAt"])
    assert all(isinstance(code, str) for code in rec.get("langs", []))
    assert ISO_Z.match(r["indexedAt"]) and r["indexedAt"] >= rec["createdAt"]
    for count in ("likeCount", "repostCount", "replyCount", "quoteCount"):
        assert isinstance(r[count], int)


def _mastodon_shape(r: dict) -> None:
    assert re.fullmatch(r"\d{17,19}", r["id"]) and r["uri"].endswith(f"/statuses/{r['id']}")
    assert ISO_Z.match(r["created_at"]) and r["url"].endswith(r["id"])
    assert r["edited_at"] is None or ISO_Z.match(r["edited_at"])
    assert r["content"].startswith("<p>") and 'class="mention hashtag"' in r["content"]
    assert r["language"] is None or r["language"] in ("en", *LANGUAGES)
    account = r["account"]
    assert account["bot"] is False and account["username"] and account["display_name"]
    assert account["acct"] in (
        account["username"],
        f"{account['username']}@{r['uri'].split('/')[2]}",
    )
    assert {"name": "beacon", "url": "https://mastodon.social/tags/beacon"} in r["tags"]
    assert r["reblog"] is None
    for count in ("replies_count", "reblogs_count", "favourites_count"):
        assert isinstance(r[count], int)


def _appstore_shape(r: dict) -> None:
    country = r["productops_storefront"]
    assert country in appstore.STOREFRONTS
    assert re.fullmatch(
        rf"https://itunes\.apple\.com/{country}/reviews/id\d+", r["author"]["uri"]["label"]
    )
    assert r["author"]["name"]["label"] and r["title"]["label"]
    assert r["im:rating"]["label"] in {"1", "2", "3", "4", "5"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", r["im:version"]["label"])
    assert re.fullmatch(r"\d+", r["id"]["label"])
    assert r["content"]["label"] and r["content"]["attributes"] == {"type": "text"}
    assert r["link"]["attributes"] == {
        "rel": "related",
        "href": f"https://itunes.apple.com/{country}/review?id={appstore.APP_ID}&type=Purple%20Software",
    }
    assert r["im:voteSum"]["label"].isdigit() and r["im:voteCount"]["label"].isdigit()
    assert PACIFIC.match(r["updated"]["label"])


SHAPES = {
    "reddit": _reddit_shape,
    "bluesky": _bluesky_shape,
    "mastodon": _mastodon_shape,
    "appstore_reviews": _appstore_shape,
}


@pytest.mark.parametrize("channel", CHANNELS)
def test_every_channel_lands_a_file_every_day(sample, channel: str) -> None:
    landing, st = sample
    days = {
        date.fromisoformat(p.stem.rsplit("_", 1)[1])
        for p in (landing / "social").glob(f"{channel}_*.jsonl")
    }
    assert days == {st.start + timedelta(d) for d in range(DAYS)}


@pytest.mark.parametrize("channel", list(SHAPES))
def test_every_record_has_its_vendors_shape(sample, channel: str) -> None:
    landing, _ = sample
    records = _records(landing, channel)
    assert records
    for _, record in records:
        SHAPES[channel](record)


def test_real_mess_reddit_edits_and_deletions_mastodon_and_bluesky_languages(sample) -> None:
    landing, _ = sample
    first: dict[str, tuple[date, dict]] = {}
    edited, deleted = [], []
    for day, r in _records(landing, "reddit"):
        d = r["data"]
        if d["name"] in first and d != first[d["name"]][1]["data"]:
            before_day, before = first[d["name"]]
            if d["edited"]:
                edited.append(d)
                assert before["data"]["edited"] is False and d["edited"] > d["created_utc"]
                assert day >= before_day and d["selftext"] != before["data"]["selftext"]
            if d.get("body") == "[deleted]":
                deleted.append(d)
                assert d["author"] == "[deleted]" and "author_fullname" not in d
                assert before["data"]["body"] != "[deleted]"
        first.setdefault(d["name"], (day, r))
    assert edited and deleted

    posts = [r for _, r in _records(landing, "bluesky")]
    assert any("langs" not in p["record"] for p in posts)
    assert any(
        p["record"].get("langs", [None])[0] not in (None, _language(p["record"]["text"]))
        for p in posts
    )
    statuses = [r for _, r in _records(landing, "mastodon")]
    assert any(s["language"] is None for s in statuses)
    assert any(s["language"] not in (None, _language(_plain(s["content"]))) for s in statuses)
    assert any(s["edited_at"] for s in statuses)


# --- languages ----------------------------------------------------------------------


def _plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def _bank_phrases() -> dict[str, list[str]]:
    phrases = {
        lang: [p for tones in bank.phrases.values() for ps in tones.values() for p in ps]
        + list(bank.neutral)
        for lang, bank in BANKS.items()
    }
    phrases["de"] += list(de.APP_UPDATE)
    hn = (*social.POSITIVE, *social.NEGATIVE, *social.NEUTRAL)
    phrases["en"] += [_plain(p.format(p=social.PRODUCT)).strip() for p in hn]
    return phrases


_FINDERS = {
    lang: re.compile("|".join(map(re.escape, sorted(ps, key=len, reverse=True))))
    for lang, ps in _bank_phrases().items()
}


def _language(text: str) -> str | None:
    """The language of the bank phrase a text was written from (None: none found)."""
    found = {lang for lang, finder in _FINDERS.items() if finder.search(text)}
    return found.pop() if len(found) == 1 else None


TEXTS = {  # one text per record key, from each vendor's own shape
    "NPS comments": ("nps/*.jsonl", "$.comment", "$.id"),
    "ticket bodies": ("feedback/zendesk_*.jsonl", "$.description", "$.id"),
    "HN comments": ("social/hn_*.jsonl", "$.comment_text", "$.objectID"),
    "Reddit posts": ("social/reddit_*.jsonl", "$.data.selftext", "$.data.name"),
    "Reddit comments": ("social/reddit_*.jsonl", "$.data.body", "$.data.name"),
    "Bluesky posts": ("social/bluesky_*.jsonl", "$.record.text", "$.uri"),
    "Mastodon statuses": ("social/mastodon_*.jsonl", "$.content", "$.id"),
    "App Store reviews": ("social/appstore_*.jsonl", "$.content.label", "$.id.label"),
}


def _texts(landing: Path) -> dict[str, list[str]]:
    out = {}
    with duckdb.connect() as con:
        for kind, (pattern, text, key) in TEXTS.items():
            rows = con.execute(
                f"""SELECT json_extract_string(json, '{key}') AS k,
                           first(json_extract_string(json, '{text}') ORDER BY n) AS t
                    FROM (SELECT json, row_number() OVER () AS n FROM read_json_objects(
                          '{landing}/{pattern}', format = 'newline_delimited', ignore_errors = true)
                          WHERE json_valid(json))
                    GROUP BY k HAVING k IS NOT NULL AND t IS NOT NULL AND t <> '[deleted]'"""
            ).fetchall()
            out[kind] = [_plain(t) for _, t in rows]
        out["widget messages"] = [
            m
            for (m,) in con.execute(
                f"""SELECT DISTINCT ON (feedback_id) message FROM read_csv(
                    '{landing}/feedback/feedback_widget_*.csv', all_varchar = true)
                    WHERE feedback_id IS NOT NULL AND message IS NOT NULL"""
            ).fetchall()
        ]
    return out


def test_a_fifth_of_what_customers_write_is_not_in_english(sample) -> None:
    landing, _ = sample
    langs = {kind: Counter(map(_language, texts)) for kind, texts in _texts(landing).items()}
    total = sum(langs.values(), Counter())
    known = sum(total.values()) - total[None]
    assert total[None] < 0.02 * known, total  # nearly every text is read back to its bank
    other = sum(total[lang] for lang in LANGUAGES)
    assert 0.15 <= other / known <= 0.25, {k: dict(v) for k, v in langs.items()}
    assert all(total[lang] >= 0.12 * other for lang in LANGUAGES), total
    for kind, counts in langs.items():
        assert sum(counts[lang] for lang in LANGUAGES) >= 0.05 * counts["en"], (kind, counts)


def test_app_store_reviews_are_mostly_in_their_storefronts_language(sample) -> None:
    landing, _ = sample
    by_storefront: dict[str, Counter] = {}
    for _, r in _records(landing, "appstore_reviews"):
        lang = _language(r["content"]["label"])
        by_storefront.setdefault(r["productops_storefront"], Counter())[lang] += 1
    for storefront, lang in appstore.LANGUAGE.items():
        counts = by_storefront[storefront]
        assert counts[lang] > 0.5 * sum(counts.values()), (storefront, counts)


# --- stories ------------------------------------------------------------------------


def _created(channel: str, r: dict) -> datetime:
    if channel == "hn_search_by_date":
        return datetime.fromtimestamp(r["created_at_i"], UTC)
    if channel == "reddit":
        return datetime.fromtimestamp(r["data"]["created_utc"], UTC)
    if channel == "bluesky":
        return datetime.fromisoformat(r["record"]["createdAt"])
    if channel == "mastodon":
        return datetime.fromisoformat(r["created_at"])
    return datetime.fromisoformat(r["updated"]["label"]).astimezone(UTC)


def _key(channel: str, r: dict) -> str | None:
    if channel == "hn_search_by_date":
        return r.get("objectID")
    if channel == "reddit":
        return r["data"]["name"]
    if channel == "appstore_reviews":
        return r["id"]["label"]
    return r["id"] if channel == "mastodon" else r["uri"]


def _daily(landing: Path, channel: str, st) -> np.ndarray:
    """Distinct records per creation day (the first version's day), over the window."""
    first: dict[str, date] = {}
    for _, r in _records(landing, channel):
        key = _key(channel, r)
        if key is not None:
            first.setdefault(key, _created(channel, r).date())
    counts = Counter(first.values())
    return np.array([counts[st.start + timedelta(d)] for d in range(DAYS)])


def _spike(x: np.ndarray, i: int) -> bool:
    """The marts' spike rule (robust, 28 days before), restated."""
    prior = x[i - 28 : i]
    med = float(np.median(prior))
    mad = float(np.median(np.abs(prior - med)))
    return (
        x[i] >= 2 * med + 10
        and x[i] > med + 5 * 1.4826 * mad
        and 2 * (math.sqrt(x[i]) - math.sqrt(med)) > 4
    )


def test_the_incident_is_a_spike_on_every_channel_and_the_only_one(sample) -> None:
    landing, st = sample
    incident = (st.incident - st.start).days
    daily = {channel: _daily(landing, channel, st) for channel in CHANNELS}
    for channel, x in daily.items():
        assert _spike(x, incident), (channel, x)
    everything = sum(daily.values())
    assert [i for i in range(28, DAYS) if _spike(everything, i)] == [incident]


def test_the_incident_day_is_negative_on_every_channel(sample) -> None:
    landing, st = sample
    negative = {
        lang: {p for tones in bank.phrases.values() for p in tones.get("neg", ())}
        for lang, bank in BANKS.items()
    }
    negative["en"] |= {_plain(p.format(p=social.PRODUCT)).strip() for p in social.NEGATIVE}
    for channel, text in (
        ("reddit", lambda r: r["data"].get("selftext") or r["data"].get("body")),
        ("bluesky", lambda r: r["record"]["text"]),
        ("mastodon", lambda r: _plain(r["content"])),
    ):
        texts = [
            text(r)
            for _, r in _records(landing, channel)
            if _created(channel, r).date() == st.incident
        ]
        bad = [t for t in texts if any(p in t for ps in negative.values() for p in ps)]
        assert len(bad) >= 0.7 * len(texts), channel
    stars = [
        r["im:rating"]["label"]
        for _, r in _records(landing, "appstore_reviews")
        if _created("appstore_reviews", r).date() == st.incident
    ]
    assert stars.count("1") >= 0.7 * len(stars)


def test_the_german_app_update_is_told_in_german_app_store_reviews_only(sample) -> None:
    landing, st = sample
    story = re.compile("|".join(map(re.escape, de.APP_UPDATE)))
    german, english = [], []
    for _, r in _records(landing, "appstore_reviews"):
        day, text = _created("appstore_reviews", r).date(), r["content"]["label"]
        stars, storefront = int(r["im:rating"]["label"]), r["productops_storefront"]
        if story.search(text):  # the story's phrases: German, in `de`, since the update
            assert storefront == "de" and day >= st.app_update_de and stars <= 2
        if storefront == "de" and _language(text) == "de":
            german.append((day, stars, bool(story.search(text))))
        if _language(text) == "en":
            english.append((day, stars))
    before = [s for d, s, _ in german if d < st.app_update_de]
    settled = [s for d, s, _ in german if d >= st.app_update_de + timedelta(days=7)]
    assert sum(s <= 2 for s in before) <= 0.6 * len(before), before
    assert sum(s <= 2 for s in settled) >= 0.8 * len(settled), settled
    weeks = [
        sum(told for d, _, told in german if 0 <= (d - st.app_update_de).days - 7 * w < 7)
        for w in range(2)
    ]
    assert 0 < weeks[0] < weeks[1], weeks  # growing over two weeks

    # English reviews rate the app as before (the incident's one-star burst aside): the
    # share of one and two stars moves by less than four standard errors.
    low_before = [s <= 2 for d, s in english if d < st.app_update_de]
    low_after = [s <= 2 for d, s in english if d >= st.app_update_de and d != st.incident]
    n1, n2 = len(low_before), len(low_after)
    pooled = (sum(low_before) + sum(low_after)) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert abs(sum(low_before) / n1 - sum(low_after) / n2) < 4 * se
    # And nothing in English (or French, Spanish, Portuguese) says it crashes since an update.
    since_update = re.compile(r"(since|after) (the )?(last |latest )?update", re.I)
    for kind, texts in _texts(landing).items():
        assert not [t for t in texts if since_update.search(t)], kind


# --- theme patterns -----------------------------------------------------------------

THEMES = tomllib.loads(config_file("themes.toml").read_text())["themes"]


def _themes(texts: list[str], lang: str) -> list[tuple[set[str], set[str]]]:
    """The themes whose `lang` patterns match each text: by Python's `re` and by DuckDB
    (RE2, what the pipeline runs), whole words, case-insensitive."""
    key = "patterns" if lang == "en" else lang
    compiled = {
        name: re.compile(r"\b(" + "|".join(spec[key]) + r")\b", re.IGNORECASE)
        for name, spec in THEMES.items()
    }
    cases = ", ".join(
        f"CASE WHEN regexp_matches(lower(t), ${i + 2}) THEN '{name}' END"
        for i, name in enumerate(THEMES)
    )
    patterns = [_pattern(tuple(spec[key])) for spec in THEMES.values()]
    with duckdb.connect() as con:
        by_re2 = con.execute(
            f"SELECT list_filter([{cases}], x -> x IS NOT NULL) FROM unnest($1) AS u(t)",
            [texts, *patterns],
        ).fetchall()
    return [
        ({name for name, rx in compiled.items() if rx.search(text)}, set(found))
        for text, (found,) in zip(texts, by_re2, strict=True)
    ]


def _fill(template: str) -> str:
    values = dict(
        p="Beacon",
        k="12",
        k2="340",
        city="Lyon",
        hh="09",
        mm="30",
        code="ws-12",
        proj="p3",
        tier="2",
        a="4",
        b="2",
        c="1",
        os="iOS 18",
    )
    return template.format(**values)


def _phrases_and_fillers(lang: str) -> tuple[list[tuple[str, str]], list[str]]:
    bank = BANKS[lang]
    themed = [
        (theme, p) for theme, tones in bank.phrases.items() for ps in tones.values() for p in ps
    ]
    themed += [("reliability", _fill(t)) for t in bank.incident_titles]
    if lang == "de":
        themed += [("reliability", p) for p in (*de.APP_UPDATE, *de.APP_UPDATE_TITLES)]
    titles = [t for ts in bank.review_titles.values() for t in ts]
    fillers = [
        *bank.neutral,
        *bank.openers,
        *bank.contexts,
        *bank.closers,
        *bank.mentions,
        *bank.post_titles,
        *bank.edit_notes,
        *titles,
    ]
    return themed, [_fill(f) for f in fillers if f.strip()]


def test_every_language_has_patterns_for_every_theme() -> None:
    for name, spec in THEMES.items():
        assert spec["patterns"] and all(spec.get(lang) for lang in LANGUAGES), name


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_phrase_matches_its_theme_and_no_other_in_every_language(lang: str) -> None:
    """Through its own language's patterns a phrase finds its theme and only that one;
    through another language's (a wrong detection), or English, none but its own either.
    The parts around a phrase (greetings, contexts, titles, edit notes) match none."""
    themed, fillers = _phrases_and_fillers(lang)
    for patterns in ("en", *LANGUAGES):
        found = _themes([phrase for _, phrase in themed], patterns)
        for (theme, phrase), (by_re, by_re2) in zip(themed, found, strict=True):
            if patterns == lang:
                assert by_re == by_re2 == {theme}, (patterns, phrase, by_re, by_re2)
            else:
                assert by_re <= {theme} and by_re2 <= {theme}, (patterns, phrase, by_re, by_re2)
        for filler, matched in zip(fillers, _themes(fillers, patterns), strict=True):
            assert matched == (set(), set()), (patterns, filler, matched)


# --- ids ----------------------------------------------------------------------------


def test_ids_are_distinct_across_chunks_and_seeds_and_the_same_for_the_same_seed() -> None:
    keys: dict[str, Counter] = {
        "reddit": Counter(),
        "bluesky": Counter(),
        "mastodon": Counter(),
        "appstore": Counter(),
    }
    generators = {
        "reddit": (reddit.listing_lines, lambda r: r["data"]["name"]),
        "bluesky": (bluesky.post_lines, lambda r: r["uri"]),
        "mastodon": (mastodon.status_lines, lambda r: r["id"]),
        "appstore": (appstore.review_lines, lambda r: r["id"]["label"]),
    }
    for seed in (3, 4, 67):
        for chunk in build_company(seed, 0.5, END, 21).chunks():
            for channel, (generate, key) in generators.items():
                lines = generate(chunk)["line"].to_list()
                assert lines == generate(chunk)["line"].to_list()  # deterministic
                keys[channel].update({key(json.loads(line)) for line in lines})
    for channel, counts in keys.items():
        assert counts and max(counts.values()) == 1, (channel, counts.most_common(2))
