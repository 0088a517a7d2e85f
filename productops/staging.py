"""Raw lake -> staging and quarantine tables in the DuckDB warehouse.

For a window of days, every raw version of a record is read, the latest version of
each natural key is kept, and that version is either typed into `staging.<table>`
or sent to `quarantine.<source>` with the rule that rejected it. Both tables
replace exactly the window, in one transaction, so re-running a day is idempotent
and a failure leaves the previous state in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from productops.settings import DataPaths
from productops.sources import Rule, Source
from productops.sql import table_columns

# The raw lake's columns (see `productops.ingest`), for windows that have no file yet.
RAW_COLUMNS = """
    NULL::VARCHAR AS source, NULL::VARCHAR AS shape, NULL::VARCHAR AS batch_id,
    NULL::TIMESTAMP AS ingested_at, NULL::VARCHAR AS file, NULL::BIGINT AS record_no,
    NULL::VARCHAR AS record_key, NULL::VARCHAR AS record, NULL::VARCHAR AS parse_error,
    NULL::DATE AS date
"""
QUARANTINE_COLUMNS = (
    "date, source, shape, batch_id, file, record_no, record_key, "
    "_rule AS rule, _field AS field, _reason AS reason, raw_record AS record"
)


@dataclass(frozen=True)
class StagingResult:
    source: str
    start: date | None
    end: date | None
    raw_rows: int
    staged: int
    quarantined: int
    by_rule: dict[str, int]
    files: int
    recreated: bool = False  # the table's columns changed: other days must be re-run


def raw_files(paths: DataPaths, source: Source, start: date | None, end: date | None) -> list[Path]:
    """The raw Parquet files of a window (every file, for a source that is not daily)."""
    folder = paths.raw / source.name
    if not folder.exists():
        return []
    if start is None or end is None:
        return sorted(folder.glob("date=*/*.parquet"))
    files: list[Path] = []
    day = start
    while day <= end:
        files.extend(sorted((folder / f"date={day.isoformat()}").glob("*.parquet")))
        day += timedelta(days=1)
    return files


def parquet_row_count(files: list[Path]) -> int:
    """Rows in Parquet files, from their footers alone."""
    if not files:
        return 0
    with duckdb.connect() as con:
        found = con.execute(
            "SELECT sum(num_rows) FROM parquet_file_metadata(?)", [[str(f) for f in files]]
        ).fetchone()
    return int(found[0] or 0)


def raw_preview(files: list[Path], limit: int = 5) -> str:
    """The newest raw rows' provenance as a markdown table (never the record itself)."""
    if not files:
        return "(no raw rows in this window)"
    with duckdb.connect() as con:
        rows = con.execute(
            f"SELECT date, batch_id, file, record_no, record_key, parse_error "
            f"FROM ({_raw_relation(files[-limit:])}) ORDER BY date DESC, record_no LIMIT {limit}"
        ).fetchall()
    head = "| date | batch | file | record | key | parse error |\n|---|---|---|---|---|---|"
    return "\n".join(
        [head, *("| " + " | ".join("" if v is None else str(v) for v in r) + " |" for r in rows)]
    )


def _base_rules(source: Source) -> tuple[Rule, ...]:
    rules = [
        Rule("invalid_json", "(record)", "parse_error IS NOT NULL", "left(raw_record, 60)",
             "is not a JSON object"),
        Rule("missing_id", "id", "record_key IS NULL", "NULL", "is missing"),
    ]  # fmt: skip
    if source.daily:
        rules.append(
            Rule("unparseable_timestamp", "created_at", "created_at IS NULL", source.created_value,
                 "is missing or not a valid timestamp")
        )  # fmt: skip
    return (*rules, *source.rules)


def _quoted(text: str) -> str:
    return text.replace("'", "''")


def _rule_columns(source: Source) -> str:
    rules = _base_rules(source)
    name = " ".join(f"WHEN {r.when} THEN '{r.name}'" for r in rules)
    fld = " ".join(f"WHEN {r.when} THEN '{r.field}'" for r in rules)
    reason = " ".join(
        f"WHEN {r.when} THEN format('{{}} record {{}}: field {r.field} = {{}} {_quoted(r.detail)}', "
        f"file, record_no, coalesce('''' || left(({r.value})::VARCHAR, 80) || '''', 'null'))"
        for r in rules
    )
    return f"CASE {name} END AS _rule, CASE {fld} END AS _field, CASE {reason} END AS _reason"


def _window_sql(source: Source, raw_relation: str) -> str:
    """The latest version of every key in the window, with the rule (if any) that rejects it."""
    return f"""
    WITH raw AS ({raw_relation}),
    versions AS (
        SELECT * EXCLUDE (record),
               record AS raw_record,
               CASE WHEN parse_error IS NULL THEN record END AS record
        FROM raw
    ),
    timed AS (
        SELECT *, ({source.created}) AS created_at, ({source.version}) AS _version FROM versions
    ),
    latest AS (
        SELECT * FROM timed
        QUALIFY row_number() OVER (
            PARTITION BY coalesce(record_key, batch_id || '#' || record_no::VARCHAR)
            ORDER BY _version DESC NULLS LAST, ingested_at DESC, batch_id DESC, record_no DESC
        ) = 1
    )
    SELECT *, {_rule_columns(source)} FROM latest
    """


def _raw_relation(files: list[Path]) -> str:
    if not files:
        return f"SELECT {RAW_COLUMNS} WHERE false"
    listed = ", ".join(f"'{f}'" for f in files)
    return (
        f"SELECT * FROM read_parquet([{listed}], hive_partitioning = true, "
        "hive_types = {'date': DATE}, union_by_name = true)"
    )


def _staging_select(source: Source) -> str:
    return f"""
        SELECT {source.columns},
               date, batch_id AS _batch_id, file AS _file, record_no AS _record_no
        FROM window_rows WHERE _rule IS NULL
    """


def _ensure_table(con: duckdb.DuckDBPyConnection, table: str, select: str) -> bool:
    """Create `table` from the select's columns; recreate it when they changed. True if recreated."""
    probe = con.execute(f"DESCRIBE {select}").fetchall()
    wanted = [(c[0], c[1]) for c in probe]
    have = table_columns(con, table)
    if have == wanted:
        return False
    con.execute(f"CREATE OR REPLACE TABLE {table} AS {select} LIMIT 0")
    return bool(have)


def build_staging(
    con: duckdb.DuckDBPyConnection,
    paths: DataPaths,
    source: Source,
    start: date | None,
    end: date | None,
) -> StagingResult:
    """Replace the window [start, end] of the source's staging and quarantine tables.

    `con` must have the shared macros and a PII salt (`productops.sql.prepare`).
    For a source that is not daily, pass None for both: the whole table is replaced.
    """
    con.execute("CREATE SCHEMA IF NOT EXISTS staging; CREATE SCHEMA IF NOT EXISTS quarantine")
    files = raw_files(paths, source, start, end)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE window_rows AS {_window_sql(source, _raw_relation(files))}"
    )
    staging_table = f"staging.{source.table}"
    quarantine_table = f"quarantine.{source.name}"
    staging_select = _staging_select(source)
    quarantine_select = f"SELECT {QUARANTINE_COLUMNS} FROM window_rows WHERE _rule IS NOT NULL"
    if start is None or end is None:
        where, params = "true", []
    else:
        where, params = "date BETWEEN ? AND ?", [start, end]
    con.execute("BEGIN TRANSACTION")
    try:
        recreated = _ensure_table(con, staging_table, staging_select)
        recreated |= _ensure_table(con, quarantine_table, quarantine_select)
        for table, select in (
            (staging_table, staging_select),
            (quarantine_table, quarantine_select),
        ):
            con.execute(f"DELETE FROM {table} WHERE {where}", params)
            con.execute(f"INSERT INTO {table} BY NAME {select}")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    raw_rows = con.execute(f"SELECT count(*) FROM ({_raw_relation(files)})").fetchone()[0]
    counts = dict(
        con.execute("SELECT coalesce(_rule, ''), count(*) FROM window_rows GROUP BY ALL").fetchall()
    )
    staged = counts.pop("", 0)
    con.execute("DROP TABLE window_rows")
    return StagingResult(
        source=source.name,
        start=start,
        end=end,
        raw_rows=raw_rows,
        staged=staged,
        quarantined=sum(counts.values()),
        by_rule=dict(sorted(counts.items())),
        files=len(files),
        recreated=recreated,
    )


def reconcile(
    con: duckdb.DuckDBPyConnection,
    paths: DataPaths,
    source: Source,
    start: date | None,
    end: date | None,
) -> dict[str, int]:
    """Raw distinct keys (plus keyless records) against staging + quarantine rows in a window."""
    files = raw_files(paths, source, start, end)
    where, params = ("true", []) if start is None else ("date BETWEEN ? AND ?", [start, end])
    raw_keys = con.execute(
        f"SELECT count(DISTINCT record_key) + count(*) FILTER (record_key IS NULL) "
        f"FROM ({_raw_relation(files)})"
    ).fetchone()[0]
    staged = con.execute(
        f"SELECT count(*) FROM staging.{source.table} WHERE {where}", params
    ).fetchone()[0]
    quarantined = con.execute(
        f"SELECT count(*) FROM quarantine.{source.name} WHERE {where}", params
    ).fetchone()[0]
    return {"raw_keys": raw_keys, "staged": staged, "quarantined": quarantined}
