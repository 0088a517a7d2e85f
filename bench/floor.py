"""The floor: the least work any pipeline must do with the same landing files.

    python -m bench.floor LANDING_DIR DATABASE_FILE

DuckDB reads every landing file into a table with an explicit schema (only the fields
the pipeline uses, bad lines skipped), then `CHECKPOINT`s the file; then VADER scores
every distinct text once, on both cores. Nothing is validated, versioned, redacted,
quarantined or published, so the pipeline can only be slower; the question is by how
much. Written independently of productops' own code (no import from it), so a change
to the pipeline cannot move its own yardstick. Prints one JSON object.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import duckdb

JSON_TABLES = {
    "nps": (
        "nps/*.jsonl",
        {
            "id": "VARCHAR",
            "score": "INTEGER",
            "comment": "VARCHAR",
            "created_at": "BIGINT",
            "updated_at": "BIGINT",
            "person": "STRUCT(id VARCHAR, email VARCHAR, name VARCHAR, phone_number VARCHAR)",
            "person_properties": "JSON",
        },
    ),
    "tickets": (
        "feedback/zendesk_tickets_*.jsonl",
        {
            "id": "BIGINT",
            "created_at": "TIMESTAMP",
            "updated_at": "TIMESTAMP",
            "status": "VARCHAR",
            "subject": "VARCHAR",
            "description": "VARCHAR",
            "requester_id": "BIGINT",
            "via": "JSON",
            "tags": "VARCHAR[]",
            "custom_fields": "STRUCT(id BIGINT, value VARCHAR)[]",
            "satisfaction_rating": "STRUCT(score VARCHAR)",
        },
    ),
    "social": (
        "social/*.jsonl",
        {
            "objectID": "VARCHAR",
            "author": "VARCHAR",
            "created_at_i": "BIGINT",
            "updated_at": "TIMESTAMP",
            "title": "VARCHAR",
            "comment_text": "VARCHAR",
            "story_title": "VARCHAR",
            "points": "INTEGER",
            "story_id": "BIGINT",
            "_tags": "VARCHAR[]",
        },
    ),
    "tool_events": (
        "tool_usage/*.jsonl",
        {
            "uuid": "VARCHAR",
            "published": "TIMESTAMP",
            "eventType": "VARCHAR",
            "actor": "STRUCT(id VARCHAR, alternateId VARCHAR, displayName VARCHAR)",
            "outcome": "STRUCT(result VARCHAR, reason VARCHAR)",
            "target": "STRUCT(id VARCHAR, type VARCHAR, displayName VARCHAR)[]",
        },
    ),
}
CSV_TABLES = {
    "widget": "feedback/feedback_widget_*.csv",
    "licences": "licences/*.csv",
}
TEXTS = """
    SELECT description AS t FROM tickets UNION SELECT comment FROM nps
    UNION SELECT message FROM widget UNION SELECT comment_text FROM social
    UNION SELECT title FROM social
"""


def _struct(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"


def load(con: duckdb.DuckDBPyConnection, landing: Path) -> dict[str, int]:
    """Every landing file into a typed table; returns rows per table."""
    rows = {}
    for table, (pattern, columns) in JSON_TABLES.items():
        con.execute(
            f"""CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_json(
                ?, format = 'newline_delimited', ignore_errors = true,
                columns = {_struct(columns)})""",
            [str(landing / pattern)],
        )
        rows[table] = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    for table, pattern in CSV_TABLES.items():
        con.execute(
            f"""CREATE OR REPLACE TABLE {table} AS SELECT * FROM read_csv(
                ?, header = true, all_varchar = true, ignore_errors = true, union_by_name = true)""",
            [str(landing / pattern)],
        )
        rows[table] = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    con.execute("CHECKPOINT")
    return rows


def _score(texts: list[str]) -> list[float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return [analyzer.polarity_scores(t)["compound"] for t in texts]


def score(texts: list[str], workers: int = 2) -> int:
    """VADER over every text, split evenly over `workers` processes."""
    size = -(-len(texts) // workers) or 1
    parts = [texts[i : i + size] for i in range(0, len(texts), size)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return sum(len(p) for p in pool.map(_score, parts))


def main(landing: Path, database: Path) -> dict:
    database.unlink(missing_ok=True)
    started = time.perf_counter()
    with duckdb.connect(str(database)) as con:
        rows = load(con, landing)
        loaded = time.perf_counter()
        texts = [
            t for (t,) in con.execute(f"SELECT t FROM ({TEXTS}) WHERE t IS NOT NULL").fetchall()
        ]
    scored = score(texts)
    ended = time.perf_counter()
    return {
        "rows": rows,
        "texts": scored,
        "load_s": loaded - started,
        "sentiment_s": ended - loaded,
        "total_s": ended - started,
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]))))
