"""A person's word over the checks: accept a day that failed, or withdraw days from the metrics.

Both are recorded, attributed and reversible, and both are followed by a republication
(`productops accept` and `productops withdraw` run it), so BI sees the decision at once.

- Accepting appends, for every blocking check that failed on that source and day, a
  passing result to `quality.check_results` with run id `accepted:<who>` and the reason.
  The gate reads the latest result per check, so the day flows into the metrics again;
  `data_trust.notes` says who accepted it and why. Undoing appends the failing results
  again: the history keeps every decision.
- Withdrawing (a run for the wrong dates, a test load) deletes the days from every daily
  mart and records them in `ops.withdrawn_days`, so that late changes do not rebuild them.
  Materialising those days again on purpose (`productops run` for them) brings them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from productops import ledger
from productops.marts import DDL, contract_columns
from productops.quality.results import RESULTS_DDL
from productops.sources import SOURCES
from productops.sql import transaction

ACCEPTED = "accepted:"
REVOKED = "revoked:"
WITHDRAWN_DDL = """
CREATE TABLE IF NOT EXISTS ops.withdrawn_days (
    date DATE, reason VARCHAR, withdrawn_by VARCHAR, withdrawn_at TIMESTAMP);
"""


class OverrideError(ValueError):
    """A request that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class Accepted:
    source: str
    day: date | None
    checks: list[str]


def _latest_failed(con: duckdb.DuckDBPyConnection, source: str, day: date) -> list[str]:
    return [
        c
        for (c,) in con.execute(
            "SELECT check_name FROM quality.latest_results WHERE source = ? AND partition IS NOT DISTINCT FROM ? "
            "AND severity = 'ERROR' AND NOT passed ORDER BY 1",
            [source, day],
        ).fetchall()
    ]


def _day(source: str, day: date) -> date | None:
    """The check partition of a source's day: the inventory's checks have no day."""
    if source not in SOURCES:
        raise OverrideError(f"unknown source {source!r}; one of {', '.join(SOURCES)}")
    return day if SOURCES[source].daily else None


def accept(
    con: duckdb.DuckDBPyConnection, source: str, day: date, *, reason: str, by: str, now: datetime
) -> Accepted:
    """Accept the blocking failures of `source` on `day`. Raises OverrideError if none."""
    day = _day(source, day)
    if not reason.strip():
        raise OverrideError("--reason is required: say why the day can be trusted")
    con.execute(RESULTS_DDL)
    failed = _latest_failed(con, source, day)
    if not failed:
        raise OverrideError(f"{source} on {day} has no failed blocking check to accept")
    con.execute(
        """INSERT INTO quality.check_results
           SELECT ? || ?, asset, source, partition, check_name, severity, true, observed,
                  threshold, unexpected_count, unexpected_percent, examples,
                  format('accepted by {} ({}): {}; was: {}', ?, strftime(?::TIMESTAMP, '%Y-%m-%d %H:%M'),
                         ?, description),
                  ?::TIMESTAMP
           FROM quality.latest_results
           WHERE source = ? AND partition IS NOT DISTINCT FROM ? AND severity = 'ERROR' AND NOT passed""",
        [ACCEPTED, by, by, now.replace(tzinfo=None), reason, now.replace(tzinfo=None), source, day],
    )
    _touch(con, source, day)
    return Accepted(source, day, failed)


def accepted_days(con: duckdb.DuckDBPyConnection, source: str) -> set[date]:
    """The days of `source` whose latest check results are a person's acceptance (read
    by the checks step, after it recorded its own results: the view exists)."""
    return {
        d
        for (d,) in con.execute(
            "SELECT DISTINCT partition FROM quality.latest_results "
            "WHERE source = ? AND starts_with(run_id, ?) AND partition IS NOT NULL",
            [source, ACCEPTED],
        ).fetchall()
    }


def undo_accept(
    con: duckdb.DuckDBPyConnection, source: str, day: date, *, by: str, now: datetime
) -> Accepted:
    """Restore the failures an acceptance overrode. Raises OverrideError if none."""
    day = _day(source, day)
    con.execute(RESULTS_DDL)
    accepted = [
        c
        for (c,) in con.execute(
            "SELECT check_name FROM quality.latest_results WHERE source = ? AND partition IS NOT DISTINCT FROM ? "
            "AND starts_with(run_id, ?) ORDER BY 1",
            [source, day, ACCEPTED],
        ).fetchall()
    ]
    if not accepted:
        raise OverrideError(f"{source} on {day} has no acceptance to undo")
    # The failing result each acceptance overrode: the latest one before it.
    con.execute(
        """INSERT INTO quality.check_results
           SELECT ? || ?, asset, source, partition, check_name, severity, passed, observed,
                  threshold, unexpected_count, unexpected_percent, examples, description,
                  ?::TIMESTAMP
           FROM quality.check_results
           WHERE source = ? AND partition IS NOT DISTINCT FROM ? AND list_contains(?, check_name)
                 AND NOT starts_with(run_id, ?)
           QUALIFY row_number() OVER (PARTITION BY check_name ORDER BY checked_at DESC) = 1""",
        [REVOKED, by, now.replace(tzinfo=None), source, day, accepted, ACCEPTED],
    )
    _touch(con, source, day)
    return Accepted(source, day, accepted)


def _touch(con: duckdb.DuckDBPyConnection, source: str, day: date | None) -> None:
    """Tell the marts that the source's day changed, so the next build takes it in (or out)."""
    ledger.ensure(con)
    if day is not None:
        ledger.record_changes(con, f"staging.{SOURCES[source].table}", [day])


def withdraw(
    con: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    *,
    reason: str,
    by: str,
    now: datetime,
) -> int:
    """Delete [start, end] from every daily mart and keep late changes from rebuilding
    them. Returns the rows deleted."""
    if not reason.strip():
        raise OverrideError("--reason is required: say why these days are withdrawn")
    ledger.ensure(con)
    con.execute(WITHDRAWN_DDL)
    deleted = 0
    with transaction(con):
        for table, column in DAY_COLUMNS.items():
            found = con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name = ?",
                [table],
            ).fetchall()[0][0]
            if found:
                deleted += con.execute(
                    f"DELETE FROM marts.{table} WHERE {column} BETWEEN ? AND ?", [start, end]
                ).fetchall()[0][0]
        con.execute(
            "INSERT INTO ops.withdrawn_days SELECT d::DATE, ?, ?, ? "
            "FROM generate_series(?::DATE, ?::DATE, INTERVAL 1 DAY) t(d)",
            [reason, by, now.replace(tzinfo=None), start, end],
        )
    return deleted


def withdrawn_days(con: duckdb.DuckDBPyConnection) -> set[date]:
    ledger.ensure(con)
    con.execute(WITHDRAWN_DDL)
    return {d for (d,) in con.execute("SELECT DISTINCT date FROM ops.withdrawn_days").fetchall()}


def restore_days(con: duckdb.DuckDBPyConnection, days: set[date]) -> None:
    """Days materialised again on purpose are no longer withdrawn."""
    if days:
        con.execute(WITHDRAWN_DDL)
        con.execute(
            "DELETE FROM ops.withdrawn_days WHERE list_contains(?::DATE[], date)", [sorted(days)]
        )


# Every mart with days, and the column that holds them (the weekly mart's is its Monday).
DAY_COLUMNS = {
    table: "date" if "date" in contract_columns(table) else "week"
    for table in DDL
    if {"date", "week"} & set(contract_columns(table))
}
