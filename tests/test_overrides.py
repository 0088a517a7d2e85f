"""A person's word over the checks: accept a failed day (and undo it), withdraw wrong days."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from productops.sample.corrupt import write_corrupt_day
from productops.settings import data_paths
from tests.conftest import SALT, SAMPLE_SCALE, SampleRun
from tests.helpers import write_jsonl

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sample_run")]


@pytest.fixture
def copy(sample_run: SampleRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    root = tmp_path / "data"
    shutil.copytree(sample_run.paths.root, root)
    monkeypatch.setenv("PRODUCTOPS_DATA_DIR", str(root))
    monkeypatch.setenv("PRODUCTOPS_PII_SALT", SALT)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    return data_paths(root)


def _trust(paths, source: str, day) -> tuple[bool, str]:
    with duckdb.connect(str(paths.serving), read_only=True) as con:
        return con.execute(
            "SELECT trusted, coalesce(notes, '') FROM marts.data_trust WHERE source = ? AND date = ?",
            [source, day],
        ).fetchall()[0]


def _responses(paths, day) -> int:
    with duckdb.connect(str(paths.serving), read_only=True) as con:
        found = con.execute(
            "SELECT responses FROM marts.nps_daily WHERE date = ? AND segment = 'all'", [day]
        ).fetchall()
    return found[0][0] if found else 0


def test_accepting_a_failed_day_lets_it_in_and_undo_takes_it_out(copy, sample_run) -> None:
    day = sample_run.start + timedelta(days=40)
    window = ["--start", str(day - timedelta(days=1)), "--end", str(day + timedelta(days=1))]
    write_corrupt_day(copy, day, scale=SAMPLE_SCALE)
    assert main(["run", *window]) == 1
    assert _trust(copy, "nps", day)[0] is False

    assert main(["accept", "nps", str(day)]) == 2  # a reason is required
    assert main(["accept", "nps", str(day), "--reason", "re-export confirmed", "--by", "lead"]) == 0
    assert main(["accept", "feedback", str(day), "--reason", "columns mapped by hand", "--by", "lead"]) == 0  # fmt: skip
    trusted, notes = _trust(copy, "nps", day)
    assert trusted is True and "accepted by lead" in notes and "re-export confirmed" in notes
    assert _responses(copy, day) > 0  # the day is in the metrics again

    assert main(["accept", "nps", str(day), "--undo", "--by", "lead"]) == 0
    trusted, notes = _trust(copy, "nps", day)
    assert trusted is False and "quarantine_rate" in notes
    assert _responses(copy, day) == 0
    assert main(["accept", "nps", str(day), "--undo"]) == 2  # nothing left to undo


def test_withdrawn_days_leave_serving_and_stay_out(copy, sample_run) -> None:
    wrong = sample_run.start - timedelta(days=10), sample_run.start - timedelta(days=1)
    assert main(["run", "--start", str(wrong[0]), "--end", str(wrong[1])]) in (0, 1)
    with duckdb.connect(str(copy.serving), read_only=True) as con:
        assert con.execute("SELECT min(date) FROM marts.kpi_daily").fetchall()[0][0] == wrong[0]

    assert main(["withdraw", "--start", str(wrong[0]), "--end", str(wrong[1])]) == 2  # no reason
    assert main(["withdraw", "--start", str(wrong[0]), "--end", str(wrong[1]),
                 "--reason", "run for the wrong dates"]) == 0  # fmt: skip
    with duckdb.connect(str(copy.serving), read_only=True) as con:
        for table in ("kpi_daily", "nps_daily", "data_trust", "tool_usage_daily"):
            first = con.execute(f"SELECT min(date) FROM marts.{table}").fetchall()[0][0]
            assert first == sample_run.start, table

    # A late record for a withdrawn day is merged into staging, but the day stays out.
    late_day = wrong[0] + timedelta(days=2)
    stamp = int(datetime.combine(late_day, time(12), UTC).timestamp())
    write_jsonl(copy, "nps", "late.jsonl", [{"id": "late-1", "score": 9, "created_at": stamp,
                                             "updated_at": stamp, "survey_type": "nps"}])  # fmt: skip
    assert main(["run", "--start", str(sample_run.start), "--end", str(sample_run.start)]) == 0
    with duckdb.connect(str(copy.warehouse), read_only=True) as con:
        assert con.execute(
            "SELECT date FROM staging.nps_responses WHERE response_id = 'late-1'"
        ).fetchall() == [(late_day,)]
    with duckdb.connect(str(copy.serving), read_only=True) as con:
        assert (
            con.execute("SELECT min(date) FROM marts.kpi_daily").fetchall()[0][0]
            == sample_run.start
        )
