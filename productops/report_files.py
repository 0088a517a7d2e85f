"""The report files in data/reports/: their names, and which days each one covers.

Kept apart from `productops.report` (which draws them) because the alert sensor and its
runs need only this, and Altair costs every process that loads the definitions 0.2 s.

A report of day R covers the `WINDOW_DAYS` days up to R: its charts draw them and its
alert list names every alert of them. An alert's link goes to the newest report that
covers the alert's day, so a backfill needs one report per window of alerts, not one per
day (a report costs 1-2 s to draw).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

# What a report covers, ending on its day: a quarter reads at a glance (a year of daily
# marks does not), and the report costs the same to draw on the first day as after years.
WINDOW_DAYS = 91
_NAME = re.compile(r"productops-(\d{4}-\d{2}-\d{2})\.html")


def report_path(folder: Path, day: date) -> Path:
    return folder / f"productops-{day.isoformat()}.html"


def written(folder: Path) -> dict[date, Path]:
    """The reports in `folder` by day (a half-written `.tmp` file is not one)."""
    found = {}
    for path in folder.glob("productops-*.html") if folder.is_dir() else ():
        match = _NAME.fullmatch(path.name)
        if match:
            try:
                found[date.fromisoformat(match[1])] = path
            except ValueError:  # productops-2026-02-31.html: not a report's name
                continue
    return found


def covers(report_day: date, day: date, window: int = WINDOW_DAYS) -> bool:
    return report_day - timedelta(days=window) < day <= report_day


def covering(folder: Path, day: date) -> tuple[date, Path] | None:
    """The newest report that covers `day`, or None when no report written covers it."""
    days = [r for r in written(folder) if covers(r, day)]
    return (max(days), report_path(folder, max(days))) if days else None


def uncovered(
    days: Iterable[date], reports: Iterable[date], window: int = WINDOW_DAYS
) -> list[date]:
    """The fewest report days, newest first, that with `reports` cover every one of `days`.

    Greedy from the newest: the newest day no report covers gets a report of its own,
    which covers the `window` days before it too, so a year of alerts needs four reports.
    """
    have = set(reports)
    plan: list[date] = []
    for day in sorted(set(days), reverse=True):
        if not any(covers(r, day, window) for r in have | set(plan)):
            plan.append(day)
    return plan
