"""Summaries of the raw lake per day, kept until a day's files change.

Raw files are written once under their batch's id and never change, so what is counted
from a day's files holds while the day's list of files does. A summary is kept per
source and day in `ops.raw_day_summaries` with a hash of that list, and only days whose
list changed (a new or late batch, a lost file) are read again. Without it the daily
checks re-read weeks, or the whole lake, of raw JSON every run: raw keys for the
reconciliation (0.6 s a run at a year of history), the vendor fields of four weeks for
the schema check.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from hashlib import sha1
from typing import Any

import duckdb

from productops.sql import table_columns

DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.raw_day_summaries (
    source VARCHAR, summary VARCHAR, day DATE, files VARCHAR, rows VARCHAR);
"""

Day = date | None  # None: a source without days (the licence inventory) is one "day"


def per_day(
    con: duckdb.DuckDBPyConnection,
    source: str,
    summary: str,
    files: dict[Day, list[str]],
    query: Callable[[list[str]], str],
    *,
    remember: bool,
) -> dict[Day, list[list[Any]]]:
    """The summary's rows for each day of `files` (its raw files, by day).

    `query(files)` is SQL giving the summary of those files: the day first, then the
    values (JSON-able: text, numbers, lists of them); it must accept an empty list.
    Days whose files are unchanged are answered from what was stored; `remember` keeps
    the answer for every day of `files` (a writer, in its own transaction or the
    caller's) and forgets days no longer among them. A day with files but no rows has
    no rows.
    """
    # The query's own text is part of the hash: a productops that summarises differently
    # does not read the summaries of an older one.
    version = query([])
    hashes = {
        day: sha1("\n".join([version, *sorted(f)]).encode()).hexdigest() for day, f in files.items()
    }
    stored = (
        {day: (hashed, rows) for day, hashed, rows in con.execute(
            "SELECT day, files, rows FROM ops.raw_day_summaries WHERE source = ? AND summary = ?",
            [source, summary],
        ).fetchall()}
        if table_columns(con, "ops.raw_day_summaries")
        else {}
    )  # fmt: skip
    found = {
        day: json.loads(stored[day][1])
        for day in files
        if day in stored and stored[day][0] == hashes[day]
    }
    again = [day for day in files if day not in found]
    if again:
        read: dict[Day, list[list[Any]]] = {day: [] for day in again}
        for day, *values in con.execute(query([f for d in again for f in files[d]])).fetchall():
            if day in read:
                read[day].append(values)
        found.update(read)
    # Stored days whose summary is replaced (read again) or whose files are gone.
    stale = [day for day in stored if day not in files or day in again]
    if remember and (again or stale):
        # Only the days read again are written: a daily run rewrote a year of summaries
        # to add one day. One statement each, not one per day.
        con.execute(DDL)
        con.execute(
            "DELETE FROM ops.raw_day_summaries WHERE source = ? AND summary = ? "
            "AND (list_contains(?::DATE[], day) OR (day IS NULL AND ?))",
            [source, summary, [d for d in stale if d is not None], None in stale],
        )
        con.execute(
            "INSERT INTO ops.raw_day_summaries SELECT ?, ?, unnest(?::DATE[]), "
            "unnest(?::VARCHAR[]), unnest(?::VARCHAR[])",
            [source, summary, again, [hashes[d] for d in again],
             [json.dumps(found[d], default=str) for d in again]],
        )  # fmt: skip
    return found
