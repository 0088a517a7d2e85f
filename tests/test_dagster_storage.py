"""The instance productops configures keeps Dagster's storage, only faster to write."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from productops.dagster_storage import OPEN_SHARDS, PooledInstance, PooledSqliteEventLogStorage

ROOT = Path(__file__).resolve().parents[1]


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "config" / "dagster.yaml", home / "dagster.yaml")
    return home


def test_the_configured_instance_pools_its_event_log_and_stock_dagster_reads_it(
    tmp_path: Path, monkeypatch
) -> None:
    home = _home(tmp_path)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # the config must not need it
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance, PooledInstance)
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        for i in range(30):
            instance.report_runless_asset_event(dg.AssetMaterialization("a", partition=f"p{i}"))
        assert 1 <= len(storage._engines) <= OPEN_SHARDS  # reused, not one per event
        assert str(Path(storage._base_dir)).startswith(str(home))

    # Without productops' instance class, stock Dagster reads the same home.
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(home)) as stock:
        assert type(stock.event_log_storage) is SqliteEventLogStorage
        records = stock.fetch_materializations(dg.AssetKey("a"), limit=100).records
        assert sorted(r.partition_key for r in records) == sorted(f"p{i}" for i in range(30))


def test_runs_beyond_the_open_limit_close_the_oldest_files(tmp_path: Path) -> None:
    @dg.asset
    def tiny() -> int:
        return 1

    with dg.DagsterInstance.from_config(str(_home(tmp_path))) as instance:
        runs = [dg.materialize([tiny], instance=instance) for _ in range(OPEN_SHARDS + 3)]
        assert all(r.success for r in runs)
        storage = instance.event_log_storage
        assert len(storage._engines) <= OPEN_SHARDS
        for run in runs:  # every run's events are still there, open file or not
            assert instance.get_records_for_run(run.run_id).records
