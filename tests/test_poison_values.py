"""No value blocks a source, and no record vanishes: poison values end in quarantine with a
reason naming the file, the record and the field, while the rest of the file flows."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime

import pytest

from productops import marts
from productops.ingest import ingest_source
from productops.sources import SOURCES
from productops.staging import build_staging, reconcile
from productops.themes import load_taxonomy
from tests.helpers import rows, warehouse, write_jsonl, write_landing

DAY = date(2026, 3, 2)
T0 = 1772409600  # 2026-03-02 00:00:00 UTC
ARRIVED = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
HUGE = 99999999999999


def nps(id_: str, created, updated=None) -> dict:
    return {"id": id_, "score": 7, "survey_type": "nps", "created_at": created,
            "updated_at": updated, "person": {"email": f"p{id_}@example.com"}}  # fmt: skip


def hn(id_: str, created_i) -> dict:
    return {"objectID": id_, "created_at_i": created_i, "title": "Acme is down",
            "_tags": ["story"], "author": "someone"}  # fmt: skip


CASES = {
    "nps": (
        "nps.jsonl",
        [
            nps("ok", T0 + 60),
            nps("huge", HUGE),
            nps("neg", -HUGE),
            nps("1969", -3600),
            nps("1900", -2208988800),
            nps("2999", 32472144000),
            nps("text", "yesterday"),
            nps("upd", T0 + 60, updated=HUGE),
        ],
        {"huge", "neg", "1969", "1900", "2999", "text"},
    ),
    "social": (
        "hn.jsonl",
        [hn("ok", T0 + 60), hn("huge", HUGE), hn("1900", -2208988800), hn("2999", 32472144000)],
        {"huge", "1900", "2999"},
    ),
}


@pytest.mark.parametrize("source", sorted(CASES))
def test_poison_timestamps_are_quarantined_and_the_rest_flows(paths, source: str) -> None:
    name, records, bad = CASES[source]
    write_jsonl(paths, source, name, records)
    report = ingest_source(paths, SOURCES[source], now=ARRIVED)
    assert [b.status for b in report.new] == ["ingested"]
    con = warehouse(paths)
    build_staging(con, paths, SOURCES[source], DAY, DAY)
    src = SOURCES[source]
    key = {"nps": "response_id", "social": "mention_id"}[source]
    staged = {r[key] for r in rows(con, f"SELECT {key} FROM staging.{src.table}")}
    quarantined = {r["record_key"]: r for r in rows(con, f"SELECT * FROM quarantine.{source}")}
    assert set(quarantined) == bad
    assert staged == {r.get("id", r.get("objectID")) for r in records} - bad
    for r in quarantined.values():
        assert r["reason"].startswith(f"landing/{source}/{name} record ")
        assert "field created_at" in r["reason"], r["reason"]
    assert reconcile(con, paths, src).ok


def test_a_widget_date_of_year_99999_and_1900_is_quarantined_not_fatal(paths) -> None:
    write_landing(
        paths,
        "feedback",
        "widget.csv",
        "feedback_id,submitted_at,rating,message,user_email\n"
        "w1,2026-03-02 10:00:00,4,fine,a@example.com\n"
        "w2,99999-01-01,3,from the far future,b@example.com\n"
        "w3,1900-01-01,3,from the past,c@example.com\n"
        "w4,not a date,3,what,d@example.com\n",
    )
    report = ingest_source(paths, SOURCES["feedback"], now=ARRIVED)
    assert [b.status for b in report.new] == ["ingested"]
    con = warehouse(paths)
    build_staging(con, paths, SOURCES["feedback"], DAY, DAY)
    assert [r["feedback_id"] for r in rows(con, "SELECT feedback_id FROM staging.feedback")] == [
        "widget:w1"
    ]
    reasons = dict(
        con.execute("SELECT record_key, reason FROM quarantine.feedback ORDER BY 1").fetchall()
    )
    assert set(reasons) == {"widget:w2", "widget:w3", "widget:w4"}
    assert (
        "landing/feedback/widget.csv record 3: field created_at = '99999-01-01'"
        in reasons["widget:w2"]
    )
    assert reconcile(con, paths, SOURCES["feedback"]).ok


def test_a_file_of_only_bad_json_is_kept_and_quarantined(paths) -> None:
    write_jsonl(paths, "nps", "junk.jsonl", ["[1, 2", "\x00\x01", json.dumps([1, 2]), "null"])
    report = ingest_source(paths, SOURCES["nps"], now=ARRIVED)
    assert report.new[0].bad_records == 4
    con = warehouse(paths)
    build_staging(con, paths, SOURCES["nps"], DAY, DAY)
    assert con.execute("SELECT count(*) FROM quarantine.nps").fetchone()[0] == 4
    assert reconcile(con, paths, SOURCES["nps"]).ok


def test_ragged_csv_rows_are_quarantined_one_by_one_and_the_rest_flows(paths) -> None:
    write_landing(
        paths,
        "feedback",
        "ragged.csv",
        "feedback_id,submitted_at,rating,message\n"
        "r1,2026-03-02 10:00:00,4,ok\n"
        "r2,2026-03-02 10:05:00,4,too,many,fields\n"
        "r3,2026-03-02\n"
        'r4,2026-03-02 11:00:00,5,"quoted, with a comma\nand a new line"\n',
    )
    (batch,) = ingest_source(paths, SOURCES["feedback"], now=ARRIVED).new
    assert batch.status == "ingested" and batch.rows == 4
    con = warehouse(paths)
    build_staging(con, paths, SOURCES["feedback"], DAY, DAY)
    assert sorted(
        r["feedback_id"] for r in rows(con, "SELECT feedback_id FROM staging.feedback")
    ) == [
        "widget:r1",
        "widget:r4",
    ]
    found = con.execute("SELECT reason FROM quarantine.feedback ORDER BY record_no").fetchall()
    reasons = [r for (r,) in found]
    assert reasons == [
        "landing/feedback/ragged.csv record 3: field (row) = 'r2,2026-03-02 10:05:00,4,too,many,fields' "
        "does not have as many fields as the header",
        "landing/feedback/ragged.csv record 4: field (row) = 'r3,2026-03-02' "
        "does not have as many fields as the header",
    ]
    assert reconcile(con, paths, SOURCES["feedback"]).ok


def test_a_file_that_cannot_be_read_makes_data_trust_say_so(paths) -> None:
    write_jsonl(paths, "nps", "good.jsonl", [nps("ok", T0 + 60)])
    write_landing(paths, "nps", "garbage.jsonl", random.Random(5).randbytes(1024))
    arrived = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)  # the morning after DAY
    reports = ingest_source(paths, SOURCES["nps"], now=arrived)
    assert sorted(b.status for b in reports.new) == ["ingested", "rejected"]
    con = warehouse(paths)
    for source in SOURCES.values():  # data_trust reads every staging table
        window = (DAY, DAY) if source.daily else (None, None)
        build_staging(con, paths, source, *window)
    marts.prepare(con, load_taxonomy())
    marts.build_data_trust(con, marts.Window(DAY, DAY), arrived)
    trusted, notes = con.execute(
        "SELECT trusted, notes FROM marts.data_trust WHERE source = 'nps' AND date = ?", [DAY]
    ).fetchall()[0]
    assert trusted is False
    assert "landing file(s) could not be read: landing/nps/garbage.jsonl (" in notes
    assert "is not text" in notes


def test_a_reason_quotes_the_value_but_not_the_person_in_it(paths) -> None:
    write_landing(
        paths,
        "feedback",
        "w.csv",
        "feedback_id,submitted_at,message,user_email\n"
        "w1,2026-03-02 10:00:00,call +44 20 7946 0958,ada@example.com,extra\n",
    )
    ingest_source(paths, SOURCES["feedback"], now=ARRIVED)
    con = warehouse(paths)
    build_staging(con, paths, SOURCES["feedback"], DAY, DAY)
    (reason,) = con.execute("SELECT reason FROM quarantine.feedback").fetchone()
    assert "record 2: field (row) = 'w1,2026-03-02 10:00:00,call [phone],[email]" in reason


def okta(id_: str, target) -> dict:
    return {"uuid": id_, "published": "2026-03-02T10:00:00.000Z", "eventType": "user.authentication.sso",
            "actor": {"alternateId": f"{id_}@example.com", "displayName": "Ann Example"},
            "outcome": {"result": "SUCCESS"}, "target": target}  # fmt: skip


def ticket(id_: str, tags, custom_fields) -> dict:
    return {"id": id_, "created_at": "2026-03-02T10:00:00Z", "updated_at": "2026-03-02T10:00:00Z",
            "subject": "Export broken", "description": "The export fails", "status": "open",
            "tags": tags, "custom_fields": custom_fields}  # fmt: skip


APP = [{"type": "AppInstance", "id": "0oa1", "displayName": "Jira"}]
# A list the vendor gives as something else: text that is not JSON ("[1", "urgent"),
# text that is ('[1]'), a number, an object, null. Each must stay data, never stop a source.
NOT_LISTS = ["urgent", "[1", "[1]", 7, {"a": 1}, None]


@pytest.mark.parametrize(
    ("source", "name", "records"),
    [
        ("tool_usage", "okta.jsonl",
         [okta("ok", APP)] + [okta(f"t{i}", v) for i, v in enumerate(NOT_LISTS)]),
        ("social", "hn.jsonl",
         [hn("ok", T0 + 60)] + [{**hn(f"t{i}", T0 + 60), "_tags": v} for i, v in enumerate(NOT_LISTS)]),
        ("feedback", "zendesk_tickets.jsonl",
         [ticket("1", ["a"], [])] + [ticket(str(10 + i), v, v) for i, v in enumerate(NOT_LISTS)]),
    ],
)  # fmt: skip
def test_a_list_field_that_is_not_a_list_is_data_not_a_stopped_source(
    paths, source: str, name: str, records: list[dict]
) -> None:
    write_jsonl(paths, source, name, records)
    assert [b.status for b in ingest_source(paths, SOURCES[source], now=ARRIVED).new] == [
        "ingested"
    ]
    con = warehouse(paths)
    result = build_staging(con, paths, SOURCES[source], DAY, DAY)
    assert result.staged >= 1  # the good record flows
    assert result.staged + result.quarantined == len(records)
    assert reconcile(con, paths, SOURCES[source]).ok
