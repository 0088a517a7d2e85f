"""Shared fixtures: a data folder per test, and one small sample company run end to end."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

# The fixtures are dated 2024-2026: partitions must start before them (see the file).
os.environ.setdefault("PRODUCTOPS_SETTINGS", str(Path(__file__).with_name("productops.toml")))

from productops.sample import SampleSummary, write_sample
from productops.settings import DataPaths, data_paths
from tests.services import PostgresCluster, S3Server, postgres_cluster, s3_server

SAMPLE_END = date(2026, 6, 30)
SAMPLE_DAYS = 90
SAMPLE_SCALE = 0.25
SALT = "test-salt"

warnings.filterwarnings("ignore", category=UserWarning, module="dagster")


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataPaths:
    """An empty data folder, set as the one the code resolves by default."""
    monkeypatch.setenv("PRODUCTOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PRODUCTOPS_PII_SALT", SALT)
    return data_paths()


class SampleRun:
    """The sample company, written and materialised once for the whole session."""

    def __init__(self, root: Path) -> None:
        self.paths = data_paths(root)
        self.summary: SampleSummary | None = None
        # Every check result of the run: (check, partition or None, passed, metadata).
        self.check_results: list[tuple[dg.AssetCheckKey, str | None, bool, dict]] = []
        # The latest materialization's metadata of each mart, as the UI plots it.
        self.mart_metadata: dict[str, dict] = {}
        # Per asset, per day of the run: the metadata names its materialization carries.
        self.metadata_names: dict[str, dict[str | None, set[str]]] = {}

    @property
    def start(self) -> date:
        assert self.summary is not None
        return self.summary.stories.start

    @property
    def end(self) -> date:
        assert self.summary is not None
        return self.summary.stories.end


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleRun]:
    from pipelines.runner import materialise

    run = SampleRun(tmp_path_factory.mktemp("sample") / "data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRODUCTOPS_DATA_DIR", str(run.paths.root))
        mp.setenv("PRODUCTOPS_PII_SALT", SALT)
        run.summary = write_sample(
            run.paths, seed=7, scale=SAMPLE_SCALE, days=SAMPLE_DAYS, end=SAMPLE_END
        )
        with dg.DagsterInstance.ephemeral() as instance:
            outcome = materialise(run.start, run.end, instance=instance)
            for key in instance.get_asset_keys():
                event = instance.get_latest_materialization_event(key)
                if key.path[0] == "marts" and event and event.asset_materialization:
                    run.mart_metadata[key.path[1]] = dict(event.asset_materialization.metadata)
                for record in instance.fetch_materializations(key, limit=10_000).records:
                    done = record.asset_materialization
                    if done is not None:
                        names = run.metadata_names.setdefault(key.to_user_string(), {})
                        names[done.partition] = set(done.metadata)
            evaluations = instance.get_records_for_run(
                outcome.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=10_000
            ).records
            for record in evaluations:
                e = record.event_log_entry.dagster_event.asset_check_evaluation_data
                key = dg.AssetCheckKey(e.asset_key, e.check_name)
                run.check_results.append((key, e.partition, e.passed, dict(e.metadata)))
        assert outcome.success, outcome.errors
        yield run


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """One PostgreSQL cluster per test session (per xdist worker); a database per test."""
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """One S3-compatible server (moto) per test session; buckets per test."""
    with s3_server() as server:
        yield server


# Tests that use one of these session fixtures are slow (it runs the pipeline or starts a
# server) and run on the worker that built it: marked here, so no test can forget.
SHARED_FIXTURE_GROUPS = {"sample_run": "sample_run", "postgres": "postgres"}

# The units of work that take longest (an xdist group, or a module), longest first, as
# measured on 2 cores (worker-seconds: 244, 206, 178, 75, 54). Started first, they end
# while the other worker still has short tests to take; started last, one idles for minutes.
LONGEST_FIRST = ["sample_run", "postgres", "test_torture.py", "browser", "held_sources"]


def _unit(item: pytest.Item) -> str:
    group = item.get_closest_marker("xdist_group")
    return group.args[0] if group else item.path.name


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the users of shared fixtures, then order the tests longest unit first.

    `make test` runs pytest-xdist with `--no-loadscope-reorder`, so the workers take the
    units in this order: the known long ones, then the other slow tests, then the rest
    (a sort is stable, so each keeps its collection order within)."""
    for item in items:
        for fixture, group in SHARED_FIXTURE_GROUPS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.slow)
                item.add_marker(pytest.mark.xdist_group(group))

    def cost(item: pytest.Item) -> tuple[int, bool]:
        unit = _unit(item)
        rank = LONGEST_FIRST.index(unit) if unit in LONGEST_FIRST else len(LONGEST_FIRST)
        return rank, item.get_closest_marker("slow") is None

    items.sort(key=cost)
