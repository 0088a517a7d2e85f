"""Late updates: a version that arrives weeks after its record was created reaches staging
and every mart in the run that ingests it, and the result equals a rebuild from scratch."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from pipelines.runner import materialise
from productops import sql
from productops.sample import write_sample
from productops.settings import DataPaths, data_paths
from tests.conftest import SALT

pytestmark = pytest.mark.slow

END = date(2026, 5, 31)
DAYS = 45
SEED, SCALE = 23, 0.1  # not the session fixture's company
START = END - timedelta(days=DAYS - 1)


def _lines(folder: Path, pattern: str) -> list[dict]:
    """The whole records of a landing folder (the sample's truncated lines left out)."""
    out = []
    for f in sorted(folder.glob(pattern)):
        for line in f.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                out.append(record)
    return out


def write_late_updates(paths: DataPaths, when: datetime) -> dict[str, dict[str, object]]:
    """New versions of records created 10 to 40 days before `when`, as the vendors send them.

    Only records with a key are updated: the sample drops a few keys on purpose, and a
    record without one is quarantined, whatever its later versions say.

    Returns the expected final value per source and key.
    """
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    early = (when - timedelta(days=40)).date(), (when - timedelta(days=10)).date()
    expected: dict[str, dict[str, object]] = {"feedback": {}, "nps": {}, "social": {}}

    tickets = [
        t for t in _lines(paths.landing_dir("feedback"), "zendesk_*.jsonl")
        if isinstance(t.get("created_at"), str) and t.get("id") is not None
        and early[0].isoformat() <= t["created_at"][:10] <= early[1].isoformat()
        and t["status"] not in ("solved", "closed")
    ][::3]  # fmt: skip
    for t in tickets:
        t.update(status="solved", updated_at=stamp, generated_timestamp=int(when.timestamp()))
        expected["feedback"][f"zendesk:{t['id']}"] = "solved"

    responses = [
        r for r in _lines(paths.landing_dir("nps"), "*.jsonl")
        if isinstance(r.get("created_at"), int) and r.get("id") is not None
        and early[0] <= datetime.fromtimestamp(r["created_at"], UTC).date() <= early[1]
        and r.get("score") is not None and str(r["score"]).isdigit() and int(r["score"]) <= 6
    ][::2]  # fmt: skip
    for r in responses:
        r.update(score=10, updated_at=int(when.timestamp()))
        expected["nps"][r["id"]] = 10

    hits = [
        h for h in _lines(paths.landing_dir("social"), "*.jsonl")
        if isinstance(h.get("created_at_i"), int) and h.get("objectID") is not None
        and early[0] <= datetime.fromtimestamp(h["created_at_i"], UTC).date() <= early[1]
    ][::4]  # fmt: skip
    for h in hits:
        h.update(points=int(h.get("points") or 0) + 500, updated_at=stamp)
        expected["social"][h["objectID"]] = h["points"]

    for source, records in (("feedback", tickets), ("nps", responses), ("social", hits)):
        assert records, f"the sample has no {source} records to update"
        out = paths.landing_dir(source) / f"late_{when:%Y%m%d}.jsonl"
        out.write_text("".join(json.dumps(r) + "\n" for r in records))
    return expected


def _tables(paths: DataPaths) -> dict[str, tuple]:
    """Row count and an order-independent hash of every staging, quarantine and mart table."""
    with sql.connect(paths.warehouse, read_only=True) as con:
        names = con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
            "WHERE schema_name IN ('staging', 'quarantine', 'marts') AND table_name <> 'sentiment_cache'"
        ).fetchall()
        # An inventory row is as of its ingestion, and a quarantined row keeps when it was
        # ingested: both differ between two data folders.
        columns = {"staging.tool_licences": "* EXCLUDE (as_of)"}
        columns |= {t: "* EXCLUDE (ingested_at)" for (t,) in names
                    if t.startswith("quarantine.") and t != "quarantine.files"}  # fmt: skip
        return {
            t: con.execute(
                f"SELECT count(*), sum(hash(COLUMNS({columns.get(t, '*')}))) FROM {t}"
            ).fetchone()
            for (t,) in names
        }


def _run(root: Path, instance: dg.DagsterInstance, start: date, end: date) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRODUCTOPS_DATA_DIR", str(root))
        mp.setenv("PRODUCTOPS_PII_SALT", SALT)
        outcome = materialise(start, end, instance=instance)
    assert outcome.success, (outcome.errors, outcome.failed_checks)


def test_late_updates_flow_in_the_daily_run_and_equal_a_rebuild(tmp_path: Path) -> None:
    daily = data_paths(tmp_path / "daily")
    write_sample(daily, seed=SEED, scale=SCALE, days=DAYS, end=END)
    with dg.DagsterInstance.ephemeral() as instance:
        _run(daily.root, instance, START, END)
        # The next morning, the vendors send new versions of records created weeks ago.
        expected = write_late_updates(
            daily, datetime.combine(END, datetime.min.time(), UTC) + timedelta(hours=20)
        )
        _run(daily.root, instance, END, END)  # the daily run: yesterday only
        staged_days = instance.get_materialized_partitions(dg.AssetKey(["staging", "feedback"]))
        nps_days = instance.get_materialized_partitions(dg.AssetKey(["marts", "nps_daily"]))

    with sql.connect(daily.warehouse, read_only=True) as con:
        status = dict(con.execute("SELECT feedback_id, status FROM staging.feedback").fetchall())
        scores = dict(
            con.execute("SELECT response_id, score FROM staging.nps_responses").fetchall()
        )
        points = dict(
            con.execute("SELECT mention_id, points FROM staging.social_mentions").fetchall()
        )
    assert {k: status.get(k) for k in expected["feedback"]} == expected["feedback"]
    assert {k: scores.get(k) for k in expected["nps"]} == expected["nps"]
    assert {k: points.get(k) for k in expected["social"]} == expected["social"]
    assert len(staged_days) == DAYS and len(nps_days) == DAYS

    # The same landing files, run once from scratch, give the same tables.
    scratch = data_paths(tmp_path / "scratch")
    shutil.copytree(daily.landing, scratch.landing)
    with dg.DagsterInstance.ephemeral() as instance:
        _run(scratch.root, instance, START, END)
    incremental, rebuilt = _tables(daily), _tables(scratch)
    assert incremental.keys() == rebuilt.keys()
    differ = sorted(t for t in rebuilt if incremental[t] != rebuilt[t])
    assert differ == [], differ
