"""What staging has merged, and which days of which table changed since a reader last looked.

Raw is partitioned by a record's creation day, so every version of a record sits in
the partition of the day it was created, however late it arrives. Two small tables in
the warehouse (schema `ops`) turn that into incremental work:

- `ops.merged_batches`: the raw batches staging has merged. A batch in the manifest
  but not here is *pending*: staging re-stages every day it touched, whichever run
  it is, so a ticket created on day 1 and solved on day 20 reaches staging on day 20.
- `ops.day_changes`: an append-only log of (table, day) rebuilt, numbered one past
  the last number (not a sequence: a DuckLake warehouse has none; two workers writing
  one table conflict, and the second numbers again after the first). Each mart keeps,
  in `ops.consumed`, the last change it read of each
  upstream table, and rebuilds the days those changes reach through its look-back.

Both are written in the same transaction as the table they describe, so a crash
leaves the ledger and the data in agreement; a mart that dies before recording what
it consumed simply rebuilds the same days again (every build is idempotent).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import duckdb

DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.merged_batches (
    source VARCHAR, batch_id VARCHAR, merged_at TIMESTAMP DEFAULT current_timestamp);
CREATE TABLE IF NOT EXISTS ops.day_changes (
    change_id BIGINT, table_name VARCHAR, date DATE, changed_at TIMESTAMP DEFAULT current_timestamp);
CREATE TABLE IF NOT EXISTS ops.consumed (consumer VARCHAR, upstream VARCHAR, change_id BIGINT);
CREATE TABLE IF NOT EXISTS ops.built_range (table_name VARCHAR, first_day DATE, last_day DATE);
CREATE TABLE IF NOT EXISTS ops.unchecked_days (source VARCHAR, date DATE);
"""


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def exists(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the ledger is there (a read-only reader must not create it)."""
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ops' "
            "AND table_name = 'merged_batches'"
        ).fetchall()[0][0]
    )


def merged_batches(con: duckdb.DuckDBPyConnection, source: str) -> set[str]:
    ensure(con)
    return merged_batches_read_only(con, source)


def merged_batches_read_only(con: duckdb.DuckDBPyConnection, source: str) -> set[str]:
    """`merged_batches` for a ledger known to exist (a read-only reader cannot create it)."""
    rows = con.execute(
        "SELECT batch_id FROM ops.merged_batches WHERE source = ?", [source]
    ).fetchall()
    return {b for (b,) in rows}


def record_merged(con: duckdb.DuckDBPyConnection, source: str, batch_ids: Iterable[str]) -> None:
    """Within the caller's transaction: these batches are now in staging."""
    ids = sorted(set(batch_ids))
    if ids:
        con.execute(
            "INSERT INTO ops.merged_batches (source, batch_id) SELECT ?, unnest(?::VARCHAR[])",
            [source, ids],
        )


def record_changes(con: duckdb.DuckDBPyConnection, table: str, days: Iterable[date]) -> None:
    """Within the caller's transaction: these days of `table` were rebuilt."""
    listed = sorted(set(days))
    if not listed:
        return
    # The time in UTC, as the check results keep theirs: which came last tells whether a
    # mart was built after its source's check failed (`productops.held`).
    con.execute(
        "INSERT INTO ops.day_changes (change_id, table_name, date, changed_at) "
        "SELECT (SELECT coalesce(max(change_id), 0) + 1 FROM ops.day_changes), ?, "
        "unnest(?::DATE[]), ?",
        [table, listed, datetime.now(UTC).replace(tzinfo=None)],
    )


def record_built(con: duckdb.DuckDBPyConnection, table: str, first: date, last: date) -> None:
    """Widen the range of days `table` has ever been built for."""
    found = built_range(con, table)
    if found:
        first, last = min(found[0], first), max(found[1], last)
    con.execute("DELETE FROM ops.built_range WHERE table_name = ?", [table])
    con.execute("INSERT INTO ops.built_range VALUES (?, ?, ?)", [table, first, last])


def last_built(
    con: duckdb.DuckDBPyConnection, tables: Iterable[str]
) -> dict[tuple[str, date], datetime]:
    """(table, day) -> when that day of the table was last rebuilt (UTC)."""
    if not exists(con):
        return {}
    rows = con.execute(
        "SELECT table_name, date, max(changed_at) FROM ops.day_changes "
        "WHERE list_contains(?::VARCHAR[], table_name) GROUP BY ALL",
        [sorted(tables)],
    ).fetchall()
    return {(t, d): at for t, d, at in rows}


def built_range(con: duckdb.DuckDBPyConnection, table: str) -> tuple[date, date] | None:
    found = con.execute(
        "SELECT first_day, last_day FROM ops.built_range WHERE table_name = ?", [table]
    ).fetchall()
    return found[0] if found else None


def pending_days(
    con: duckdb.DuckDBPyConnection, consumer: str, upstream: dict[str, int]
) -> tuple[set[date], dict[str, int]]:
    """Days of `consumer` that changes upstream since it last looked reach, and the
    change ids to record once they are rebuilt.

    `upstream` maps an upstream table to the look-back (in days) through which the
    consumer reads it: a change on day D reaches the consumer's days D .. D + look_back.
    """
    ensure(con)
    days: set[date] = set()
    seen: dict[str, int] = {}
    for table, look_back in upstream.items():
        rows = con.execute(
            """SELECT date, change_id FROM ops.day_changes
               WHERE table_name = ? AND change_id > coalesce(
                   (SELECT max(change_id) FROM ops.consumed WHERE consumer = ? AND upstream = ?), 0)""",
            [table, consumer, table],
        ).fetchall()
        for day, change_id in rows:
            days.update(day + timedelta(days=k) for k in range(look_back + 1))
            seen[table] = max(seen.get(table, 0), change_id)
    return days, seen


def record_unchecked(con: duckdb.DuckDBPyConnection, source: str, days: Iterable[date]) -> None:
    """Within the caller's transaction: staging re-staged these days of `source` outside
    its run's window (a late batch, a file delivered again): its checks evaluate them
    next, so that a fixed day is trusted again and a day broken late is held."""
    con.execute(
        "INSERT INTO ops.unchecked_days SELECT ?, unnest(?::DATE[])", [source, sorted(days)]
    )


def unchecked_days(con: duckdb.DuckDBPyConnection, source: str) -> set[date]:
    """The days of `source` staging re-staged outside its window, not checked since (the
    ledger exists: staging, which writes them, ran before any check)."""
    rows = con.execute("SELECT DISTINCT date FROM ops.unchecked_days WHERE source = ?", [source])
    return {d for (d,) in rows.fetchall()}


def record_checked(con: duckdb.DuckDBPyConnection, source: str, days: Iterable[date]) -> None:
    con.execute(
        "DELETE FROM ops.unchecked_days WHERE source = ? AND list_contains(?::DATE[], date)",
        [source, sorted(days)],
    )


def record_consumed(con: duckdb.DuckDBPyConnection, consumer: str, seen: dict[str, int]) -> None:
    for table, change_id in seen.items():
        con.execute(
            "DELETE FROM ops.consumed WHERE consumer = ? AND upstream = ?", [consumer, table]
        )
        con.execute("INSERT INTO ops.consumed VALUES (?, ?, ?)", [consumer, table, change_id])


def day_ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted days as the fewest contiguous (first, last) ranges."""
    out: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if out and day == out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def describe(days: Iterable[date]) -> str:
    """Days as short ranges for a log line: `2026-05-01..2026-05-03, 2026-05-09`."""
    return ", ".join(a.isoformat() if a == b else f"{a}..{b}" for a, b in day_ranges(days))
