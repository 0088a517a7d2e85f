"""The sample's texts are varied like real feedback, and the variety changes no story."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from productops.sample import social as hn
from productops.sample import write_sample
from productops.sample.languages import BANKS
from productops.sample.text import CLOSERS, CONTEXTS, OPENERS, PHRASES, _fill, compose, fill
from productops.settings import DataPaths
from productops.themes import _pattern, load_taxonomy

# One text per record (versions of a record share it), from each vendor's own shape.
TEXTS = {
    "ticket bodies": ("feedback/zendesk_*.jsonl", "$.description", "$.id"),
    "NPS comments": ("nps/*.jsonl", "$.comment", "$.id"),
    "HN comments": ("social/hn_*.jsonl", "$.comment_text", "$.objectID"),
    "Reddit posts": ("social/reddit_*.jsonl", "$.data.selftext", "$.data.name"),
    "Reddit comments": ("social/reddit_*.jsonl", "$.data.body", "$.data.name"),
    "Bluesky posts": ("social/bluesky_*.jsonl", "$.record.text", "$.uri"),
    "Mastodon statuses": ("social/mastodon_*.jsonl", "$.content", "$.id"),
    "App Store reviews": ("social/appstore_*.jsonl", "$.content.label", "$.id.label"),
}


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("texts") / "data"
    write_sample(DataPaths(root), seed=31, scale=0.5, days=21, end=date(2026, 5, 31))
    return root / "landing"


def _distinct_share(con: duckdb.DuckDBPyConnection, relation: str) -> float:
    total, distinct = con.execute(
        f"""WITH x AS (SELECT DISTINCT k, t FROM ({relation}) WHERE t IS NOT NULL)
            SELECT count(*), count(DISTINCT t) FROM x"""
    ).fetchall()[0]
    assert total > 40  # the smallest channel (Reddit posts) has about 50 in three weeks
    return distinct / total


@pytest.mark.parametrize("kind", [*TEXTS, "widget messages"])
def test_nine_in_ten_texts_are_distinct(landing: Path, kind: str) -> None:
    with duckdb.connect() as con:
        if kind == "widget messages":
            relation = f"""SELECT feedback_id AS k, message AS t
                FROM read_csv('{landing}/feedback/feedback_widget_*.csv', all_varchar = true)"""
        else:
            pattern, text, key = TEXTS[kind]
            relation = f"""SELECT json_extract_string(json, '{key}') AS k,
                                  json_extract_string(json, '{text}') AS t
                FROM read_json_objects('{landing}/{pattern}', format = 'newline_delimited',
                                       ignore_errors = true) WHERE json_valid(json)"""
        assert _distinct_share(con, relation) >= 0.9


def test_the_parts_that_vary_a_text_carry_no_theme_and_no_sentiment() -> None:
    rng = np.random.default_rng(5)
    fillers = {*_fill(rng, CONTEXTS, 3000), *_fill(rng, CLOSERS, 500), *OPENERS}
    fillers |= {*hn.OPENERS, *hn.CLOSERS}
    en = BANKS["en"]  # how public posts name the product, titles, edit notes
    fillers |= {p.format(p=hn.PRODUCT) for p in (*en.mentions, *en.post_titles, *en.edit_notes)}
    taxonomy = load_taxonomy()
    analyzer = SentimentIntensityAnalyzer()
    with duckdb.connect() as con:
        for name, patterns in taxonomy.themes.items():
            hits = [
                f
                for f in fillers
                if con.execute(
                    "SELECT regexp_matches(lower(?), ?)", [f, _pattern(patterns)]
                ).fetchall()[0][0]
            ]
            assert not hits, f"{name}: {hits[:3]}"
    scored = {f: analyzer.polarity_scores(f)["compound"] for f in fillers if f.strip()}
    assert not {f: c for f, c in scored.items() if c != 0}


def test_a_composed_phrase_keeps_its_tone() -> None:
    analyzer = SentimentIntensityAnalyzer()
    phrases = [p for tones in PHRASES.values() for ps in tones.values() for p in ps]
    rng = np.random.default_rng(8)
    for phrase, text in zip(phrases * 20, compose(rng, np.array(phrases * 20)), strict=True):
        before, after = (analyzer.polarity_scores(t)["compound"] for t in (phrase, text))
        assert np.sign(before) == np.sign(after), (phrase, text)


def test_the_parts_in_other_languages_carry_no_sentiment_either() -> None:
    """VADER reads English, but its lexicon holds words other languages spell alike
    (Portuguese "no" is "in the"): none of them is in the parts around a phrase."""
    rng = np.random.default_rng(6)
    analyzer = SentimentIntensityAnalyzer()
    for lang, bank in BANKS.items():
        parts = {*bank.openers, *bank.mentions, *bank.post_titles, *bank.edit_notes}
        parts = {p.format(p=hn.PRODUCT) for p in parts}
        parts |= {
            *fill(rng, np.array(bank.contexts * 200)),
            *fill(rng, np.array(bank.closers * 50)),
        }
        scored = {p: analyzer.polarity_scores(p)["compound"] for p in parts if p.strip()}
        assert not {p: c for p, c in scored.items() if c != 0}, lang
