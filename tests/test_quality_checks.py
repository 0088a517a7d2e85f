"""Each check family on good and broken data: staging built from hand-made landing files."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from productops.quality import engine
from productops.quality.results import RESULTS_DDL, record
from productops.quality.suites import SUITES
from tests.helpers import stage, write_jsonl

D1 = date(2026, 3, 2)
T0 = 1772409600  # D1 00:00 UTC
NOW = datetime(2026, 4, 1, tzinfo=UTC)


def response(i: int, score: int = 9, day: int = 0, **extra) -> dict:
    return {"id": str(i), "score": score, "created_at": T0 + day * 86400 + 3600 + i,
            "person": {"email": f"p{i}@x.com"}, "person_properties": {"Plan": "Pro"},
            "comment": "Great product", **extra}  # fmt: skip


def evaluate(paths, source: str = "nps", start: date = D1, end: date = D1):
    con = stage(paths, source, start, end)
    return con, engine.evaluate(con, paths, SUITES[source], start, end, NOW)


def test_a_clean_day_passes_every_check(paths) -> None:
    write_jsonl(paths, "nps", "day.jsonl", [response(i, score=i % 11) for i in range(40)])
    _, out = evaluate(paths)
    failed = {name: o.describe(name) for name, o in out.items() if not o.passed}
    assert failed == {}
    assert set(out) == set(engine.CHECKS)


def test_quarantine_rate_fails_above_five_percent_with_examples(paths) -> None:
    good = [response(i) for i in range(40)]
    bad = [response(100 + i, score=14) for i in range(6)]  # 6 of 46: 13 %
    write_jsonl(paths, "nps", "day.jsonl", good + bad)
    _, out = evaluate(paths)
    q = out["quarantine_rate"]
    assert not q.passed and q.severity == "ERROR"
    assert q.worst.observed == pytest.approx(6 / 46)
    assert q.examples[0] == {"rule": "score_out_of_range", "rows": 6}
    assert "record 41: field score = '14' is outside 0-10" in q.examples[1]["reason"]
    assert "6 of 46 records quarantined" in q.describe("nps quarantine_rate")


def test_one_bad_record_on_a_quiet_day_is_not_a_failure(paths) -> None:
    write_jsonl(
        paths, "nps", "day.jsonl", [response(i) for i in range(8)] + [response(99, score=11)]
    )
    _, out = evaluate(paths)
    assert out["quarantine_rate"].passed  # 11 % but a single record


def test_a_renamed_vendor_field_fails_the_schema_check_naming_both_names(paths) -> None:
    history = [response(i, day=-d) for d in range(1, 4) for i in range(d * 10, d * 10 + 5)]
    renamed = [{**{k: v for k, v in response(200 + i).items() if k != "score"}, "nps_score": 9}
               for i in range(10)]  # fmt: skip
    write_jsonl(paths, "nps", "old.jsonl", history)
    write_jsonl(paths, "nps", "new.jsonl", renamed)
    _, out = evaluate(paths, start=D1 - timedelta(days=3))
    schema = out["schema_unchanged"]
    assert not schema.passed
    (day,) = schema.failed_days
    assert day.day == D1
    assert "vendor fields missing: score (100 % of records)" in day.detail
    assert "new fields: nps_score" in day.detail


def test_the_schema_check_reads_a_days_key_lists_again_only_when_its_files_change(
    paths,
) -> None:
    """Each day's vendor key lists are kept with its list of raw files: the next check
    trusts them (here made wrong on purpose), and reads the day again once a batch
    lands on it."""
    write_jsonl(paths, "nps", "good.jsonl", [response(i) for i in range(20)])
    con, out = evaluate(paths)
    assert out["schema_unchanged"].passed
    (stored,) = con.execute(
        "SELECT rows FROM ops.raw_day_summaries WHERE summary = 'key_lists' AND day = ?", [D1]
    ).fetchone()
    assert '"score"' in stored and stored.startswith('[["2026-03-02", "delighted_response", [')
    con.execute(
        "UPDATE ops.raw_day_summaries SET rows = replace(rows, '\"score\"', '\"scor\"') "
        "WHERE summary = 'key_lists'"
    )
    again = engine.evaluate(con, paths, SUITES["nps"], D1, D1, NOW)["schema_unchanged"]
    assert "vendor fields missing: score (100 % of records)" in again.failed_days[0].detail

    con.close()
    write_jsonl(paths, "nps", "more.jsonl", [response(i) for i in range(20, 30)])
    _, out = evaluate(paths)  # a new batch on the day: its key lists are read again
    assert out["schema_unchanged"].passed, out["schema_unchanged"].describe("schema")


def test_rows_that_slip_past_staging_rules_are_caught_by_gx(paths) -> None:
    write_jsonl(paths, "nps", "day.jsonl", [response(i) for i in range(20)])
    con, _ = evaluate(paths)
    # Simulate a bug upstream of the checks: bad rows written straight into staging.
    con.execute("UPDATE staging.nps_responses SET score = 42 WHERE response_id = '3'")
    con.execute(
        "UPDATE staging.nps_responses SET comment = 'mail me: ada@example.com' WHERE response_id = '4'"
    )
    con.execute(
        "UPDATE staging.nps_responses SET responded_at = TIMESTAMP '2027-01-01' WHERE response_id = '5'"
    )
    con.execute(
        "INSERT INTO staging.nps_responses SELECT * FROM staging.nps_responses WHERE response_id = '6'"
    )
    out = engine.evaluate(con, paths, SUITES["nps"], D1, D1, NOW)
    values = out["values_valid"]
    assert (
        not values.passed
        and {"key": "3", "rule": "score between 0 and 10", "score": 42} in values.examples
    )
    pii = out["no_personal_data"]
    assert not pii.passed and pii.examples == [
        {"key": "4", "rule": "no e-mail address, phone number or known person's name in comment"}
    ]
    assert "ada@example.com" not in str(pii.examples)
    assert not out["timestamps_valid"].passed and out["timestamps_valid"].examples[0]["key"] == "5"
    keys = out["keys_valid"]
    assert not keys.passed and {"key": "6", "rule": "duplicate key"} in keys.examples
    assert not out["raw_reconciles"].passed  # staging now has one row more than raw has keys


def test_a_key_on_two_days_fails_both_days_and_no_other(paths) -> None:
    # Two versions of response 6 created on different days: staging keeps each on its day.
    records = [response(d * 100 + i, day=d) for d in range(3) for i in range(10)]
    records += [response(6, day=2, score=3)]
    write_jsonl(paths, "nps", "days.jsonl", records)
    con = stage(paths, "nps", D1, D1 + timedelta(days=2))
    for day, passes in ((0, False), (1, True), (2, False)):
        window = D1 + timedelta(days=day)
        keys = engine.evaluate(con, paths, SUITES["nps"], window, window, NOW)["keys_valid"]
        assert keys.passed is passes, day
        if not passes:
            assert {"key": "6", "rule": "duplicate key"} in keys.examples
    whole = engine.evaluate(con, paths, SUITES["nps"], D1, D1 + timedelta(days=2), NOW)
    assert [d.day for d in whole["keys_valid"].failed_days] == [D1, D1 + timedelta(days=2)]


def test_volume_spike_is_a_warning(paths) -> None:
    records = [response(d * 100 + i, day=d) for d in range(20) for i in range(10)]
    records += [response(5000 + i, day=20) for i in range(80)]
    write_jsonl(paths, "nps", "days.jsonl", records)
    _, out = evaluate(paths, start=D1, end=D1 + timedelta(days=20))
    volume = out["volume_normal"]
    assert volume.severity == "WARN" and not volume.passed
    assert [d.day for d in volume.failed_days] == [D1 + timedelta(days=20)]


def test_a_batch_delivered_twice_is_reported(paths) -> None:
    records = [response(i) for i in range(10)]
    write_jsonl(paths, "nps", "day.jsonl", records)
    write_jsonl(paths, "nps", "day_resent.jsonl", list(reversed(records)))
    _, out = evaluate(paths)
    dup = out["duplicate_batches"]
    assert not dup.passed and dup.unexpected_count == 10
    assert dup.examples == [{"files": ["landing/nps/day.jsonl", "landing/nps/day_resent.jsonl"]}]
    assert out["raw_reconciles"].passed and out["keys_valid"].passed  # staging deduplicated


def test_results_are_kept_per_day_in_the_history_table(paths) -> None:
    write_jsonl(
        paths, "nps", "day.jsonl", [response(i) for i in range(30)] + [response(99, score=12)] * 1
    )
    con, out = evaluate(paths)
    con.execute(RESULTS_DDL)
    described = [(outcome, outcome.describe(name)) for name, outcome in out.items()]
    record(con, described, run_id="r1", asset="staging/nps_responses", source="nps",
           checked_at=NOW)  # fmt: skip
    rows = con.execute(
        "SELECT check_name, severity, passed, partition, unexpected_count FROM quality.check_results "
        "ORDER BY check_name"
    ).fetchall()
    assert len(rows) == len(engine.CHECKS)
    # Every column as written, the examples as JSON and the time without its zone.
    first = con.execute(
        "SELECT run_id, asset, source, threshold, json_array_length(examples::JSON), description,"
        " checked_at FROM quality.check_results WHERE check_name = 'values_valid'"
    ).fetchone()
    assert first == ("r1", "staging/nps_responses", "nps", out["values_valid"].threshold, 0,
                     described[list(out).index("values_valid")][1], NOW.replace(tzinfo=None))  # fmt: skip
    assert ("values_valid", "ERROR", True, D1, 0) in rows
    assert con.execute("SELECT count(*) FROM quality.blocked_days").fetchall() == [(0,)]
