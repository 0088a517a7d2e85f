"""Publish the contract's tables to the serving DuckDB file that BI tools read.

The pipeline never writes the file BI has open. It builds a complete new file beside
it, checkpoints and closes it, then renames it into place: a reader holding the old
file keeps reading it undisturbed, the next connection sees the new one, and nobody
ever sees half a publication. (Copying a live DuckDB file instead would miss rows
still in its write-ahead log.)
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from productops import contract
from productops.held import HELD_COLUMNS, Held, reasons
from productops.marts import CONTRACT_TABLES, contract_columns
from productops.permissions import serving_mode
from productops.quoting import literal
from productops.sql import table_columns

# Written in DuckDB's v1.0.0 storage format, which every DuckDB since 1.0 reads: the
# Python, JDBC (Metabase), duckdb-engine (Superset) and Node (Evidence) drivers included.
STORAGE_VERSION = "v1.0.0"
# A run tagged with this (value "all") publishes every table from the warehouse.
REPUBLISH_TAG = "productops/republish"


@dataclass(frozen=True)
class Publication:
    publication_id: str
    published_at: datetime
    path: Path
    row_counts: dict[str, int]
    kept_from_previous: list[str] = field(default_factory=list)


# A cell a spreadsheet would run as a formula (CSV export, Excel's ODBC import): it
# starts with =, +, -, @, a tab or a carriage return. Published text gets a leading
# apostrophe there, which spreadsheets show as text (OWASP's advice); the warehouse
# keeps the text as it came.
_FORMULA = r"'^[=+\-@\t\r]'"


def _neutralised(value: str) -> str:
    return f"CASE WHEN regexp_matches({value}, {_FORMULA}) THEN '''' || {value} ELSE {value} END"


def _cells_safe(con: duckdb.DuckDBPyConnection, table: str, catalog: str | None) -> str:
    """The table's columns, text ones neutralised against formula injection."""
    out = []
    for column, kind in table_columns(con, f"marts.{table}", catalog):
        name = f'"{column}"'  # names come from code; quoted for those SQL reserves (window)
        if kind == "VARCHAR":
            out.append(f"{_neutralised(name)} AS {name}")
        elif kind == "VARCHAR[]":
            out.append(f"list_transform({name}, lambda x: {_neutralised('x')}) AS {name}")
        else:
            out.append(name)
    return ", ".join(out)


def _published_columns(table: str) -> list[str]:
    return [*contract_columns(table), "_published_at"]


def _comment(con: duckdb.DuckDBPyConnection) -> None:
    """The contract's words on every published table and column, for BI catalogues."""
    for table in contract.TABLES:
        con.execute(
            f"COMMENT ON TABLE pub.{table.name} IS "
            f"{literal(f'{table.question[:1].upper()}{table.question[1:]}. Grain: {table.grain}')}"
        )
        for column in table.columns:
            con.execute(
                f'COMMENT ON COLUMN pub.{table.name}."{column.name}" IS {literal(column.description)}'
            )


def publish(
    con: duckdb.DuckDBPyConnection,
    target: Path,
    *,
    run_id: str,
    published_at: datetime,
    versions: dict[str, str],
    keep_previous: frozenset[str] = frozenset(),
    held: list[Held] | None = None,
    failed_checks: dict[str, list[str]] | None = None,
    catalog: str | None = None,
) -> Publication:
    """Publish every contract table from the warehouse (`con`) to `target`, atomically.

    Tables named in `keep_previous` are carried over from the current serving file as
    they were last published (their `_published_at` unchanged): how untrusted data is
    kept out of BI while the rest is refreshed; `held` says which sources are behind
    that and is published as `meta.held_sources`. `catalog` is the attached database to
    read the marts from (a DuckLake snapshot), by default the connection's own.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    publication_id = str(uuid.uuid4())
    tmp = target.with_name(f".{target.name}.{publication_id[:8]}.tmp")
    held = held or []
    at = published_at.replace(tzinfo=None)
    counts: dict[str, int] = {}
    keep: list[str] = []
    con.execute(f"ATTACH {literal(tmp)} AS pub (STORAGE_VERSION '{STORAGE_VERSION}')")
    try:
        if target.exists():
            con.execute(f"ATTACH {literal(target)} AS prev (READ_ONLY)")
            # A table never published before (or published under other columns, by an
            # older version) cannot be kept: it is published from the warehouse, still
            # built from trusted days only, and `held` still says its source is held back.
            keep = sorted(t for t in keep_previous if _published_columns(t) == [
                c for c, _ in table_columns(con, f"marts.{t}", "prev")])  # fmt: skip
        con.execute("CREATE SCHEMA pub.marts; CREATE SCHEMA pub.meta")
        for table in CONTRACT_TABLES:
            if table in keep:
                con.execute(f"CREATE TABLE pub.marts.{table} AS SELECT * FROM prev.marts.{table}")
            else:
                con.execute(
                    f"CREATE TABLE pub.marts.{table} AS "
                    f"SELECT {_cells_safe(con, table, catalog)}, ?::TIMESTAMP AS _published_at "
                    f"FROM {catalog + '.' if catalog else ''}marts.{table}",
                    [at],
                )
            counts[table] = con.execute(f"SELECT count(*) FROM pub.marts.{table}").fetchall()[0][0]
        con.execute(
            """CREATE TABLE pub.meta.publications (
                   publication_id VARCHAR, published_at TIMESTAMP, run_id VARCHAR,
                   row_counts VARCHAR, kept_from_previous VARCHAR[], code_version VARCHAR,
                   taxonomy_version VARCHAR, storage_version VARCHAR, fresh_tables VARCHAR[],
                   held_reasons VARCHAR)"""
        )
        con.execute(f"CREATE TABLE pub.meta.held_sources ({HELD_COLUMNS})")
        for h in held:
            con.execute(
                "INSERT INTO pub.meta.held_sources VALUES (?, ?, ?, ?, ?)",
                [h.source, h.since, list(h.tables), list(h.failed_checks), h.what_to_do],
            )
        if "prev" in [
            r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
        ]:
            has_meta = con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'prev' "
                "AND schema_name = 'meta' AND table_name = 'publications'"
            ).fetchall()[0][0]
            if has_meta:
                con.execute(
                    "INSERT INTO pub.meta.publications BY NAME SELECT * FROM prev.meta.publications"
                )
            con.execute("DETACH prev")
        _comment(con)
        con.execute(
            "INSERT INTO pub.meta.publications VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                publication_id, at, run_id, json.dumps(counts, sort_keys=True), keep,
                versions.get("code", ""), versions.get("taxonomy", ""), STORAGE_VERSION,
                [t for t in CONTRACT_TABLES if t not in keep],
                json.dumps(reasons(held, keep, failed_checks), sort_keys=True),
            ],
        )  # fmt: skip
        con.execute("CHECKPOINT pub")
    finally:
        con.execute("DETACH DATABASE IF EXISTS prev")
        con.execute("DETACH DATABASE IF EXISTS pub")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.chmod(tmp, serving_mode())  # private unless the team opened it on purpose
    os.replace(tmp, target)
    return Publication(publication_id, published_at, target, counts, keep)
