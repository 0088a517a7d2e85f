"""Which report covers which day, and the fewest reports a backfill's alerts need."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from productops.alerts import Alert, report_link
from productops.report_files import (
    WINDOW_DAYS,
    covering,
    report_path,
    uncovered,
    written,
)

END = date(2026, 11, 30)


def _touch(folder: Path, *days: date) -> None:
    folder.mkdir(exist_ok=True)
    for day in days:
        report_path(folder, day).write_text("<!doctype html>")


def test_only_report_names_are_reports(tmp_path: Path) -> None:
    _touch(tmp_path, END)
    for stray in ("productops-2026-11-30.html.tmp", "productops-2026-02-31.html", "notes.html"):
        (tmp_path / stray).write_text("")
    assert written(tmp_path) == {END: report_path(tmp_path, END)}
    assert written(tmp_path / "none yet") == {}


def test_the_newest_report_covering_a_day_is_linked(tmp_path: Path) -> None:
    early = END - timedelta(days=200)
    _touch(tmp_path, early, END - timedelta(days=1), END)
    assert covering(tmp_path, END - timedelta(days=WINDOW_DAYS - 1)) == (
        END,
        report_path(tmp_path, END),
    )
    assert covering(tmp_path, END - timedelta(days=WINDOW_DAYS)) == (
        END - timedelta(days=1),
        report_path(tmp_path, END - timedelta(days=1)),
    )
    assert covering(tmp_path, early - timedelta(days=3))[0] == early
    assert covering(tmp_path, early + timedelta(days=1)) is None  # between the windows
    assert covering(tmp_path, END + timedelta(days=1)) is None  # not reported yet


def test_a_backfill_needs_one_report_per_window_of_alerts() -> None:
    """A year of alerts, one every ten days: four reports, not thirty-seven."""
    days = [END - timedelta(days=10 * i) for i in range(37)]
    plan = uncovered(days, [END])
    assert len(plan) == 3 and plan == sorted(plan, reverse=True)
    reports = [END, *plan]
    assert all(any(r - timedelta(days=WINDOW_DAYS) < d <= r for r in reports) for d in days)
    assert uncovered(days, reports) == []  # the next run draws none


def test_a_link_names_the_report_and_the_alerts_anchor(tmp_path: Path) -> None:
    _touch(tmp_path, END)
    alert = Alert("emerging:data export:2026-11-02", "emerging_theme", date(2026, 11, 8), "", 3.0)
    served = report_link(tmp_path, alert, "https://reports.example.com/productops/")
    assert served is not None and served.day == END
    assert served.url == (
        "https://reports.example.com/productops/productops-2026-11-30.html"
        "#alert-emerging:data-export:2026-11-02"
    )
    local = report_link(tmp_path, alert)
    assert local.url == f"{report_path(tmp_path, END).resolve().as_uri()}#{alert.anchor}"
    assert "Report of 2026-11-30: " in alert.message(local)["text"]

    gone = Alert("spike:2026-01-05", "social_spike", date(2026, 1, 5), "Social spike.", 9.0)
    assert report_link(tmp_path, gone) is None
    assert gone.message(None)["text"] == "Social spike. No report covers 2026-01-05."
