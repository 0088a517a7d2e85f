"""`make bench`'s accounting: every second of a run is in exactly one layer."""

from __future__ import annotations

import pytest

from bench.__main__ import layer_seconds

PROFILE = {
    "wall_s": 9.0,  # measured inside the process: from its first import to the run's end
    "sentiment_s": 0.5,
    "steps": {
        "raw__nps": {"s": 2.0, "events_s": 0.5},
        "staging__nps_responses": {"s": 1.0, "events_s": 0.25},
        "staging__nps_responses_checks": {"s": 1.5, "events_s": 0.5},
        "marts__nps_daily_metrics_consistent": {"s": 0.25, "events_s": 0.0},
        "marts__nps_daily": {"s": 1.5, "events_s": 0.25},
        "serving__publication": {"s": 0.5, "events_s": 0.0},
    },
}


def test_each_step_counts_its_work_in_its_layer_and_its_events_as_bookkeeping() -> None:
    layers = layer_seconds(PROFILE)
    assert layers["ingest"] == 1.5
    assert layers["staging"] == 0.75
    assert layers["validation"] == 1.25  # a table's suite and a mart's invariants
    assert layers["sentiment"] == 0.5  # scored inside the mart step ...
    assert layers["marts"] == 0.75  # ... and taken out of it
    assert layers["publish"] == 0.5
    assert sum(layers.values()) == pytest.approx(9.0)


def test_bookkeeping_includes_the_start_and_exit_seen_from_outside() -> None:
    inside, outside = layer_seconds(PROFILE), layer_seconds(PROFILE, wall_s=10.0)
    assert outside["bookkeeping"] == pytest.approx(inside["bookkeeping"] + 1.0)
    assert sum(outside.values()) == pytest.approx(10.0)


def test_a_steps_event_writes_are_the_gaps_between_dagster_events_not_its_work() -> None:
    from bench.profile_run import account

    events = [
        ("RUN_START", None, 0.0),
        ("STEP_START", "staging__nps", 1.0),
        ("LOG", None, 1.5),
        ("ASSET_MATERIALIZATION", "staging__nps", 4.0),  # after 3 s of work: work
        ("ASSET_MATERIALIZATION", "staging__nps", 4.25),  # written in 0.25 s
        ("ASSET_MATERIALIZATION", "staging__nps", 4.5),
        ("STEP_OUTPUT", "staging__nps", 4.75),
        ("STEP_SUCCESS", "staging__nps", 5.0),
    ]
    got = account(events)
    assert got["first_step_at"] == 1.0
    assert got["steps"]["staging__nps"] == {"s": 4.0, "events_s": 1.0}
    assert got["event_write_s"] == 1.0
