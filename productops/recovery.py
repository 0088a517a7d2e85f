"""One run at a time per data folder, and a clean start after a run that was killed.

A run holds an exclusive `flock` on `<data>/.productops.lock` for its whole life. The
kernel releases it when the process ends, however it ends (SIGKILL included), so:

- two `productops run`s started at once run one after the other, never interleaved;
- whoever holds the lock knows that no other productops run on this data folder is
  alive, so a run still marked STARTED in the Dagster instance is a dead one. Its
  concurrency slots (which Dagster keeps until something frees them) are freed, it is
  marked failed, and the temporary files a crash can leave are removed.

The lock is a file lock rather than a Dagster pool because a pool slot outlives the
process that claimed it; that is the failure being repaired here.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from productops import permissions
from productops.settings import DataPaths

CLI_TAG, HOST_TAG, PID_TAG = "productops/entry", "productops/host", "productops/pid"
DATA_TAG = "productops/data"  # the data folder whose lock the run held
_UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


@dataclass
class Recovery:
    """What a run found and repaired before it started."""

    dead_runs: list[str] = field(default_factory=list)
    freed_slots: list[str] = field(default_factory=list)  # run ids whose slots were freed
    removed: list[str] = field(default_factory=list)  # stale temporary files and folders
    tightened: int = 0  # entries of the data folder that were open to other users

    def __bool__(self) -> bool:
        return bool(self.dead_runs or self.freed_slots or self.removed or self.tightened)

    def describe(self) -> str:
        parts = []
        if self.dead_runs:
            parts.append(
                f"{len(self.dead_runs)} earlier run(s) died without finishing "
                f"({', '.join(r[:8] for r in self.dead_runs)}) and were marked failed"
            )
        if self.freed_slots:
            parts.append(f"freed the concurrency slots of {len(self.freed_slots)} ended run(s)")
        if self.removed:
            parts.append(f"removed {len(self.removed)} temporary file(s) a crash left behind")
        if self.tightened:
            parts.append(f"closed {self.tightened} file(s) and folder(s) to other users")
        return "; ".join(parts)


def run_tags(paths: DataPaths) -> dict[str, str]:
    """Tags that let a later run on the same data folder tell that this process is gone."""
    return {CLI_TAG: "cli", HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid()),
            DATA_TAG: str(paths.root)}  # fmt: skip


@contextlib.contextmanager
def data_folder_lock(
    paths: DataPaths, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the data folder's run lock; tell `on_wait` who holds it when we must wait."""
    paths.root.mkdir(parents=True, exist_ok=True)
    lock = paths.root / ".productops.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait(_holder(lock))
            fcntl.flock(fd, fcntl.LOCK_EX)
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "since": datetime.now(UTC).isoformat(timespec="seconds")}  # fmt: skip
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _holder(lock: Path) -> str:
    try:
        h = json.loads(lock.read_text() or "{}")
        return f"another productops run (pid {h['pid']} on {h['host']}, since {h['since']})"
    except (OSError, ValueError, KeyError):
        return "another productops run"


def recover(instance: dg.DagsterInstance, paths: DataPaths) -> Recovery:
    """Repair what dead runs left. Call only while holding `data_folder_lock`."""
    found = Recovery()
    host = socket.gethostname()
    # Only this data folder's runs: with a shared instance (the team profile) other
    # workers' runs are alive under their own folders' locks.
    dead = instance.get_runs(
        filters=dg.RunsFilter(
            statuses=_UNFINISHED,
            tags={CLI_TAG: "cli", HOST_TAG: host, DATA_TAG: str(paths.root)},
        )
    )
    for run in dead:
        instance.report_run_failed(
            run, "The process running this productops run died (found by a later run)."
        )
        found.dead_runs.append(run.run_id)
    storage = instance.event_log_storage
    for pool in storage.get_concurrency_keys():
        info = storage.get_concurrency_info(pool)
        holders = {s.run_id for s in info.claimed_slots} | {s.run_id for s in info.pending_steps}
        for run_id in sorted(holders):
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                storage.free_concurrency_slots_for_run(run_id)
                found.freed_slots.append(run_id)
    found.removed = remove_stale_files(paths)
    found.tightened = permissions.secure(paths)
    return found


def remove_stale_files(paths: DataPaths) -> list[str]:
    """Temporary files only a crashed writer leaves: half-split batches, unrenamed
    publications and manifest entries, DuckDB spill files."""
    stale = [
        *(paths.lake / "_tmp").glob("*/*"),
        *paths.root.glob(f".{paths.serving.name}.*.tmp*"),
        *paths.manifest.glob("*/.*.tmp"),
        *(paths.root / ".duckdb_tmp").glob("*"),
    ]
    for p in stale:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    return [str(p.relative_to(paths.root)) for p in stale]
