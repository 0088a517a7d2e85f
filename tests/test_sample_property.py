"""The sample company is written for any seed, scale and length a user may ask for."""

from __future__ import annotations

import json
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from productops.sample import write_sample
from productops.settings import SOURCES, DataPaths


def _written(root: Path, seed: int, scale: float, days: int, end: date) -> None:
    paths = DataPaths(root)
    summary = write_sample(paths, seed=seed, scale=scale, days=days, end=end)
    assert summary.stories.end == end
    assert summary.stories.start == end - timedelta(days=days - 1)
    for source in SOURCES:
        files = [f for f in paths.landing_dir(source).rglob("*") if f.is_file()]
        assert files, f"{source}: no landing file written"
        assert summary.records[source] > 0
    channels = {f.name.rsplit("_", 1)[0] for f in paths.landing_dir("social").glob("*.jsonl")}
    # Rewritten reviews' tombstones come only when a review is rewritten on a later day.
    assert channels - {"appstore_rewrites"} == {
        "hn_search_by_date", "reddit", "bluesky", "mastodon", "appstore_reviews"}  # fmt: skip
    stories = json.loads((root / "sample_stories.json").read_text())
    assert stories["start"] <= stories["incident"] <= stories["end"]
    assert stories["start"] <= stories["app_update_de"] <= stories["end"]


# The writer's time is about scale x days: a large company is drawn over a short window
# and a long window for a small one, so both extremes are met without paying for both
# at once (scale 10 over two weeks is the slow test below).
COMPANY_DAYS = 30


@st.composite
def sizes(draw: st.DrawFn) -> tuple[float, int]:
    scale = draw(st.sampled_from([0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0]))
    return scale, draw(st.integers(14, max(14, min(120, int(COMPANY_DAYS / scale)))))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(seed=8058, size=(0.01, 92), end=date(2024, 6, 1))  # a rare tool's empty chunk
@given(
    seed=st.integers(0, 10**6),
    size=sizes(),
    end=st.dates(date(2024, 3, 1), date(2026, 11, 1)),
)
def test_any_seed_scale_and_length_writes_a_whole_company(
    seed: int, size: tuple[float, int], end: date
) -> None:
    scale, days = size
    with tempfile.TemporaryDirectory() as tmp:
        _written(Path(tmp) / "data", seed, scale, days, end)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 5])
def test_ten_times_the_company_over_two_weeks(tmp_path: Path, seed: int) -> None:
    """Scale 10 over 14 days failed for several seeds (an Object-typed comment column)."""
    _written(tmp_path / "data", seed, 10.0, 14, date(2026, 10, 31))
