"""The `productops` command as a user runs it: a real process, a real Dagster home."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
WINDOW = ["--start", "2026-03-18", "--end", "2026-03-31"]


def productops(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    return {
        **os.environ,
        "PRODUCTOPS_DATA_DIR": str(tmp_path / "data"),
        "DAGSTER_HOME": str(home),
        "PRODUCTOPS_PII_SALT": "cli-test",
        "COLUMNS": "120",
    }


def test_sample_run_and_summary(env: dict[str, str]) -> None:
    sample = productops(["sample", "--days", "14", "--scale", "0.05", "--end", "2026-03-31"], env)
    assert sample.returncode == 0, sample.stderr
    assert "productops run --start 2026-03-18 --end 2026-03-31" in sample.stdout

    run = productops(["run", *WINDOW], env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "succeeded" in run.stdout
    done, total = re.search(r"(\d+)/(\d+)", run.stdout).groups()
    assert done == total and int(total) > 10
    # Bad records are named on the console with file, record and field.
    assert "record" in run.stderr and "field" in run.stderr

    summary = productops(["summary"], env)
    assert summary.returncode == 0, summary.stdout
    assert "tool_usage" in summary.stdout and "NO" not in summary.stdout

    # A broken day: the run exits 1 naming the failed blocking checks.
    corrupt = [
        "sample",
        "--days",
        "14",
        "--scale",
        "0.05",
        "--end",
        "2026-03-31",
        "--corrupt",
        "2026-03-30",
    ]
    assert productops(corrupt, env).returncode == 0
    broken = productops(["run", *WINDOW], env)
    assert broken.returncode == 1, broken.stdout
    assert "blocking check(s) failed" in broken.stdout
    assert "quarantine_rate" in broken.stdout and "schema_unchanged" in broken.stdout
    assert "Published the fresh tables with data_trust" in broken.stdout
    assert "nps is held back since 2026-03-30" in broken.stdout


def test_failed_run_exits_non_zero_naming_the_failed_step(env: dict[str, str]) -> None:
    assert (
        productops(
            ["sample", "--days", "14", "--scale", "0.05", "--end", "2026-03-31"], env
        ).returncode
        == 0
    )
    # A folder where the warehouse file should be: every staging step fails.
    (Path(env["PRODUCTOPS_DATA_DIR"]) / "warehouse.duckdb").mkdir()
    run = productops(["run", *WINDOW], env)
    assert run.returncode == 1
    assert "failed" in run.stdout and "staging__nps_responses" in run.stdout


def test_bad_arguments_are_explained(env: dict[str, str]) -> None:
    bad_date = productops(["run", "--start", "2026-02-30"], env)
    assert bad_date.returncode == 2 and "is not a date" in bad_date.stderr
    reversed_window = productops(["run", "--start", "2026-03-31", "--end", "2026-03-01"], env)
    assert reversed_window.returncode == 2 and "is after" in reversed_window.stdout
    unknown = productops(["run", *WINDOW, "--select", "staging/nope"], env)
    assert unknown.returncode == 2 and "nope" in unknown.stdout
    future = productops(["run", "--start", "2030-01-01", "--end", "2030-01-02"], env)
    assert future.returncode == 2 and "after today" in future.stdout, future.stdout
    assert not (Path(env["PRODUCTOPS_DATA_DIR"]) / "serving.duckdb").exists()
