"""The marts reveal every story the sample company planted."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from productops import sql
from tests.conftest import SampleRun

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sample_run")]


def _nps_window(con, segment: str, value: str, day) -> tuple[float, float]:
    """28-day NPS ending `day` and its margin of error, from the daily counts in the mart."""
    p, d, n = con.execute(
        "SELECT sum(promoters), sum(detractors), sum(responses) FROM marts.nps_daily "
        "WHERE segment = ? AND segment_value = ? AND date BETWEEN ?::DATE - 27 AND ?",
        [segment, value, day, day],
    ).fetchall()[0]
    nps = 100 * (p - d) / n
    moe = 100 * 1.96 * math.sqrt(((p + d) / n - ((p - d) / n) ** 2) / n)
    mart = con.execute(
        "SELECT nps_28d FROM marts.nps_daily WHERE segment = ? AND segment_value = ? AND date = ?",
        [segment, value, day],
    ).fetchall()[0][0]
    assert mart == pytest.approx(nps)
    return nps, moe


def test_price_change_drops_nps_by_more_than_its_margin_of_error(sample_run: SampleRun) -> None:
    st = sample_run.summary.stories
    with sql.connect(sample_run.paths.warehouse, read_only=True) as con:
        before, moe_before = _nps_window(con, "all", "all", st.price_change - timedelta(days=1))
        after, moe_after = _nps_window(con, "all", "all", st.price_change + timedelta(days=27))
    assert before - after > moe_before + moe_after, (before, after, moe_before, moe_after)


def test_onboarding_fix_lifts_nps_of_its_plan(sample_run: SampleRun) -> None:
    st = sample_run.summary.stories
    with sql.connect(sample_run.paths.warehouse, read_only=True) as con:
        before, moe_b = _nps_window(
            con, "plan", st.onboarding_plan, st.onboarding_fix - timedelta(days=1)
        )
        after, moe_a = _nps_window(
            con, "plan", st.onboarding_plan, st.onboarding_fix + timedelta(days=27)
        )
        other, _ = _nps_window(con, "plan", "pro", st.onboarding_fix + timedelta(days=27))
        other_before, _ = _nps_window(con, "plan", "pro", st.onboarding_fix - timedelta(days=1))
    assert after - before > moe_a + moe_b
    assert abs(other - other_before) < after - before


def test_incident_day_is_the_only_social_spike(sample_run: SampleRun) -> None:
    st = sample_run.summary.stories
    with sql.connect(sample_run.paths.warehouse, read_only=True) as con:
        spikes = con.execute(
            "SELECT date, net_sentiment FROM marts.social_sentiment_daily WHERE is_spike AND platform = 'all'"
        ).fetchall()
    assert [d for d, _ in spikes] == [st.incident]
    assert spikes[0][1] < -0.3


def test_pricing_emerges_after_the_price_change(sample_run: SampleRun) -> None:
    st = sample_run.summary.stories
    week = st.price_change - timedelta(days=st.price_change.weekday())
    with sql.connect(sample_run.paths.warehouse, read_only=True) as con:
        emerging = con.execute(
            "SELECT week, negative_share FROM marts.feedback_themes_weekly "
            "WHERE theme = 'pricing' AND is_emerging ORDER BY week"
        ).fetchall()
    assert emerging, "pricing never emerged"
    assert all(week <= w <= week + timedelta(days=14) for w, _ in emerging), emerging
    assert emerging[0][1] > 0.5


def test_underused_tool_shows_unused_seats(sample_run: SampleRun) -> None:
    st = sample_run.summary.stories
    with sql.connect(sample_run.paths.warehouse, read_only=True) as con:
        rows = con.execute(
            "SELECT tool, utilisation, unused_seats FROM marts.tool_licences "
            "WHERE date = ? ORDER BY utilisation",
            [st.end],
        ).fetchall()
    tool, utilisation, unused = rows[0]
    assert tool == st.underused_tool and utilisation < 0.4 and unused > 0
    assert all(u >= 0.4 for _, u, _ in rows[1:])
