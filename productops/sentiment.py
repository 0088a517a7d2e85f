"""VADER sentiment, scored once per distinct text and cached in the warehouse.

VADER is a Python library, so scoring is a Python call per text; the cache keeps that
to texts never seen before, and large batches are split across both cores.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import duckdb
import polars as pl

CACHE = "marts.sentiment_cache"
# The cache as marts join it: one score per text. The table has no primary key (a
# DuckLake warehouse has none), and two workers scoring the same new text at once may
# both add it; VADER gives both the same score.
SCORES = f"(SELECT text_hash, min(compound) AS compound FROM {CACHE} GROUP BY text_hash)"
# Below this many new texts, starting worker processes costs more than it saves.
PARALLEL_FROM = 5_000

LABEL_MACRO = """
CREATE OR REPLACE TEMP MACRO sentiment_label(s) AS
    CASE WHEN s IS NULL THEN NULL WHEN s >= 0.05 THEN 'positive'
         WHEN s <= -0.05 THEN 'negative' ELSE 'neutral' END;
"""


def _score_chunk(texts: list[str]) -> list[float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return [analyzer.polarity_scores(t)["compound"] for t in texts]


def score_texts(texts: list[str], workers: int = 2) -> list[float]:
    """VADER compound scores, in the order given."""
    if len(texts) < PARALLEL_FROM or workers < 2:
        return _score_chunk(texts)
    size = -(-len(texts) // workers)
    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that holds DuckDB threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        return [s for part in pool.map(_score_chunk, chunks) for s in part]


def ensure_scored(
    con: duckdb.DuckDBPyConnection, texts_query: str, params: list | None = None
) -> int:
    """Score the texts of `texts_query` (one column `t`) that the cache lacks. Returns how many."""
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute(f"CREATE TABLE IF NOT EXISTS {CACHE} (text_hash VARCHAR, compound DOUBLE)")
    new = con.execute(
        f"""SELECT DISTINCT md5(t) AS text_hash, t FROM ({texts_query}) q
            WHERE t IS NOT NULL AND md5(t) NOT IN (SELECT text_hash FROM {CACHE})""",
        params or [],
    ).fetchall()
    if not new:
        return 0
    frame = pl.DataFrame(
        {
            "text_hash": [h for h, _ in new],
            "compound": score_texts([t for _, t in new]),
        }
    )
    con.register("new_scores", frame)
    con.execute(
        f"INSERT INTO {CACHE} SELECT text_hash, compound FROM new_scores "
        f"WHERE text_hash NOT IN (SELECT text_hash FROM {CACHE})"
    )
    con.unregister("new_scores")
    return len(new)
