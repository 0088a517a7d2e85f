"""Every planted story on companies the other tests never see: 20 seeds, scales from 0.25
to 10, histories from 60 to 365 days. Each story is found exactly where it was planted
(spike, pricing emerging, NPS drop, starter lift, the under-used tool, what to fix
first, one alert each), and nothing is found where none was planted."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from productops.sample import write_sample
from productops.settings import data_paths
from tests.stories import story_problems

pytestmark = pytest.mark.slow

END = date(2026, 5, 31)  # another end than the fixtures' (2026-06-30)
# (seed, scale, days): mostly small companies, so that 20 fit in CI; the extremes of
# scale and length are each met at least once.
CASES = [
    (101, 0.25, 60), (102, 0.25, 90), (103, 0.3, 120), (104, 0.25, 365), (105, 0.4, 75),
    (106, 0.5, 60), (107, 0.35, 100), (108, 1.0, 60), (109, 0.25, 150), (110, 0.5, 90),
    (111, 0.25, 200), (112, 0.3, 60), (113, 0.75, 90), (114, 0.25, 250), (115, 1.0, 120),
    (116, 0.35, 70), (117, 2.0, 60), (118, 0.25, 80), (119, 0.5, 140), (120, 10.0, 60),
]  # fmt: skip


@pytest.mark.parametrize(
    ("seed", "scale", "days"), CASES, ids=[f"seed{c[0]}-x{c[1]}-{c[2]}d" for c in CASES]
)
def test_every_story_and_nothing_else(
    seed: int, scale: float, days: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from productops.runner import materialise

    paths = data_paths(tmp_path / "data")
    monkeypatch.setenv("PRODUCTOPS_DATA_DIR", str(paths.root))
    monkeypatch.setenv("PRODUCTOPS_PII_SALT", f"salt-{seed}")
    summary = write_sample(paths, seed=seed, scale=scale, days=days, end=END)
    st = summary.stories
    with dg.DagsterInstance.ephemeral() as instance:
        outcome = materialise(st.start, st.end, instance=instance)
    assert outcome.success, outcome.errors
    problems = story_problems(paths.serving, st, scale)
    assert not problems, "\n".join(problems)
