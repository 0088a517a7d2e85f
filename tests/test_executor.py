"""`PRODUCTOPS_EXECUTOR=multiprocess` (a large machine): a run launched the way the daemon
launches it executes each step in its own process, and succeeds."""

from __future__ import annotations

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
    # One source's path from raw to a mart and its checks, over the days: every kind of
    # step (a multi-asset check, a mart check), each in a process of its own, at a
    # sixth of the whole graph's process start-ups.
    select = " or ".join(f'key:"{k}"' for k in ("raw/nps", "staging/nps_responses",
                                                "marts/nps_daily"))  # fmt: skip
    done = subprocess.run(
        [str(bin_dir / "dagster"), "asset", "materialize", "-m", "pipelines.definitions",
         "--select", select, "--partition-range", "2026-06-17...2026-06-30"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        starts = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
        checks = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        assert run.status == dg.DagsterRunStatus.SUCCESS
    steps = {e.step_key for e in starts}
    assert {"raw__nps", "staging__nps_responses", "marts__nps_daily"} <= steps, steps
    assert len(starts) >= 5 and checks
    assert len({e.dagster_event.pid for e in starts}) == len(starts)  # a process each
