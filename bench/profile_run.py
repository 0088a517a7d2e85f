"""`productops run`, recording where its time goes (run by `make bench`, not by users).

    python -m bench.profile_run PROFILE.json run --start D --end D

Dagster's step stats say how long each step took, but not how much of a step is the
step's own work and how much is Dagster writing its events, nor how long the process
spends before the first step. So this wraps the one door every event goes through
(`DagsterInstance.handle_new_event`) and the VADER scorer with timers, runs the CLI in
this process (the job runs in-process, so every step is seen), and writes:

- `wall_s`: the whole process, imports included;
- `first_step_s`: from this module's start to the first step's start (imports, loading
  the definitions, opening the instance, planning, the events before any step);
- `steps`: per step key, its seconds and the seconds of event writes inside it;
- `events`, `event_write_s`: every event written and the time spent writing them;
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


def main(argv: list[str]) -> int:
    out, cli_args = Path(argv[0]), argv[1:]
    import dagster as dg

    from productops import cli, sentiment

    events: list[tuple[str, str | None, float, float]] = []  # type, step, at, seconds
    original = dg.DagsterInstance.handle_new_event

    def timed_event(self, event, **kwargs):
        began = time.perf_counter()
        try:
            return original(self, event, **kwargs)
        finally:
            dagster_event = event.dagster_event
            events.append(
                (
                    dagster_event.event_type_value if dagster_event else "LOG",
                    dagster_event.step_key if dagster_event else None,
                    began,
                    time.perf_counter() - began,
                )
            )

    scoring = [0.0]
    score_texts = sentiment.score_texts

    def timed_scoring(texts: list[str], workers: int = 2) -> list[float]:
        began = time.perf_counter()
        try:
            return score_texts(texts, workers)
        finally:
            scoring[0] += time.perf_counter() - began

    dg.DagsterInstance.handle_new_event = timed_event
    sentiment.score_texts = timed_scoring
    code = cli.main(cli_args)
    ended = time.perf_counter()

    steps: dict[str, dict[str, float]] = defaultdict(lambda: {"s": 0.0, "events_s": 0.0})
    open_steps: dict[str, float] = {}
    first_step = None
    for kind, step, at, took in events:
        if kind == "STEP_START" and step:
            open_steps[step] = at
            first_step = at if first_step is None else first_step
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED") and step in open_steps:
            steps[step]["s"] += at + took - open_steps.pop(step)
        if step in open_steps or kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            steps[step or "?"]["events_s"] += took
    profile = {
        "exit_code": code,
        "wall_s": ended - STARTED,
        "first_step_s": (first_step or ended) - STARTED,
        "events": len(events),
        "event_write_s": sum(e[3] for e in events),
        "sentiment_s": scoring[0],
        "steps": dict(steps),
    }
    out.write_text(json.dumps(profile, indent=2))
    return code


if __name__ == "__main__":
    code = main(sys.argv[1:])
    gc.freeze()  # as the `productops` command exits (`pipelines.cli.entry`)
    sys.exit(code)
