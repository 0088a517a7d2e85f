"""A run killed at any moment leaves nothing that blocks or corrupts the next one."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from productops import sql
from productops.settings import data_paths
from productops.sources import SOURCES
from productops.staging import reconcile
from tests.conftest import SALT

pytestmark = pytest.mark.slow

REPO = Path(__file__).parents[1]
PRODUCTOPS = str(Path(sys.executable).parent / "productops")
WINDOW = ["--start", "2026-05-18", "--end", "2026-05-31"]
HANG_GUARD = 900  # seconds: only a hang reaches it, never a slow machine


def _env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    return {**os.environ, "DAGSTER_HOME": str(home), "PRODUCTOPS_DATA_DIR": str(tmp_path / "data"),
            "PRODUCTOPS_PII_SALT": SALT, "COLUMNS": "200"}  # fmt: skip


def _sample(env: dict[str, str], seed: int = 31) -> None:
    subprocess.run(
        [PRODUCTOPS, "sample", "--days", "14", "--scale", "0.05", "--seed", str(seed),
         "--end", "2026-05-31"], env=env, check=True, capture_output=True,
    )  # fmt: skip


def _wait_for(predicate, proc: subprocess.Popen) -> None:
    """Poll for an event in the instance while the process lives; a hang fails the test."""
    deadline = time.monotonic() + HANG_GUARD
    while not predicate():
        assert proc.poll() is None, "the run ended before the moment to kill it"
        assert time.monotonic() < deadline, "the event never came"
        time.sleep(0.05)


def test_a_run_killed_holding_the_warehouse_slot_does_not_block_the_next(tmp_path: Path) -> None:
    env = _env(tmp_path)
    _sample(env)
    victim = subprocess.Popen([PRODUCTOPS, "run", *WINDOW], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
        instance = dg.DagsterInstance.get()
        storage = instance.event_log_storage

        def slot_claimed() -> bool:
            keys = storage.get_concurrency_keys()
            return any(storage.get_concurrency_info(k).claimed_slots for k in keys)

        _wait_for(slot_claimed, victim)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        assert slot_claimed(), "the dead run should still hold its slot before recovery"

        again = subprocess.run([PRODUCTOPS, "run", *WINDOW], env=env, capture_output=True,
                               text=True, timeout=HANG_GUARD)  # fmt: skip
        assert again.returncode == 0, again.stdout + again.stderr
        assert "died without finishing" in again.stdout, again.stdout
        assert not slot_claimed()
        dead = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
        assert len(dead) == 1
    paths = data_paths(tmp_path / "data")
    assert not list((paths.lake / "_tmp").glob("*/*"))
    with sql.connect(paths.warehouse, read_only=True) as con:
        for source in SOURCES.values():
            assert reconcile(con, paths, source).ok, source.name


def test_two_runs_started_at_once_both_finish_one_after_the_other(tmp_path: Path) -> None:
    env = _env(tmp_path)
    _sample(env, seed=32)
    runs = [
        subprocess.Popen(
            [PRODUCTOPS, "run", *WINDOW],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [r.communicate(timeout=HANG_GUARD)[0] for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outs
    paths = data_paths(tmp_path / "data")
    with sql.connect(paths.warehouse, read_only=True) as con:
        for source in SOURCES.values():
            assert reconcile(con, paths, source).ok, source.name
        published = con.execute("SELECT count(*) FROM staging.nps_responses").fetchone()[0]
    assert published > 0
