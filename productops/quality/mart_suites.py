"""Invariants of the key marts, validated with GX before they can be published."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from productops import sql
from productops.quality import gx
from productops.quality.results import CheckOutcome, DayOutcome, as_day, days_between
from productops.quality.suites import between, in_set


@dataclass(frozen=True)
class MartSuite:
    table: str
    key: str  # identifies a row in examples
    flags: str  # SQL boolean columns computed per row, asserted true by GX
    expectations: tuple[gx.Expectation, ...]


def _between(column: str, low: float, high: float) -> gx.Expectation:
    return between(column, low, high, family="metrics_consistent")


def _true(flag: str, what: str) -> gx.Expectation:
    return in_set(flag, (True,), family="metrics_consistent", what=what)


MART_SUITES = {
    "nps_daily": MartSuite(
        "nps_daily",
        "segment_value",
        "responses = promoters + passives + detractors AS _counts_add_up",
        (
            _between("nps", -100, 100),
            _between("nps_28d", -100, 100),
            _between("nps_margin_of_error", 0, 200),
            _between("nps_28d_margin_of_error", 0, 200),
            _true("_counts_add_up", "responses = promoters + passives + detractors"),
        ),
    ),
    "tool_licences": MartSuite(
        "tool_licences",
        "tool",
        "unused_seats = greatest(seats - active_users_30d, 0) AS _unused_adds_up",
        (
            _between("utilisation", 0, 100),
            _between("unused_seats", 0, 10_000_000),
            _between("recommended_seats", 0, 10_000_000),
            _between("savings_at_renewal", 0, 1e12),
            _true("_unused_adds_up", "unused_seats = max(seats - active users, 0)"),
        ),
    ),
    "kpi_daily": MartSuite(
        "kpi_daily",
        "date",
        "true AS _ok",
        (
            _between("sources_trusted", 0, 5),
            _between("negative_feedback_share", 0, 1),
            _between("licence_utilisation", 0, 100),
            _between("feedback_scored_share", 0, 1),
            _between("social_scored_share", 0, 1),
            _between("app_avg_rating", 1, 5),
        ),
    ),
}


def evaluate_mart(
    con: duckdb.DuckDBPyConnection, suite: MartSuite, start: date, end: date
) -> CheckOutcome:
    frame = sql.arrow(
        con,
        f"SELECT *, {suite.flags} FROM marts.{suite.table} WHERE date BETWEEN ? AND ?",
        [start, end],
    ).to_pandas()
    days = {d: DayOutcome(d, True, 0.0) for d in days_between(start, end)}
    if not frame.empty:
        for res in gx.validate(
            frame, f"mart_{suite.table}", list(suite.expectations), ["date", suite.key]
        ):
            for row in res.unexpected_rows:
                day = as_day(row.get("date"))
                outcome = days.setdefault(day, DayOutcome(day, True, 0.0))
                outcome.passed = False
                outcome.unexpected_count += 1
                outcome.observed = float(outcome.unexpected_count)
                if len(outcome.examples) < 10:
                    outcome.examples.append({**{k: v for k, v in row.items()}, "rule": res.what})
                if res.what not in outcome.detail:
                    outcome.detail = "; ".join(
                        filter(None, [outcome.detail, f"rows break '{res.what}'"])
                    )
    return CheckOutcome("metrics_consistent", "ERROR", "0 rows breaking the metric's invariants",
                        sorted(days.values(), key=lambda d: d.day))  # fmt: skip
