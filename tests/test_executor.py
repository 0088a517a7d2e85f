"""`PRODUCTOPS_EXECUTOR=multiprocess` (a large machine): a run launched the way the daemon
launches it executes each step in its own process, and succeeds."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import dagster as dg
import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


def test_a_launched_run_executes_a_process_per_step(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(REPO / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODUCTOPS_", "DAGSTER_"))}
    env |= {
        "PRODUCTOPS_DATA_DIR": str(tmp_path / "data"),
        "PRODUCTOPS_SETTINGS": str(REPO / "tests" / "productops.toml"),
        "PRODUCTOPS_PII_SALT": "executor-salt",
        "PRODUCTOPS_EXECUTOR": "multiprocess",
        "DAGSTER_HOME": str(home),
    }
    bin_dir = REPO / ".venv" / "bin"
    subprocess.run([str(bin_dir / "productops"), "sample", "--scale", "0.05", "--days", "14",
                    "--end", "2026-06-30"], env=env, cwd=tmp_path, check=True,
                   capture_output=True)  # fmt: skip
    window = {"dagster/asset_partition_range_start": "2026-06-17",
              "dagster/asset_partition_range_end": "2026-06-30"}  # fmt: skip
    done = subprocess.run(
        [str(bin_dir / "dagster"), "job", "execute", "-m", "pipelines.definitions",
         "-j", "daily_refresh", "--tags", json.dumps(window)],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        starts = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
        assert run.status == dg.DagsterRunStatus.SUCCESS
    assert len(starts) > 20
    assert len({e.dagster_event.pid for e in starts}) == len(starts)  # a process each
