"""Metrics recomputed a second way, on a small hand-made company whose answers are written here."""

from __future__ import annotations

import math
from datetime import date, timedelta

import polars as pl
import pytest

from productops import marts
from productops.themes import load_taxonomy
from tests.helpers import rows, stage, warehouse, write_jsonl

D1 = date(2026, 3, 2)
T0 = 1772409600  # D1 00:00 UTC


def response(i: int, score: int, day: int, plan: str = "Pro") -> dict:
    return {"id": str(i), "score": score, "created_at": T0 + day * 86400 + 3600,
            "person": {"email": f"p{i}@x.com"}, "comment": "Too expensive" if score < 7 else None,
            "person_properties": {"Plan": plan, "Region": "NA", "Delighted Source": "email"}}  # fmt: skip


def sso(uuid: str, user: str, tool: str, day: int, result: str = "SUCCESS") -> dict:
    return {"uuid": uuid, "published": f"{D1 + timedelta(days=day)}T10:00:00.000Z",
            "actor": {"alternateId": f"{user}@corp.com"}, "outcome": {"result": result},
            "target": [{"type": "AppInstance", "displayName": tool}]}  # fmt: skip


@pytest.fixture
def con(paths):
    write_jsonl(paths, "nps", "r.jsonl", [
        *(response(i, s, 0) for i, s in enumerate([10, 9, 8, 6, 0])),
        *(response(10 + i, s, 1) for i, s in enumerate([10, 10, 7])),
        response(20, 3, 3, plan="Starter"),
    ])  # fmt: skip
    events = [
        sso("e1", "u1", "Figma", 0), sso("e2", "u2", "Figma", 0), sso("e3", "u1", "Figma", 0),
        sso("e4", "u3", "Figma", 5), sso("e5", "u1", "Figma", 8), sso("e6", "u4", "Figma", 8, "FAILURE"),
        sso("e7", "u2", "Figma", 35),
    ]  # fmt: skip
    write_jsonl(paths, "tool_usage", "okta.jsonl", events)
    folder = paths.landing_dir("licences")
    folder.mkdir(parents=True)
    (folder / "inv.csv").write_text(
        "tool,seats,annual_cost,currency,owner,renewal_date\n"
        "Figma,10,1000,USD,Design,2027-01-01\nMiro,0,0,USD,Design,2027-01-01\n"
    )
    w = marts.Window(D1, D1 + timedelta(days=40))
    for source, start, end in (("nps", w.start, w.end), ("tool_usage", w.start, w.end),
                               ("licences", None, None)):  # fmt: skip
        stage(paths, source, start, end).close()
    c = warehouse(paths)
    marts.prepare(c, load_taxonomy())
    marts.build_nps_daily(c, w)
    marts.build_tool_usage_daily(c, w)
    marts.build_tool_licences(c, w)
    yield c
    c.close()


def moe(p: int, d: int, n: int) -> float:
    """Adjusted Wald (Rocks 2016), written out independently of the SQL."""
    n_, p_, d_ = n + 3, (p + 0.75) / (n + 3), (d + 0.75) / (n + 3)
    return 100 * 1.96 * math.sqrt(((p_ + d_) - (p_ - d_) ** 2) / n_)


def test_nps_and_margin_of_error_match_hand_computed_answers(con) -> None:
    got = {
        (r["date"], r["segment"], r["segment_value"]): r
        for r in rows(con, "SELECT * FROM marts.nps_daily")
    }
    day1 = got[(D1, "all", "all")]
    assert (day1["responses"], day1["promoters"], day1["passives"], day1["detractors"]) == (
        5,
        2,
        1,
        2,
    )
    assert day1["nps"] == pytest.approx(0.0)
    # n' = 8, p' = d' = 2.75 / 8: 196 * sqrt(0.6875 / 8); the plain Wald margin was 78.4.
    assert day1["nps_margin_of_error"] == pytest.approx(57.4576, abs=1e-3)
    day2 = got[(D1 + timedelta(days=1), "all", "all")]
    assert day2["nps"] == pytest.approx(200 / 3)
    assert day2["nps_margin_of_error"] == pytest.approx(moe(2, 0, 3))
    assert day2["nps_28d"] == pytest.approx(25.0) and day2["responses_28d"] == 8
    # A day without responses keeps its 28-day NPS; its own NPS is NULL, not an error.
    day3 = got[(D1 + timedelta(days=2), "all", "all")]
    assert day3["responses"] == 0 and day3["nps"] is None and day3["nps_margin_of_error"] is None
    # One response: the margin of error is NULL (n < 2), and the segment still appears.
    starter = got[(D1 + timedelta(days=3), "plan", "starter")]
    assert (
        starter["responses"] == 1
        and starter["nps"] == -100
        and starter["nps_margin_of_error"] is None
    )
    # 28 days after the last response the window is empty: no row at all.
    assert (D1 + timedelta(days=31), "all", "all") not in got


def test_dau_wau_mau_match_a_polars_recomputation(con) -> None:
    events = pl.DataFrame(
        {
            "user": ["u1", "u2", "u1", "u3", "u1", "u4", "u2"],
            "day": [0, 0, 0, 5, 8, 8, 35],
            "ok": [True, True, True, True, True, False, True],
        }
    ).with_columns(date=pl.lit(D1) + pl.duration(days=pl.col("day")))
    active = events.filter("ok")
    got = {
        r["date"]: r for r in rows(con, "SELECT * FROM marts.tool_usage_daily WHERE tool = 'Figma'")
    }
    for offset in range(0, 41):
        day = D1 + timedelta(days=offset)

        def users(days: int, day=day) -> int:
            lo = day - timedelta(days=days - 1)
            return active.filter(pl.col("date").is_between(lo, day))["user"].n_unique()

        dau, wau, mau = users(1), users(7), users(30)
        if mau == 0 and day not in events["date"].to_list():
            assert day not in got
            continue
        row = got[day]
        assert (row["dau"], row["wau"], row["mau"]) == (dau, wau, mau), day
        assert row["stickiness"] == pytest.approx(dau / mau)
    assert got[D1 + timedelta(days=8)]["failed_events"] == 1
    # Written answers for two days, as a reader would check them:
    assert (got[D1]["dau"], got[D1]["wau"], got[D1]["mau"], got[D1]["events"]) == (2, 2, 2, 3)
    assert (got[D1 + timedelta(days=8)]["dau"], got[D1 + timedelta(days=8)]["wau"],
            got[D1 + timedelta(days=8)]["mau"]) == (1, 2, 3)  # fmt: skip


def test_licence_utilisation_and_zero_denominators(con) -> None:
    got = {(r["date"], r["tool"]): r for r in rows(con, "SELECT * FROM marts.tool_licences")}
    figma = got[(D1 + timedelta(days=8), "Figma")]
    assert (figma["seats"], figma["active_users_30d"], figma["unused_seats"]) == (10, 3, 7)
    assert figma["utilisation"] == pytest.approx(0.3)
    assert float(figma["cost_per_active_user"]) == pytest.approx(1000 / 3, abs=0.01)
    miro = got[(D1, "Miro")]
    assert miro["utilisation"] is None and miro["cost_per_active_user"] is None
    assert miro["unused_seats"] == 0


def test_rebuilding_a_mart_keeps_the_other_days_rows(con) -> None:
    """A mart replaces only its window (a table with DECIMAL columns included)."""
    before = con.execute("SELECT count(*) FROM marts.tool_licences").fetchall()[0][0]
    marts.ensure_tables(con)
    marts.build_tool_licences(con, marts.Window(D1, D1))
    assert con.execute("SELECT count(*) FROM marts.tool_licences").fetchall()[0][0] == before > 2
