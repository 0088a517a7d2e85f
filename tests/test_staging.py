"""Staging rules per source: typed, latest version, PII-safe; bad records quarantined with reasons."""

from __future__ import annotations

import json
from datetime import date

from productops.sources import SOURCES
from productops.staging import build_staging, reconcile
from tests.helpers import rows, stage, write_jsonl, write_landing

DAY = date(2026, 3, 2)
T0 = 1772409600  # 2026-03-02 00:00:00 UTC


def delighted(id_: str | None, score, *, created=T0 + 3600, updated=None, comment=None, **props):
    return {
        "id": id_,
        "person": {"id": "p1", "email": "ada.lovelace@example.com", "name": "Ada Lovelace"},
        "survey_type": "nps",
        "score": score,
        "comment": comment,
        "created_at": created,
        "updated_at": updated,
        "person_properties": {"Plan": props.get("plan", "Pro "), "Region": "emea",
                              "Delighted Source": "Email", "Account ID": "ACC-1"},
    }  # fmt: skip


def test_nps_latest_version_wins_and_bad_records_are_quarantined_with_reasons(paths) -> None:
    write_jsonl(paths, "nps", "day1.jsonl", [
        delighted("1", 3, updated=T0 + 3700),
        delighted("2", 11),
        delighted(None, 9),
        delighted("4", 9, created="2026-02-30 25:61"),
        '{"id": "5", "score": 9, "trunc',
        delighted("6", 10, comment="Great! Ada Lovelace, ada@example.com, +14155550123 &amp; (415) 555-0199"),
    ])  # fmt: skip
    write_jsonl(paths, "nps", "day3.jsonl", [delighted("1", 9, updated=T0 + 2 * 86400)])
    con = stage(paths, "nps", DAY, DAY)

    staged = {r["response_id"]: r for r in rows(con, "SELECT * FROM staging.nps_responses")}
    assert set(staged) == {"1", "6"}
    assert staged["1"]["score"] == 9 and staged["1"]["category"] == "promoter"
    assert staged["1"]["plan"] == "pro" and staged["1"]["region"] == "EMEA"
    assert staged["6"]["comment"] == "Great! [name], [email], [phone] & [phone]"
    assert len(staged["1"]["person_key"]) == 64
    assert "ada" not in str(staged).lower()

    q = {r["rule"]: r for r in rows(con, "SELECT * FROM quarantine.nps")}
    assert set(q) == {"score_out_of_range", "missing_id", "unparseable_timestamp", "invalid_json"}
    assert q["score_out_of_range"]["reason"] == (
        "landing/nps/day1.jsonl record 2: field score = '11' is outside 0-10"
    )
    assert "record 4: field created_at = '2026-02-30 25:61'" in q["unparseable_timestamp"]["reason"]
    assert q["invalid_json"]["record"] == '{"id": "5", "score": 9, "trunc'
    assert q["missing_id"]["field"] == "id"

    found = reconcile(con, paths, SOURCES["nps"])
    assert found.ok and found.raw_keys == found.staged + found.quarantined == 6


def test_reconciliation_recounts_only_days_whose_raw_files_changed(paths) -> None:
    """A check remembers each day's raw key count with its list of merged files; the next
    one reuses it (a stored count is trusted: here made wrong on purpose), and counts a
    day again as soon as its files change."""
    nps = SOURCES["nps"]
    write_jsonl(paths, "nps", "day1.jsonl", [delighted(str(i), 7) for i in range(20)])
    write_jsonl(
        paths,
        "nps",
        "day2.jsonl",
        [delighted(str(i), 8, created=T0 + 86400) for i in range(20, 25)],
    )
    con = stage(paths, "nps", DAY, date(2026, 3, 3))
    assert reconcile(con, paths, nps, remember=True).raw_keys == 25
    stored = rows(
        con,
        "SELECT day, rows FROM ops.raw_day_summaries WHERE summary = 'raw_keys' ORDER BY day",
    )
    assert stored == [{"day": DAY, "rows": "[[20]]"}, {"day": date(2026, 3, 3), "rows": "[[5]]"}]

    con.execute("UPDATE ops.raw_day_summaries SET rows = '[[21]]' WHERE day = ?", [DAY])
    assert reconcile(con, paths, nps).mismatched == [(DAY, 21, 20, 0)]  # read, not recounted

    # A lost raw file changes the day's list: counted again, and the loss is seen.
    lost = next((paths.lake / "raw" / "nps" / "date=2026-03-03").glob("*.parquet"))
    lost.unlink()
    found = reconcile(con, paths, nps, remember=True)
    assert found.mismatched == [(DAY, 21, 20, 0), (date(2026, 3, 3), 0, 5, 0)]
    con.execute("DELETE FROM ops.raw_day_summaries WHERE day = ?", [DAY])  # forgotten: recounted
    assert reconcile(con, paths, nps).mismatched == [(date(2026, 3, 3), 0, 5, 0)]


def test_rebuilding_a_window_gives_identical_tables(paths) -> None:
    write_jsonl(paths, "nps", "day1.jsonl", [delighted(str(i), i % 11) for i in range(50)])
    con = stage(paths, "nps", DAY, DAY)
    first = rows(con, "SELECT * FROM staging.nps_responses ORDER BY response_id")
    build_staging(con, paths, SOURCES["nps"], DAY, DAY)
    build_staging(con, paths, SOURCES["nps"], DAY, DAY)
    assert rows(con, "SELECT * FROM staging.nps_responses ORDER BY response_id") == first
    assert len(first) == 50


def zendesk(id_: int, status: str, updated: str, gen: int, **extra):
    return {
        "id": id_, "created_at": "2026-03-02T09:00:00Z", "updated_at": updated,
        "generated_timestamp": gen, "status": status, "subject": "Billing &amp; invoices",
        "description": "<p>Hi, the invoice is wrong</p>", "priority": "HIGH", "type": "question",
        "via": {"channel": "email", "source": {"from": {"address": "x@y.com", "name": "Grace Hopper"}}},
        "custom_fields": [{"id": 360000002, "value": "pro"}, {"id": 360000001, "value": "ACC-9"}],
        "tags": ["pricing"], **extra,
    }  # fmt: skip


def test_zendesk_ticket_state_and_widget_csv(paths) -> None:
    write_jsonl(paths, "feedback", "tickets.jsonl", [
        zendesk(1, "new", "2026-03-02T09:00:30Z", 100),
        zendesk(1, "solved", "2026-03-03T09:00:00Z", 200),
        # Re-emitted by a system update: same updated_at, later generated_timestamp.
        zendesk(1, "closed", "2026-03-03T09:00:00Z", 300),
        zendesk(2, "deleted", "2026-03-04T00:00:00Z", 400),
        zendesk(3, "escalated", "2026-03-02T10:00:00Z", 500),
    ])  # fmt: skip
    widget = paths.landing_dir("feedback") / "widget.csv"
    widget.write_text(
        "feedback_id,submitted_at,user_email,user_name,account_id,plan,page,rating,message\n"
        "wf-1,2026-03-02 10:00:00,a@b.com,Ada Byron,ACC-1,Pro,/x,4,Love it. Ada Byron\n"
        "wf-2,2026-03-02 11:00:00,c@d.com,Bo Li,ACC-2,pro,/x,9,Hmm\n"
    )
    con = stage(paths, "feedback", DAY, DAY)
    staged = {r["feedback_id"]: r for r in rows(con, "SELECT * FROM staging.feedback")}
    assert set(staged) == {"zendesk:1", "zendesk:2", "widget:wf-1"}
    assert staged["zendesk:2"]["status"] == "deleted" and staged["zendesk:2"]["is_deleted"]
    closed = staged["zendesk:1"]
    assert closed["status"] == "closed" and not closed["is_deleted"]
    assert (
        closed["subject"] == "Billing & invoices" and closed["body"] == "Hi, the invoice is wrong"
    )
    assert (
        closed["account_id"] == "ACC-9" and closed["plan"] == "pro" and closed["priority"] == "high"
    )
    assert closed["tags"] == ["pricing"]
    assert staged["widget:wf-1"]["rating"] == 4 and staged["widget:wf-1"]["channel"] == "in_app"
    assert staged["widget:wf-1"]["body"] == "Love it. [name]"
    q = {r["rule"]: r["reason"] for r in rows(con, "SELECT * FROM quarantine.feedback")}
    assert q == {
        "unknown_status": "landing/feedback/tickets.jsonl record 5: field status = 'escalated' "
        "is not one of ('new', 'open', 'pending', 'hold', 'solved', 'closed', 'deleted')",
        "rating_out_of_range": "landing/feedback/widget.csv record 3: field rating = '9' is outside 1-5",
    }


def test_hacker_news_hits_are_decoded_and_deduplicated_on_object_id(paths) -> None:
    base = {"objectID": "41", "author": "pg", "created_at": "2026-03-02T18:40:55Z",
            "created_at_i": T0 + 67255, "_tags": ["comment", "author_pg"], "story_id": 40,
            "comment_text": "<p>I&#x27;ve &quot;tried&quot; it &gt; twice</p>"}  # fmt: skip
    write_jsonl(paths, "social", "hits.jsonl", [
        {**base, "updated_at": "2026-03-02T19:00:00Z", "points": 1},
        {**base, "updated_at": "2026-03-03T19:00:00Z", "points": 7},
        {**base, "objectID": "42", "_tags": ["story"], "title": "Show HN: X", "updated_at": "2026-03-02T19:00:00Z"},
    ])  # fmt: skip
    con = stage(paths, "social", DAY, DAY)
    got = {r["mention_id"]: r for r in rows(con, "SELECT * FROM staging.social_mentions")}
    assert got["41"]["text"] == 'I\'ve "tried" it > twice' and got["41"]["points"] == 7
    assert got["41"]["item_type"] == "comment" and got["42"]["item_type"] == "story"
    assert got["41"]["author_key"] != "pg"


def okta(uuid: str | None, targets: list[dict], result: str = "SUCCESS") -> dict:
    return {
        "uuid": uuid, "published": "2026-03-02T13:27:18.500Z", "eventType": "user.authentication.sso",
        "actor": {"id": "00u1", "alternateId": "grace@corp.com", "displayName": "Grace Hopper"},
        "outcome": {"result": result}, "target": targets, "severity": "INFO",
    }  # fmt: skip


def test_okta_tool_is_the_app_instance_wherever_it_stands(paths) -> None:
    app = {"id": "0oa1", "type": "AppInstance", "displayName": "Figma"}
    user = {"id": "0ua1", "type": "AppUser", "alternateId": "grace@corp.com"}
    write_jsonl(paths, "tool_usage", "log.jsonl", [
        okta("u1", [user, app]), okta("u2", [app]), okta("u3", [user]),
        okta("u4", [app], result="MAYBE"), okta(None, [app]),
    ])  # fmt: skip
    con = stage(paths, "tool_usage", DAY, DAY)
    got = rows(
        con, "SELECT event_id, tool, outcome, occurred_at FROM staging.tool_events ORDER BY 1"
    )
    assert [(r["event_id"], r["tool"], r["outcome"]) for r in got] == [
        ("u1", "Figma", "success"), ("u2", "Figma", "success"),
    ]  # fmt: skip
    assert str(got[0]["occurred_at"]) == "2026-03-02 13:27:18.500000"
    rules = sorted(r["rule"] for r in rows(con, "SELECT rule FROM quarantine.tool_usage"))
    assert rules == ["missing_id", "missing_tool", "unknown_outcome"]


def test_licence_inventory_rows_are_typed_and_bad_counts_quarantined(paths) -> None:
    write_landing(
        paths,
        "licences",
        "inventory.csv",
        "tool,seats,annual_cost,currency,owner,renewal_date\n"
        'Slack,"1,200","45,240.00",usd,IT,2027-01-31\n'
        "Loom,n/a,100,USD,it-team@corp.com,2027-01-31\n",
    )
    con = stage(paths, "licences", None, None)
    got = rows(con, "SELECT tool, seats, annual_cost, currency, owner FROM staging.tool_licences")
    assert [(r["tool"], r["seats"], float(r["annual_cost"]), r["currency"]) for r in got] == [
        ("Slack", 1200, 45240.0, "USD")
    ]
    (reason,) = [r["reason"] for r in rows(con, "SELECT reason FROM quarantine.licences")]
    assert (
        reason
        == "landing/licences/inventory.csv record 3: field seats = 'n/a' is not a whole number of seats"
    )


def test_quarantine_keeps_the_record_for_repair_but_not_the_person(paths) -> None:
    bad = delighted("9", 11, comment="Call Ada Lovelace on +1 415 555 0123 or ada@example.com")
    bad["person"]["phone_number"] = "+14155550123"
    write_jsonl(paths, "nps", "day1.jsonl", [bad, '{"id": "8", "email": "x@example.com", "cut'])
    con = stage(paths, "nps", DAY, DAY)
    records = dict(con.execute("SELECT rule, record FROM quarantine.nps").fetchall())
    kept = json.loads(records["score_out_of_range"])
    assert kept["score"] == 11 and kept["created_at"] == T0 + 3600  # repairable as it came
    assert kept["person"] == {
        "id": "p1",
        "email": "[email]",
        "name": "[name]",
        "phone_number": "[phone]",
    }
    assert kept["comment"] == "Call [name] on [phone] or [email]"
    assert "x@example.com" not in records["invalid_json"]
    assert "ada" not in str(records).lower() and "555" not in str(records)


def test_a_source_reading_the_record_in_a_way_staging_cannot_serve_is_refused() -> None:
    import dataclasses

    import pytest

    from productops.sources import SOURCES
    from productops.staging import _staging_select

    for name in SOURCES:
        _staging_select(SOURCES[name])  # every shipped source reads through `_f`
    odd = dataclasses.replace(SOURCES["nps"], columns="json_keys(record) AS keys")
    with pytest.raises(ValueError, match="source nps: its columns read `record`"):
        _staging_select(odd)
