"""Small builders for landing files and a staged warehouse in tests."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from productops import sql
from productops.ingest import ingest_source
from productops.settings import DataPaths
from productops.sources import SOURCES
from productops.staging import build_staging

SALT = "test-salt"


def write_landing(paths: DataPaths, source: str, name: str, content: str | bytes) -> Path:
    """A file dropped into the source's landing folder, exactly these bytes (str: UTF-8)."""
    folder = paths.landing_dir(source)
    folder.mkdir(parents=True, exist_ok=True)
    f = folder / name
    f.write_bytes(content.encode() if isinstance(content, str) else content)
    return f


def write_jsonl(paths: DataPaths, source: str, name: str, records: list[Any]) -> Path:
    """Records as JSON lines; a str record is written verbatim (for broken lines)."""
    lines = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n"
    return write_landing(paths, source, name, lines)


def warehouse(paths: DataPaths) -> duckdb.DuckDBPyConnection:
    """An open connection to the test warehouse, macros and salt loaded."""
    return sql.prepare(duckdb.connect(str(paths.warehouse)), salt=SALT)


def stage(
    paths: DataPaths, source: str, start: date | None, end: date | None
) -> duckdb.DuckDBPyConnection:
    """Ingest the source's landing files and build its staging window; returns an open connection."""
    src = SOURCES[source]
    ingest_source(paths, src)
    con = warehouse(paths)
    build_staging(con, paths, src, start, end)
    return con


def rows(
    con: duckdb.DuckDBPyConnection, query: str, params: list[Any] | None = None
) -> list[dict[str, Any]]:
    cur = con.execute(query, params or [])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


class Sleeps(list):
    """An API client's injected sleep: records each wait instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
