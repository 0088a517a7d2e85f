"""Sentiment, scored once per distinct text and cached in the warehouse, in the text's language.

Every text gets a detected language (`productops.language`, lingua's models shipped in
its wheel) and a score from the scorer chosen for that language (`productops.scorers`,
VADER for English); a text in a language no scorer measured well on the labelled set
gets NULL, never 0, so an angry Italian customer is unknown, not calm. Scoring is a
Python call per text: the cache keeps that to texts never seen before, and large
batches are split across both cores.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import duckdb
import polars as pl

from productops import language, scorers
from productops.sql import table_columns

CACHE = "marts.sentiment_cache"
# Which detector and scorers wrote a cached score: rows of another version are scored
# again, so a change of scorer restates every text instead of mixing two scales.
SCORER_VERSION = f"2:{scorers.VERSION}"
_CACHE_DDL = f"CREATE TABLE IF NOT EXISTS {CACHE} (text_hash VARCHAR, language VARCHAR, compound DOUBLE, scorer VARCHAR)"
# The cache as marts join it: one language and score per text. The table has no
# primary key (a DuckLake warehouse has none), and two workers scoring the same new
# text at once may both add it; both give it the same language and score.
SCORES = (
    f"(SELECT text_hash, min(language) AS language, min(compound) AS compound FROM {CACHE} "
    f"WHERE scorer = '{SCORER_VERSION}' GROUP BY text_hash)"
)
# Below this many new texts, starting worker processes costs more than it saves.
PARALLEL_FROM = 5_000

LABEL_MACRO = """
CREATE OR REPLACE TEMP MACRO sentiment_label(s) AS
    CASE WHEN s IS NULL THEN NULL WHEN s >= 0.05 THEN 'positive'
         WHEN s <= -0.05 THEN 'negative' ELSE 'neutral' END;
-- An aggregate: items per detected language as a JSON object ('unknown': not detected).
CREATE OR REPLACE TEMP MACRO language_counts(lang) AS
    CAST(to_json(histogram(coalesce(lang, 'unknown'))) AS VARCHAR);
"""


# A text is read up to this many characters, for its language and its sentiment: VADER's
# checks around each sentiment word make one long sentence superlinear (a hostile 10 MB
# comment took minutes), and no customer writes more than this in one comment.
MAX_READ_CHARS = 5_000


def _score_chunk(texts: list[str]) -> list[tuple[str | None, float | None]]:
    heads = [t[:MAX_READ_CHARS] for t in texts]
    languages = language.detect(heads)
    return list(zip(languages, scorers.score(heads, languages), strict=True))


def score_texts(texts: list[str], workers: int = 2) -> list[tuple[str | None, float | None]]:
    """(language, score) of each text, in the order given; the score is None where no
    scorer handles the language."""
    if len(texts) < PARALLEL_FROM or workers < 2:
        return _score_chunk(texts)
    size = -(-len(texts) // workers)
    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that holds DuckDB threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        return [s for part in pool.map(_score_chunk, chunks) for s in part]


def _ensure_cache(con: duckdb.DuckDBPyConnection) -> None:
    """The cache table, in this version's columns: a cache written before languages were
    detected (English scores for every text) is dropped and every text scored again."""
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    columns = [name for name, _ in table_columns(con, CACHE)]
    if columns and "scorer" not in columns:
        con.execute(f"DROP TABLE {CACHE}")
    con.execute(_CACHE_DDL)
    stale = con.execute(
        f"SELECT EXISTS (SELECT 1 FROM {CACHE} WHERE scorer <> ?)", [SCORER_VERSION]
    ).fetchall()[0][0]
    if stale:  # scored by another version: never read again
        con.execute(f"DELETE FROM {CACHE} WHERE scorer <> ?", [SCORER_VERSION])


def ensure_scored(
    con: duckdb.DuckDBPyConnection, texts_query: str, params: list | None = None
) -> int:
    """Detect and score the texts of `texts_query` (one column `t`) that the cache lacks.
    Returns how many were new."""
    _ensure_cache(con)
    new = con.execute(
        f"""SELECT DISTINCT md5(t) AS text_hash, t FROM ({texts_query}) q
            WHERE t IS NOT NULL AND md5(t) NOT IN (
                SELECT text_hash FROM {CACHE} WHERE scorer = ?)""",
        [*(params or []), SCORER_VERSION],
    ).fetchall()
    if not new:
        return 0
    scored = score_texts([t for _, t in new])
    frame = pl.DataFrame(
        {
            "text_hash": [h for h, _ in new],
            "language": [lang for lang, _ in scored],
            "compound": [score for _, score in scored],
        },
        schema={"text_hash": pl.String, "language": pl.String, "compound": pl.Float64},
    )
    con.register("new_scores", frame)
    con.execute(
        f"""INSERT INTO {CACHE} SELECT text_hash, language, compound, ? FROM new_scores
            WHERE text_hash NOT IN (SELECT text_hash FROM {CACHE} WHERE scorer = ?)""",
        [SCORER_VERSION, SCORER_VERSION],
    )
    con.unregister("new_scores")
    return len(new)
