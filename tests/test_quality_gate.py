"""The gate: a broken day fails blocking checks, serving keeps the failing sources' metrics as
last trusted and publishes the others, data_trust says why."""

from __future__ import annotations

import json
import re
import shutil
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.runner import materialise
from productops.marts import CONTRACT_TABLES
from productops.sample.corrupt import write_corrupt_day
from productops.settings import data_paths
from tests.conftest import SALT, SAMPLE_SCALE, SampleRun

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sample_run")]
# The marts of nps and feedback, the sources the corrupt day breaks.
HELD = ["feedback_themes_weekly", "nps_comments", "nps_daily"]


def _tables(path: Path, tables: list[str]) -> dict[str, tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            t: con.execute(f"SELECT count(*), sum(hash(COLUMNS(*))) FROM marts.{t}").fetchall()[0]
            for t in tables
        }


def _untrusted_days(report: Path) -> int:
    found = re.search(r"(\d+) source-days in the window are not trusted", report.read_text())
    return int(found.group(1)) if found else 0


def _run(root: Path, start, end) -> object:
    with pytest.MonkeyPatch.context() as mp, dg.DagsterInstance.ephemeral() as instance:
        mp.setenv("PRODUCTOPS_DATA_DIR", str(root))
        mp.setenv("PRODUCTOPS_PII_SALT", SALT)
        return materialise(start, end, instance=instance)


def _count(rule: str, text: str) -> int:
    """The number a message gives for a rule ("score_out_of_range 20" -> 20)."""
    found = re.search(rf"{rule} (\d+)", text)
    assert found, f"{rule} not in {text!r}"
    return int(found.group(1))


def test_a_broken_day_is_held_back_and_explained(sample_run: SampleRun, tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(sample_run.paths.root, root)
    paths = data_paths(root)
    day = sample_run.start + timedelta(days=40)  # more than 28 days before the end
    before = _tables(paths.serving, list(CONTRACT_TABLES))

    write_corrupt_day(paths, day, scale=SAMPLE_SCALE)
    outcome = _run(root, day - timedelta(days=1), day + timedelta(days=1))

    assert not outcome.success and outcome.trust_run_id
    failed = "\n".join(outcome.failed_checks)
    assert "staging.nps_responses quarantine_rate: FAILED on 1 of 3 day(s)" in failed
    assert _count("score_out_of_range", failed) >= 20  # the day's own mess may add one
    assert (
        "staging.feedback schema_unchanged" in failed
        and "new fields: feedback_text, stars" in failed
    )
    assert any("duplicate_batches" in w for w in outcome.warnings)

    # Serving: the failing sources' tables exactly as last published, every other table
    # published fresh; data_trust names the failure.
    after = _tables(paths.serving, list(CONTRACT_TABLES))
    assert {t: after[t] for t in HELD} == {t: before[t] for t in HELD}
    assert all(after[t] != before[t] for t in CONTRACT_TABLES if t not in HELD)
    with duckdb.connect(str(paths.serving), read_only=True) as con:
        trust = {
            src: (trusted, notes)
            for src, trusted, notes in con.execute(
                "SELECT source, trusted, notes FROM marts.data_trust WHERE date = ?", [day]
            ).fetchall()
        }
        kept = con.execute(
            "SELECT kept_from_previous FROM meta.publications ORDER BY published_at DESC LIMIT 1"
        ).fetchall()[0][0]
    assert sorted(kept) == HELD
    assert trust["nps"][0] is False and "quarantine_rate (ERROR): " in trust["nps"][1]
    assert _count("score_out_of_range", trust["nps"][1]) >= 20
    assert trust["feedback"][0] is False and "message" in trust["feedback"][1]
    assert trust["social"][0] is True
    # The report is rebuilt with the failure: two more untrusted source-days (nps, feedback).
    report = f"productops-{sample_run.end.isoformat()}.html"
    assert _untrusted_days(paths.reports / report) == (
        _untrusted_days(sample_run.paths.reports / report) + 2
    )

    # The bad rows are in quarantine, with the file that carried them.
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        (n,) = con.execute(
            "SELECT count(*) FROM quarantine.nps WHERE rule = 'score_out_of_range' AND file LIKE '%_reexport.jsonl'"
        ).fetchall()[0]
    assert n == 20

    # A later day's run publishes again. The days the broken run re-staged reach the
    # metrics through the change log, with the broken day left out (it is blocked): days
    # before it are exactly as first published, and the broken day adds nothing.
    again = _run(root, sample_run.end, sample_run.end)
    assert again.success, again.errors + again.failed_checks
    earlier = day - timedelta(days=1)
    for table in ("nps_daily", "social_sentiment_daily", "tool_usage_daily", "kpi_daily"):
        assert _rows_before(paths.serving, table, earlier) == _rows_before(
            sample_run.paths.serving, table, earlier
        ), table
    with duckdb.connect(str(paths.serving), read_only=True) as con:
        responses = con.execute(
            "SELECT responses FROM marts.nps_daily WHERE date = ? AND segment = 'all'", [day]
        ).fetchall()
        pubs = con.execute(
            "SELECT row_counts FROM meta.publications ORDER BY published_at"
        ).fetchall()
    assert responses in ([], [(0,)])
    assert len(pubs) == 3 and json.loads(pubs[-1][0])["nps_daily"] > 0


def _rows_before(serving: Path, table: str, day) -> tuple:
    with duckdb.connect(str(serving), read_only=True) as con:
        return con.execute(
            f"SELECT count(*), sum(hash(COLUMNS(* EXCLUDE (_published_at)))) "
            f"FROM marts.{table} WHERE date < ?",
            [day],
        ).fetchall()[0]
