"""`make torture`: SIGKILLs at random moments, runs started at once, a BI reader throughout,
a corpus of bad input and late updates; nothing may hang, nothing may be lost.

`make test` runs a short form (TORTURE_TRIALS=3); `make torture` runs 20 trials. Set
TORTURE_SEED for another company and other kill points.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from productops import sql
from productops.settings import data_paths
from productops.sources import SOURCES
from productops.staging import reconcile
from tests.conftest import SALT
from tests.hostile_corpus import late_updates, write_hostile_corpus

pytestmark = pytest.mark.slow

REPO = Path(__file__).parents[1]
PRODUCTOPS = str(Path(sys.executable).parent / "productops")
TRIALS = int(os.environ.get("TORTURE_TRIALS", "3"))
SEED = int(os.environ.get("TORTURE_SEED", "4242"))
DAYS = 33  # late updates reach records created up to 30 days before the run's day
END = date(2026, 8, 31)
HANG_GUARD = 900  # seconds a run may take before it counts as a hang; only a hang gets there


class Torture:
    def __init__(self, tmp: Path) -> None:
        self.paths = data_paths(tmp / "data")
        home = tmp / "home"
        home.mkdir()
        shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
        self.env = {**os.environ, "DAGSTER_HOME": str(home), "COLUMNS": "200",
                    "PRODUCTOPS_DATA_DIR": str(self.paths.root), "PRODUCTOPS_PII_SALT": SALT}  # fmt: skip
        self.rng = random.Random(SEED)
        self.trials = self.faults = self.hangs = 0
        self.log: list[str] = []

    def productops(self, *args: str, **kw) -> subprocess.Popen:
        return subprocess.Popen([PRODUCTOPS, *args], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, **kw)  # fmt: skip

    def finish(self, proc: subprocess.Popen) -> int | None:
        """The run's exit code, or None (a hang) if it outlives the guard."""
        try:
            out, _ = proc.communicate(timeout=HANG_GUARD)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            self.hangs += 1
            return None
        self.log.append(out[-2000:])
        return proc.returncode

    def kill_at_random_step(
        self, instance: dg.DagsterInstance, steps: list[str], day: date
    ) -> None:
        """Start the daily run and SIGKILL it when a randomly chosen step starts."""
        target = self.rng.choice(steps)
        jitter = self.rng.random() * 0.5  # somewhere inside the step, not only at its start
        victim = self.productops("run", "--start", str(day), "--end", str(day))
        pid = str(victim.pid)
        deadline = time.monotonic() + HANG_GUARD
        while victim.poll() is None and time.monotonic() < deadline:
            runs = instance.get_runs(filters=dg.RunsFilter(tags={"productops/pid": pid}))
            started = runs and any(
                r.event_log_entry.dagster_event.step_key == target
                for r in instance.get_records_for_run(
                    runs[0].run_id, of_type=dg.DagsterEventType.STEP_START
                ).records
            )
            if started:
                time.sleep(jitter)
                if victim.poll() is None:
                    victim.send_signal(signal.SIGKILL)
                    self.faults += 1
                break
            time.sleep(0.05)
        victim.communicate()


def _staged_keys(paths) -> dict[str, set[str]]:
    key_columns = {"nps": "response_id", "feedback": "feedback_id", "social": "mention_id"}
    with sql.connect(paths.warehouse, read_only=True) as con:
        out = {}
        for source, column in key_columns.items():
            table = SOURCES[source].table
            out[source] = {
                k for (k,) in con.execute(f"SELECT {column} FROM staging.{table}").fetchall()
            }
            out[f"q:{source}"] = {
                k for (k,) in con.execute(f"SELECT record_key FROM quarantine.{source}").fetchall()
            }
    return out


def test_torture(tmp_path: Path) -> None:
    t = Torture(tmp_path)
    start = END - timedelta(days=DAYS - 1)
    sample = t.productops("sample", "--days", str(DAYS), "--scale", "0.03", "--seed", str(SEED % 1000 + 50),
                          "--end", str(END))  # fmt: skip
    assert t.finish(sample) == 0
    corpus = write_hostile_corpus(
        t.paths, [start + timedelta(days=k) for k in range(5, DAYS - 1)], SEED
    )
    backfill = t.productops("run", "--start", str(start), "--end", str(END))
    assert t.finish(backfill) == 0, t.log[-1]

    reader = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "serving_reader.py"), str(t.paths.serving)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    expected: dict[tuple[str, str], object] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", t.env["DAGSTER_HOME"])
        instance = dg.DagsterInstance.get()
        (first,) = instance.get_runs(limit=1)
        steps = sorted(
            {r.event_log_entry.dagster_event.step_key for r in instance.get_records_for_run(
                first.run_id, of_type=dg.DagsterEventType.STEP_START).records}
        )  # fmt: skip
        for trial in range(TRIALS):
            when = datetime.combine(END + timedelta(days=1), datetime.min.time(), UTC)
            when += timedelta(hours=6, minutes=trial)
            expected |= late_updates(t.paths, when, timedelta(days=DAYS - 3), SEED + trial)
            t.kill_at_random_step(instance, steps, END)
            t.trials += 1
            if t.finish(t.productops("run", "--start", str(END), "--end", str(END))) is None:
                continue
        # Two runs started at once.
        both = [t.productops("run", "--start", str(END), "--end", str(END)) for _ in range(2)]
        codes = [t.finish(p) for p in both]
    out, err = reader.communicate(input="", timeout=HANG_GUARD)

    lost = 0
    with sql.connect(t.paths.warehouse, read_only=True) as con:
        for source in SOURCES.values():
            found = reconcile(con, t.paths, source)
            lost += sum(abs(r - s - q) for _, r, s, q in found.mismatched)
        status = dict(con.execute("SELECT feedback_id, status FROM staging.feedback").fetchall())
    stale = {k: (v, status.get(k[1])) for k, v in expected.items() if status.get(k[1]) != v}
    keys = _staged_keys(t.paths)
    missing = {k for k in corpus.staged if k[1] not in keys.get(k[0], set())}
    unquarantined = {k for k in corpus.quarantined if k[1] not in keys.get(f"q:{k[0]}", set())}
    lost += len(stale) + len(missing) + len(unquarantined)
    reader_errors = int(dict(p.split("=") for p in out.split() if "=" in p).get("errors", -1))
    print(
        f"\ntorture: trials run={t.trials}, faults injected={t.faults}, "
        f"bad inputs tried={corpus.inputs}, hangs={t.hangs}, records lost={lost}, "
        f"late updates={len(expected)}, reader errors={reader_errors}"
    )
    assert t.hangs == 0
    assert lost == 0, {
        "stale": list(stale.items())[:5],
        "missing": missing,
        "not quarantined": unquarantined,
    }
    assert reader_errors == 0, err[-2000:]
    assert codes == [0, 0], t.log[-2:]
    with duckdb.connect(str(t.paths.serving), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM meta.publications").fetchall()[0][0] >= TRIALS
