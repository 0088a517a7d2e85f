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
from productops.sample.text import CLOSERS, CONTEXTS, OPENERS, PHRASES, _fill, compose
from productops.settings import DataPaths
from productops.themes import _pattern, load_taxonomy

# One text per record (versions of a record share it), from each vendor's own shape.
TEXTS = {
    "ticket bodies": ("feedback/zendesk_*.jsonl", "$.description", "$.id"),
    "NPS comments": ("nps/*.jsonl", "$.comment", "$.id"),
    "HN comments": ("social/*.jsonl", "$.comment_text", "$.objectID"),
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
    assert total > 100
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
