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
