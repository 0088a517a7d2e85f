"""Any bytes in: a rejected file with its reason, or every record staged or quarantined with
a reason. Never an exception, never a record lost."""

from __future__ import annotations

import json
import re
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from productops.ingest import ingest_source
from productops.settings import DataPaths
from productops.sources import SOURCES
from productops.staging import _fields, build_staging, reconcile
from tests.helpers import warehouse

DAY = date(2026, 3, 2)
ARRIVED = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
SUFFIXES = [".jsonl", ".json", ".csv"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# Records that look like the vendors' (right keys, any values) and plain noise.
vendorish = st.fixed_dictionaries(
    {"id": json_values, "score": json_values, "created_at": json_values, "comment": json_values}
)
contents = st.one_of(
    st.binary(max_size=2048),
    st.lists(vendorish | json_values, max_size=8).map(
        lambda rs: "\n".join(json.dumps(r) for r in rs).encode()
    ),
    st.lists(st.lists(st.text(max_size=12), max_size=5), max_size=6).map(
        lambda rows: "\n".join(",".join(r) for r in [["id", "score", "created_at"], *rows]).encode()
    ),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    content=contents, suffix=st.sampled_from(SUFFIXES), source=st.sampled_from(["nps", "feedback"])
)
def test_any_file_ends_rejected_or_fully_accounted_for(
    content: bytes, suffix: str, source: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = DataPaths(Path(tmp) / "data")
        folder = paths.landing_dir(source)
        folder.mkdir(parents=True)
        (folder / f"drop{suffix}").write_bytes(content)
        report = ingest_source(paths, SOURCES[source], now=ARRIVED)
        (batch,) = report.new
        if batch.status == "rejected":
            assert batch.reason and "drop" in batch.reason
            return
        con = warehouse(paths)
        try:
            build_staging(con, paths, SOURCES[source], DAY, DAY)
            assert reconcile(con, paths, SOURCES[source]).ok
            reasons = con.execute(f"SELECT reason FROM quarantine.{source}").fetchall()
            assert all(r and f"landing/{source}/drop{suffix} record " in r for (r,) in reasons)
        finally:
            con.close()


def _segments(path: str) -> list[str]:
    return [s.strip('"') for s in re.findall(r'"[^"]*"|[^.]+', path.removeprefix("$."))]


# Items of a list field, keyed the way vendors key them (Okta's target, Zendesk's
# custom_fields) or not at all.
items = st.dictionaries(
    st.sampled_from(["type", "id", "displayName", "value", "name"]) | st.text(max_size=6), json_values,
    max_size=4,
)  # fmt: skip


# One good record per source, dated the day before it arrives: a value made hostile in
# it reaches every rule and column (a record already failing an earlier rule would not).
GOOD = {
    "nps": {"id": "r1", "score": 9, "survey_type": "nps", "created_at": 1772409600,
            "updated_at": 1772409600, "comment": "Great", "person": {"id": "p1", "email": "a@example.com"},
            "person_properties": {"Plan": "pro", "Region": "EU", "Account ID": "ACC-1"}},
    "feedback": {"id": 1, "created_at": "2026-03-02T10:00:00Z", "updated_at": "2026-03-02T10:00:00Z",
                 "subject": "Export broken", "description": "The export fails", "status": "open",
                 "tags": ["export"], "custom_fields": [{"id": 1, "value": "pro"}],
                 "via": {"channel": "email"}, "requester_id": 7},
    "social": {"objectID": "h1", "created_at_i": 1772445600, "created_at": "2026-03-02T10:00:00Z",
               "title": "Acme is great", "author": "someone", "_tags": ["story"], "points": 3},
    "tool_usage": {"uuid": "u1", "published": "2026-03-02T10:00:00.000Z",
                   "eventType": "user.authentication.sso", "severity": "INFO",
                   "actor": {"id": "00u1", "alternateId": "a@example.com"},
                   "outcome": {"result": "SUCCESS"},
                   "target": [{"type": "AppInstance", "id": "0oa1", "displayName": "Jira"}]},
    "licences": {"tool": "Jira", "seats": 10, "annual_cost": 1000, "currency": "EUR",
                 "owner": "ops", "renewal_date": "2026-12-31"},
}  # fmt: skip


# Text that is nearly JSON, a date or a number: what a one-off parse of a field's text
# trips over.
near_misses = st.sampled_from(
    ["", " ", "urgent", "[1", "[", "{", '{"a":', "[]", "{}", "null", "true", "1e999", "-0",
     "NaN", "2026-13-45", "2026-03-02T25:00:00Z", "\x00", "é", "[{\"type\": \"AppInstance\"}]"]
)  # fmt: skip


KEYS = {
    "nps": "id",
    "feedback": "id",
    "social": "objectID",
    "tool_usage": "uuid",
    "licences": "tool",
}


@st.composite
def records_of(draw: st.DrawFn, source: str) -> dict:
    """The source's good record with one to three of the fields it reads (or an object on
    the way to one) holding any JSON value, or missing."""
    record = json.loads(json.dumps(GOOD[source]))
    paths = _fields(SOURCES[source])
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3, unique=True)):
        parts = _segments(path)
        depth = draw(st.integers(1, len(parts)))  # replace the field, or an object above it
        node = record
        for part in parts[: depth - 1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        if draw(st.integers(0, 5)):
            node[parts[depth - 1]] = draw(json_values | st.lists(items, max_size=3) | near_misses)
        else:
            node.pop(parts[depth - 1], None)
    return record


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), source=st.sampled_from(sorted(SOURCES)))
def test_any_value_in_any_field_a_source_reads_is_data(data: st.DataObject, source: str) -> None:
    """No value in a file may stop a source: every field staging reads, any JSON value."""
    records = data.draw(st.lists(records_of(source), min_size=1, max_size=6))
    with tempfile.TemporaryDirectory() as tmp:
        paths = DataPaths(Path(tmp) / "data")
        folder = paths.landing_dir(source)
        folder.mkdir(parents=True)
        records.append(json.loads(json.dumps(GOOD[source])))  # a good record beside them
        key = KEYS[source]
        for i, r in enumerate(records):  # each its own key, or only the newest is staged
            if r.get(key) == GOOD[source][key]:
                r[key] = (
                    GOOD[source][key] + i
                    if key == "id" and source == "feedback"
                    else f"{r[key]}-{i}"
                )
        (folder / "drop.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        (batch,) = ingest_source(paths, SOURCES[source], now=ARRIVED).new
        assert batch.status == "ingested", batch.reason
        con = warehouse(paths)
        try:
            result = build_staging(con, paths, SOURCES[source], *_window(source))
            assert result.staged + result.quarantined >= 1
            reasons = con.execute(f"SELECT reason FROM quarantine.{source}").fetchall()
            assert all(r and f"landing/{source}/drop.jsonl record " in r for (r,) in reasons)
            assert reconcile(con, paths, SOURCES[source]).ok
        finally:
            con.close()


def _window(source: str) -> tuple[date | None, date | None]:
    # Records with odd creation times are filed under their arrival day.
    return (None, None) if not SOURCES[source].daily else (date(2000, 1, 1), ARRIVED.date())
