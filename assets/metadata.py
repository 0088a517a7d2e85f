"""Metadata every table asset reports: row count, schema and a small preview."""

from __future__ import annotations

from typing import Any

import dagster as dg
import duckdb

from productops.sql import table_columns


def markdown_preview(
    con: duckdb.DuckDBPyConnection, query: str, params: list[Any] | None = None
) -> str:
    """A few rows as a markdown table (values cut short, newlines flattened)."""
    cur = con.execute(query, params or [])
    columns = [d[0] for d in cur.description]
    rows = cur.fetchall()

    def cell(v: Any) -> str:
        text = "" if v is None else str(v)
        return text.replace("\n", " ").replace("|", "\\|")[:40]

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def column_schema(con: duckdb.DuckDBPyConnection, table: str) -> dg.TableSchema:
    cols = table_columns(con, table)
    return dg.TableSchema(columns=[dg.TableColumn(c, t) for c, t in cols])
