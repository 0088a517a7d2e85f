"""`productops run`, recording where its time goes (run by `make bench`, not by users).

    python -m bench.profile_run PROFILE.json run --start D --end D

Dagster's step stats say how long each step took, but not how much of a step is the
step's own work and how much is Dagster writing its events. This runs the CLI in this
process (the job runs in-process) and then reads the run's events back through the
instance's public API: each event's timestamp is when it was stored. Within a step, an
event that follows another Dagster event with no work of the step in between (a
materialization per day, a check result per day, the step's output and end) took the
gap between them to write; the step's first event after its work carries that work.
The profile (JSON) holds:

- `wall_s`: the whole process, imports included;
- `first_step_s`: from this module's start to the first step's start (imports, loading
  the definitions, opening the instance, planning, the events before any step);
- `steps`: per step key, its seconds and the seconds of event writes inside it;
- `events`, `event_write_s`: every event of the run(s), and the time their writes took
  inside the steps (events stored outside a step count in the bookkeeping all the same);
- `days`: the days the run materialised (for events per day);
- `sentiment_s`: time in VADER scoring (inside the mart steps that score new texts).
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

STARTED = time.perf_counter()
STARTED_EPOCH = time.time()  # event timestamps are epoch seconds


# Events Dagster stores one after another, with none of the step's own work in between.
BOOKKEEPING = {
    "ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION", "STEP_OUTPUT", "HANDLED_OUTPUT",
    "STEP_SUCCESS", "STEP_FAILURE", "ASSET_MATERIALIZATION_PLANNED",
    "ASSET_CHECK_EVALUATION_PLANNED", "LOADED_INPUT", "STEP_INPUT",
}  # fmt: skip


def _records(instance, run_id: str) -> list:
    """Every event of the run, oldest first, through the instance's public API."""
    records, cursor = [], None
    while True:
        page = instance.get_records_for_run(run_id, cursor=cursor, limit=5000)
        records += page.records
        if not page.has_more:
            return records
        cursor = page.cursor


def account(events: list[tuple[str, str | None, float]]) -> dict:
    """Per step: its seconds, and the seconds its bookkeeping events took to store.

    `events` is (type, step key, stored at) in the order stored."""
    steps: dict[str, dict[str, float]] = defaultdict(lambda: {"s": 0.0, "events_s": 0.0})
    open_steps: dict[str, float] = {}
    previous: dict[str, str] = {}  # step -> type of its last event
    last_at: dict[str, float] = {}
    first_step = None
    write_s = 0.0
    for kind, step, at in events:
        if kind == "STEP_START" and step:
            open_steps[step] = at
            first_step = at if first_step is None else first_step
        elif step in open_steps:
            if kind in BOOKKEEPING and previous.get(step) in BOOKKEEPING:
                steps[step]["events_s"] += at - last_at[step]
                write_s += at - last_at[step]
            if kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
                steps[step]["s"] += at - open_steps.pop(step)
        if step:
            previous[step], last_at[step] = kind, at
    return {"steps": dict(steps), "first_step_at": first_step, "event_write_s": write_s}


def main(argv: list[str]) -> int:
    out, cli_args = Path(argv[0]), argv[1:]
    import dagster as dg

    from pipelines import cli
    from productops import sentiment

    scoring = [0.0]
    score_texts = sentiment.score_texts

    def timed_scoring(texts: list[str], workers: int = 2) -> list[float]:
        began = time.perf_counter()
        try:
            return score_texts(texts, workers)
        finally:
            scoring[0] += time.perf_counter() - began

    sentiment.score_texts = timed_scoring  # our own module: the scorer, timed in place
    code = cli.main(cli_args)
    ended = time.perf_counter()

    events: list[tuple[str, str | None, float]] = []
    days: set[str] = set()
    with dg.DagsterInstance.get() as instance:
        runs = [record.dagster_run for record in instance.get_run_records()
                if record.create_timestamp.timestamp() >= STARTED_EPOCH - 1]  # fmt: skip
        for run in runs:
            for record in _records(instance, run.run_id):
                entry = record.event_log_entry
                ev = entry.dagster_event
                events.append((ev.event_type_value if ev else "LOG",
                               ev.step_key if ev else None, entry.timestamp))  # fmt: skip
                if ev and ev.event_type_value == "ASSET_MATERIALIZATION" and ev.partition:
                    days.add(ev.partition)
    events.sort(key=lambda e: e[2])
    accounted = account(events)
    first = accounted["first_step_at"]
    profile = {
        "exit_code": code,
        "wall_s": ended - STARTED,
        "first_step_s": (first - STARTED_EPOCH) if first else ended - STARTED,
        "events": len(events),
        "event_write_s": accounted["event_write_s"],
        "days": len(days),
        "sentiment_s": scoring[0],
        "steps": accounted["steps"],
    }
    out.write_text(json.dumps(profile, indent=2))
    return code


if __name__ == "__main__":
    code = main(sys.argv[1:])
    gc.freeze()  # as the `productops` command exits (`pipelines.cli.entry`)
    sys.exit(code)
