"""The report a Product Ops lead reads: self-contained, and it tells the planted stories."""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from productops.report import build_report, nps_changes
from tests.conftest import SampleRun


def _near(day: date, target: date, days: int = 3) -> bool:
    return abs((day - target).days) <= days


def test_the_run_writes_one_self_contained_page(sample_run: SampleRun) -> None:
    page = sample_run.paths.reports / f"productops-{sample_run.end.isoformat()}.html"
    text = page.read_text()
    assert page.stat().st_size < 1_000_000
    assert text.count("<svg") == 7
    assert "<table>" in text and "Productboard" in text  # the right-sizing table
    assert not re.search(r"<script|<link|<img|@import|src=", text)  # nothing to fetch
    external = set(re.findall(r"https?://[^\"' )]+", text)) - {"http://www.w3.org/2000/svg",
                                                                "http://www.w3.org/1999/xlink"}  # fmt: skip
    assert not external, external
    assert oct(page.stat().st_mode & 0o777) == "0o600"


def test_every_planted_story_is_told_in_numbers(sample_run: SampleRun, tmp_path: Path) -> None:
    stories = sample_run.summary.stories
    report = build_report(sample_run.paths.serving, tmp_path)
    assert report.day == sample_run.end and report.charts == 7
    text = {s.title: " ".join(s.sentences) for s in report.sections}

    with duckdb.connect(str(sample_run.paths.serving), read_only=True) as con:
        changes = nps_changes(con)
    rises = [c for c in changes if c.after > c.before]
    falls = [c for c in changes if c.after < c.before and c.segment == "all"]
    assert any(
        _near(c.day, stories.onboarding_fix) and c.value in ("all", "starter") for c in rises
    )
    assert any(_near(c.day, stories.price_change) for c in falls)
    nps = text["NPS, 28 days, overall and by plan"]
    assert (
        f"before {stories.price_change.day - 1}" in nps
        or f"before {stories.price_change.day}" in nps
    )

    themes = text["What customers talk about, per week"]
    assert "“pricing” emerged" in themes and "negative" in themes

    social = text["What the public says, channel by channel"]
    incident = f"{stories.incident.day} {stories.incident:%b %Y}"
    assert f"Mentions spiked on {incident}" in social
    assert social.count("Mentions spiked") == 1

    tools = text["Tool adoption and licence utilisation"]
    assert re.search(r"Productboard: \d+ seats, \d+ used \(\d+ %\)", tools)
    assert "sources are trusted" in text["Can the numbers be trusted"]

    # The decisions: what to fix first, seats to reclaim, the period's alerts.
    fix = report.sections[0]
    assert fix.title == "What to fix first (last 28 days)"
    assert fix.sentences[0].startswith("1. pricing: costs ") and "beyond noise" in fix.sentences[0]
    seats = text["Seats to reclaim at renewal"]
    assert re.search(r"Right-sizing every tool at its renewal saves [\d,]+ (EUR|USD)", seats)
    alerts = text["Alerts of the last 13 weeks, newest first"]
    assert f"Social spike on {stories.incident}" in alerts
    assert alerts.count("Social spike") == 1


def test_the_charts_cover_the_last_weeks_only(
    sample_run: SampleRun, tmp_path: Path, monkeypatch
) -> None:
    """A report after years of history reads like one after a quarter: the charts and their
    findings cover `CHART_DAYS` up to the report's day (here cut just after the incident)."""
    from productops import report as module

    stories, end = sample_run.summary.stories, sample_run.end
    incident = f"{stories.incident.day} {stories.incident:%b %Y}"

    def social(days: int) -> str:
        monkeypatch.setattr(module, "CHART_DAYS", days)
        sections = build_report(sample_run.paths.serving, tmp_path).sections
        return " ".join(
            next(s for s in sections if s.title.startswith("What the public")).sentences
        )

    assert f"Mentions spiked on {incident}" in social((end - stories.incident).days + 1)
    assert "No spike of mentions in the window." in social((end - stories.incident).days)
    since = stories.incident + timedelta(days=1)
    with duckdb.connect(str(sample_run.paths.serving), read_only=True) as con:
        assert all(c.day >= since for c in nps_changes(con, since))


def test_a_report_of_an_earlier_day_knows_nothing_after_it(
    sample_run: SampleRun, tmp_path: Path
) -> None:
    """Reports of earlier days are drawn when a backfill's alerts need them: each shows the
    13 weeks to its day, as the serving file has them, and lists its alerts at anchors."""
    incident = sample_run.summary.stories.incident
    report = build_report(sample_run.paths.serving, tmp_path, incident)
    assert report.day == incident and report.path.name == f"productops-{incident}.html"
    text = {s.title: " ".join(s.sentences) for s in report.sections}
    day = f"{incident.day} {incident:%b %Y}"
    assert f"On {day}, " in text["Can the numbers be trusted"]
    assert f"Mentions spiked on {day}" in text["What the public says, channel by channel"]
    alerts = next(s for s in report.sections if s.title.startswith("Alerts of"))
    assert alerts.sentences[0].startswith(f"{day}: Social spike on {incident}")
    assert f'<p class="finding" id="alert-spike:{incident}">' in report.path.read_text()
    with duckdb.connect(str(sample_run.paths.serving), read_only=True) as con:
        assert all(
            c.day <= incident - timedelta(days=13) for c in nps_changes(con, through=incident)
        )
    with pytest.raises(ValueError, match="is not published"):
        build_report(sample_run.paths.serving, tmp_path, sample_run.start - timedelta(days=1))


def test_a_plan_without_responses_in_its_28_days_has_no_margin(
    sample_run: SampleRun, tmp_path: Path
) -> None:
    """Its margin was 0 / 0 = NaN, which is not JSON: vl-convert refused the chart and the
    report was not drawn, as if nothing were published."""
    serving = tmp_path / "serving.duckdb"
    shutil.copy(sample_run.paths.serving, serving)
    with duckdb.connect(str(serving)) as con:
        con.execute(
            "UPDATE marts.nps_daily SET responses = 0, promoters = 0, detractors = 0 "
            "WHERE segment = 'plan' AND date = ?",
            [sample_run.start],
        )
    assert build_report(serving, tmp_path / "reports").charts == 7
