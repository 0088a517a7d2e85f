"""Which sources a publication holds back, since which day, and what to do about it.

A source whose blocking check fails on a day keeps its own marts as last published
(Dagster does not rebuild them), while every other source's marts and the combined
marts are published fresh. This module says so in words a lead can act on: it is
written to the serving file as `meta.held_sources` with each publication, and the
report, `productops summary` and the alerts read it from there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import duckdb

from productops import ledger
from productops.marts import COMBINED, CONTRACT_TABLES, MART_SOURCES
from productops.sources import SOURCES
from productops.sql import table_columns

HELD_COLUMNS = """source VARCHAR, held_since DATE, held_tables VARCHAR[],
    failed_checks VARCHAR[], what_to_do VARCHAR"""


@dataclass(frozen=True)
class Held:
    """One source held back in a publication."""

    source: str
    since: date
    tables: tuple[str, ...]
    failed_checks: tuple[str, ...]

    @property
    def what_to_do(self) -> str:
        day = self.since.isoformat()
        landing = f"data/landing/{self.source}/"
        what = "file" if SOURCES[self.source].daily else "inventory"
        return (
            f"Fix the {self.source} {what} for {day} and drop it into {landing} again, then run "
            f"`productops run --start {day} --end {day}` (or wait for the next daily run); or, "
            f"if the data is right, `productops accept {self.source} {day} --reason '...'`."
        )

    @property
    def checks(self) -> str:
        return ", ".join(self.failed_checks) or "a blocking check"

    @property
    def reason(self) -> str:
        return f"{self.source} failed {self.checks}; held since {self.since.isoformat()}"

    def sentence(self) -> str:
        return (
            f"{self.source} is held back since {self.since.isoformat()} ({self.checks} failed): "
            f"{', '.join(self.tables)} stay as last published. {self.what_to_do}"
        )


def _blocked(
    con: duckdb.DuckDBPyConnection, window: tuple[date, date]
) -> dict[str, tuple[date | None, list[str]]]:
    """Per source: its first blocked day in the window (None for the licence inventory,
    whose checks have no day) and the checks that failed."""
    rows = con.execute(
        """SELECT source, min(date), list_sort(list_distinct(flatten(list(failed_checks))))
           FROM quality.blocked_days
           WHERE date IS NULL OR date BETWEEN ? AND ? GROUP BY source""",
        list(window),
    ).fetchall()
    return {source: (first, checks) for source, first, checks in rows}


def blocked_tables(con: duckdb.DuckDBPyConnection, window: tuple[date, date]) -> frozenset[str]:
    """The contract tables to keep as last published: those of a source whose blocking
    check failed on a day of the window and that were not rebuilt since (Dagster skipped
    them). A table rebuilt after the failure (a republish after `accept --undo`) left the
    day out already, and is published."""
    failed = con.execute(
        """SELECT source, partition, max(checked_at) FROM quality.latest_results
           WHERE NOT passed AND severity = 'ERROR'
             AND (partition IS NULL OR partition BETWEEN ? AND ?) GROUP BY ALL""",
        list(window),
    ).fetchall()
    candidates = {t: s for t, s in MART_SOURCES.items()
                  if t in CONTRACT_TABLES and t not in COMBINED}  # fmt: skip
    if not failed:
        return frozenset()
    built = ledger.last_built(con, [f"marts.{t}" for t in candidates])
    latest = {}  # for the inventory's checks, which have no day: any day's build counts
    for (table, _), at in built.items():
        latest[table] = max(at, latest.get(table, at))
    held = set()
    for table, sources in candidates.items():
        for source, day, at in failed:
            if source not in sources:
                continue
            since = built.get((f"marts.{table}", day)) if day else latest.get(f"marts.{table}")
            if since is None or since < at:
                held.add(table)
    return frozenset(held)


def latest_judged_day(con: duckdb.DuckDBPyConnection) -> tuple[date, date]:
    """The newest day data_trust has judged (today before any), as a one-day window: what
    a publication outside a run of days holds back for."""
    (day,) = con.execute("SELECT max(date) FROM marts.data_trust").fetchall()[0]
    day = day or datetime.now(UTC).date()
    return day, day


def held_sources(
    con: duckdb.DuckDBPyConnection,
    held_tables: Iterable[str],
    window: tuple[date, date],
    previous: dict[str, date],
) -> list[Held]:
    """The sources behind the tables this publication keeps from the last one.

    A held table's source is one with a blocking failure in the run's window. It is held
    since its first blocked day in the window or, when the previous publication held it
    already, since the day that one said: a source broken three days in a row is held
    since the first. `previous` maps source -> held_since of the last publication.
    """
    blocked = _blocked(con, window)
    tables: dict[str, list[str]] = {}
    # A combined table is never held for a source (it is built from the trusted days):
    # kept, it was not rebuilt, and `reasons` says so.
    for table in sorted(set(held_tables) - set(COMBINED)):
        for source in MART_SOURCES.get(table, ()):
            if source in blocked:
                tables.setdefault(source, []).append(table)
    return [
        Held(
            source,
            previous.get(source) or blocked[source][0] or window[0],
            tuple(names),
            tuple(blocked[source][1]),
        )
        for source, names in sorted(tables.items())
    ]


def failed_mart_checks(
    con: duckdb.DuckDBPyConnection, window: tuple[date, date]
) -> dict[str, list[str]]:
    """Contract tables whose own blocking check failed on a day of the window, with the
    checks: built, but not to be published until the check passes."""
    rows = con.execute(
        """SELECT substr(source, 7), list_sort(list(DISTINCT check_name))
           FROM quality.latest_results
           WHERE starts_with(source, 'marts.') AND severity = 'ERROR' AND NOT passed
             AND partition BETWEEN ? AND ? GROUP BY ALL""",
        list(window),
    ).fetchall()
    return dict(rows)


def reasons(
    held: list[Held], held_tables: Iterable[str], failed: dict[str, list[str]] | None = None
) -> dict[str, str]:
    """Why each held table is held: a source's blocking failure, the table's own check,
    or else it was not rebuilt (a run of part of the graph, or a failed step)."""
    failed = failed or {}
    out = {}
    for table in sorted(held_tables):
        why = [h.reason for h in held if table in h.tables]
        why += [f"its own check failed: {', '.join(failed[table])}"] if table in failed else []
        out[table] = "; ".join(why) or "not rebuilt by this run"
    return out


def published(con: duckdb.DuckDBPyConnection, catalog: str = "") -> list[Held]:
    """The held sources of a serving file's publication (empty before any was held)."""
    prefix = f"{catalog}." if catalog else ""
    if not table_columns(con, "meta.held_sources", catalog or None):
        return []
    rows = con.execute(
        f"SELECT source, held_since, held_tables, failed_checks "
        f"FROM {prefix}meta.held_sources ORDER BY source"
    ).fetchall()
    return [Held(s, since, tuple(t), tuple(c)) for s, since, t, c in rows]
