"""The decision columns on small hand-made companies whose answers are written here:
right-sizing, stale and removed inventory rows, theme impact, NPS change, partial weeks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from productops import marts
from productops.themes import load_taxonomy
from tests.helpers import rows, stage, warehouse, write_jsonl, write_landing

D1 = date(2026, 3, 2)  # a Monday
T0 = 1772409600  # D1 00:00 UTC
HEADER = "tool,seats,annual_cost,currency,owner,renewal_date\n"


def sso(uuid: str, user: str, tool: str, day: int) -> dict:
    return {"uuid": uuid, "published": f"{D1 + timedelta(days=day)}T10:00:00.000Z",
            "actor": {"alternateId": f"{user}@corp.com"}, "outcome": {"result": "SUCCESS"},
            "target": [{"type": "AppInstance", "displayName": tool}]}  # fmt: skip


def response(i: int, score: int, day: int, comment: str | None, plan: str = "Pro") -> dict:
    return {"id": str(i), "score": score, "created_at": T0 + day * 86400 + 3600,
            "person": {"email": f"p{i}@x.com"}, "comment": comment,
            "person_properties": {"Plan": plan, "Region": "NA", "Delighted Source": "email",
                                  "Account ID": f"acct-{i % 5}"}}  # fmt: skip


def test_right_sizing_stale_and_removed_tools(paths) -> None:
    # Ten Figma users; u0-u5 keep using it, u6-u9 stop after day 2. Miro: two users.
    events = [sso(f"a{u}-{d}", f"u{u}", "Figma", d) for u in range(6) for d in range(0, 130, 3)]
    events += [sso(f"b{u}", f"u{u}", "Figma", 2) for u in range(6, 10)]
    events += [sso(f"m{u}-{d}", f"m{u}", "Miro", d) for u in range(2) for d in range(0, 130, 5)]
    write_jsonl(paths, "tool_usage", "okta.jsonl", events)
    renewal = D1 + timedelta(days=150)
    write_landing(paths, "licences", "inv1.csv", HEADER
                  + f"Figma,20,2000.00,USD,Design,{renewal}\n"
                  + f"Miro,5,500.00,EUR,Design,{renewal}\nLoom,3,300.00,USD,Marketing,{renewal}\n")  # fmt: skip
    stage(paths, "licences", None, None).close()
    # The next inventory breaks Figma's seats and no longer lists Loom.
    write_landing(paths, "licences", "inv2.csv", HEADER
                  + f"Figma,n/a,2000.00,USD,Design,{renewal}\nMiro,6,600.00,EUR,Design,{renewal}\n")  # fmt: skip
    w = marts.Window(D1, D1 + timedelta(days=129))
    stage(paths, "tool_usage", w.start, w.end).close()
    stage(paths, "licences", None, None).close()
    con = warehouse(paths)
    marts.prepare(con, load_taxonomy())
    marts.build_tool_usage_daily(con, w)
    marts.build_tool_licences(con, w)
    last = rows(con, "SELECT * FROM marts.tool_licences WHERE date = ? ORDER BY tool", [w.end])
    assert [r["tool"] for r in last] == ["Figma", "Miro"]  # Loom left the inventory
    figma, miro = last
    assert figma["is_stale"] and figma["seats"] == 20  # its last good row
    assert not miro["is_stale"] and miro["seats"] == 6 and miro["currency"] == "EUR"
    # The 30-day active users were 10 until day 31, then 6: over the last 90 days (days
    # 40-129) always 6, so p90 = 6 and ceil(6 / 0.9) = 7 seats; 13 above that.
    assert figma["active_users_30d"] == 6 and figma["recommended_seats"] == 7
    assert float(figma["savings_at_renewal"]) == pytest.approx(13 * 2000 / 20)
    assert figma["inactive_users_60d"] == 4  # active on day 2, not since
    assert figma["days_to_renewal"] == 150 - 129 and figma["renewal_within_90d"]
    assert miro["recommended_seats"] == 3 and float(miro["savings_at_renewal"]) == 300.0
    # Inactive users count from day 2 + 60 on, not before.
    by_day = {r["date"]: r["inactive_users_60d"] for r in rows(
        con, "SELECT date, inactive_users_60d FROM marts.tool_licences WHERE tool = 'Figma'")}  # fmt: skip
    assert by_day[D1 + timedelta(days=61)] == 0 and by_day[D1 + timedelta(days=62)] == 4
    con.close()


def test_theme_impact_and_the_nps_change_by_hand(paths) -> None:
    # Week 1 (D1..D1+6): 4 responses naming pricing (3 detractors, 1 promoter), 4 others
    # with a comment (2 promoters, 2 passives), 2 without a comment (promoters).
    records = [
        response(1, 2, 0, "too expensive"), response(2, 3, 1, "the price is too high"),
        response(3, 5, 2, "pricing is unfair"), response(4, 10, 3, "worth the price"),
        response(5, 9, 0, "great support"), response(6, 10, 1, "love the product"),
        response(7, 8, 2, "fine"), response(8, 7, 3, "ok I guess"),
        response(9, 10, 4, None), response(10, 9, 5, None),
    ]  # fmt: skip
    write_jsonl(paths, "nps", "r.jsonl", records)
    write_jsonl(paths, "feedback", "t.jsonl", [])
    w = marts.Window(D1, D1 + timedelta(days=6))
    stage(paths, "nps", w.start, w.end).close()
    con = warehouse(paths)
    marts.prepare(con, load_taxonomy())
    con.execute(f"CREATE TABLE IF NOT EXISTS marts.feedback_items ({marts.DDL['feedback_items']})")
    marts.build_nps_comments(con, w)
    marts.build_theme_impact(con, w)
    got = rows(
        con, "SELECT * FROM marts.theme_impact WHERE theme = 'pricing' AND \"window\" = 'week'"
    )
    assert len(got) == 1
    pricing = got[0]
    assert pricing["nps_responses_mentioning"] == 4
    assert pricing["nps_mentioning"] == pytest.approx(100 * (1 - 3) / 4)
    assert pricing["nps_not_mentioning"] == pytest.approx(100 * (2 - 0) / 4)
    assert pricing["nps_gap"] == pytest.approx(-100.0)
    assert pricing["nps_points_lost"] == pytest.approx(100 * 3 / 10)  # 3 detractors of 10
    assert pricing["rank"] == 1 and pricing["accounts_affected"] == 4
    assert pricing["plans_affected"] == ["pro"]
    # Both groups' adjusted-Wald margins, combined.
    from tests.stories import adjusted_wald

    _, m1 = adjusted_wald(1, 3, 4)
    _, m2 = adjusted_wald(2, 0, 4)
    assert pricing["nps_gap_margin_of_error"] == pytest.approx((m1**2 + m2**2) ** 0.5)
    con.close()


def test_28_day_change_is_null_while_partial_and_significant_when_clear(paths) -> None:
    # 56 days: the first 28 all promoters (one a day), the next 28 all detractors.
    records = [response(i, 10 if i < 28 else 0, i, None) for i in range(56)]
    write_jsonl(paths, "nps", "r.jsonl", records)
    w = marts.Window(D1, D1 + timedelta(days=55))
    stage(paths, "nps", w.start, w.end).close()
    con = warehouse(paths)
    marts.prepare(con, load_taxonomy())
    marts.build_nps_daily(con, w)
    got = {r["date"]: r for r in rows(con, "SELECT * FROM marts.nps_daily WHERE segment = 'all'")}
    assert all(got[D1 + timedelta(days=i)]["nps_28d_change"] is None for i in range(55))
    last = got[D1 + timedelta(days=55)]
    assert last["nps_28d"] == -100 and last["nps_28d_change"] == pytest.approx(-200)
    assert last["change_significant"] is True
    con.close()


def test_partial_weeks_are_marked_and_never_emerging(paths) -> None:
    # Tickets about pricing: 1 a day for 4 full weeks, then 10 a day from Wednesday on
    # in week 6, which the data covers until Thursday.
    tickets = []
    for day in range(0, 35 + 4):
        for k in range(10 if day >= 37 else 1):
            tickets.append({"id": day * 100 + k, "created_at": f"{D1 + timedelta(days=day)}T09:00:00Z",
                            "updated_at": f"{D1 + timedelta(days=day)}T09:00:00Z",
                            "subject": "pricing", "description": "the price is too high",
                            "status": "open", "via": {"channel": "email"}})  # fmt: skip
    write_jsonl(paths, "feedback", "zendesk_tickets.jsonl", tickets)
    w = marts.Window(D1, D1 + timedelta(days=38))
    stage(paths, "feedback", w.start, w.end).close()
    con = warehouse(paths)
    marts.prepare(con, load_taxonomy())
    marts.build_feedback_items(con, w)
    marts.build_feedback_themes_weekly(con, w)
    weeks = {r["week"]: r for r in rows(
        con, "SELECT * FROM marts.feedback_themes_weekly WHERE theme = 'pricing'")}  # fmt: skip
    last = weeks[D1 + timedelta(days=35)]
    assert last["is_partial_week"] and not last["is_emerging"] and last["wow_change"] is None
    assert not any(r["is_partial_week"] for d, r in weeks.items() if d < last["week"])
    con.close()
