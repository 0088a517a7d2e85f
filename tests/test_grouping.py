"""`make test` runs on two workers and keeps the tests that share an expensive session
fixture (the sample company's run, the PostgreSQL cluster, the UI) on one worker with
`--dist loadgroup`. When that grouping silently stops (pytest 9.2 with pytest-xdist 3.8,
pytest-xdist#1386), every such fixture is built once per worker and the suite takes
minutes longer, with nothing failing: this test fails instead."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.xdist_group("sample_run")


def test_a_grouped_test_carries_its_group_under_loadgroup(request: pytest.FixtureRequest) -> None:
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not run with --dist loadgroup")
    assert request.node.nodeid.endswith("@sample_run"), (
        f"{request.node.nodeid}: pytest-xdist no longer groups tests by xdist_group with this "
        "pytest; see pyproject.toml's pytest range"
    )
