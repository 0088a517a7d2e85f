"""The instance productops configures keeps Dagster's storage, only faster to write."""

from __future__ import annotations

import shutil
import sqlite3
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


DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-31")


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def daily() -> None:
    return None  # one run over the range: a materialization per day, as one batch


def _materialize_january(
    instance: dg.DagsterInstance, assets: list | None = None
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets or [daily],
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "2026-01-01",
            "dagster/asset_partition_range_end": "2026-01-30",
        },
    )


def _january(instance: dg.DagsterInstance) -> list[str]:
    records = instance.fetch_materializations(daily.key, limit=1000).records
    return sorted(r.partition_key for r in records)


def test_a_steps_materializations_are_committed_together(tmp_path: Path) -> None:
    from sqlalchemy import event

    with dg.DagsterInstance.from_config(str(_home(tmp_path))) as instance:
        storage = instance.event_log_storage
        commits: list[str] = []
        engine = storage._engine
        seen: set[int] = set()

        def counting(shard: str):
            found = engine(shard)
            if id(found) not in seen:
                seen.add(id(found))
                event.listen(found, "commit", lambda conn: commits.append(shard))
            return found

        storage._engine = counting
        assert _materialize_january(instance).success
        assert _january(instance) == [f"2026-01-{d:02d}" for d in range(1, 31)]
        # 30 planned and 30 materialization events, two or three commits each one by
        # one; batched, the run writes fewer commits than it has days.
        assert len(commits) < 30


def test_a_batch_that_fails_is_stored_once_event_by_event(tmp_path: Path, monkeypatch) -> None:
    failed = []
    store_entries = PooledSqliteEventLogStorage._store_asset_entries

    def fail_once(self, conn, events, texts, ids):  # the last write of a batch
        if not failed and getattr(self._batch, "connections", None):
            failed.append(events)
            raise OSError("disk hiccup")
        return store_entries(self, conn, events, texts, ids)

    monkeypatch.setattr(PooledSqliteEventLogStorage, "_store_asset_entries", fail_once)
    with dg.DagsterInstance.from_config(str(_home(tmp_path))) as instance:
        assert _materialize_january(instance).success
        assert failed  # a batch did fail, was rolled back, and Dagster stored it singly
        assert _january(instance) == [f"2026-01-{d:02d}" for d in range(1, 31)]  # no doubles


def test_the_index_schema_is_asked_once_and_event_tags_still_written(
    tmp_path: Path, monkeypatch
) -> None:
    asked: list[str] = []
    has_table = SqliteEventLogStorage.has_table

    def counted(self, table_name: str) -> bool:
        asked.append(table_name)
        return has_table(self, table_name)

    monkeypatch.setattr(SqliteEventLogStorage, "has_table", counted)
    with dg.DagsterInstance.from_config(str(_home(tmp_path))) as instance:
        asked.clear()
        assert _materialize_january(instance).success
        assert asked.count("asset_event_tags") <= 1  # Dagster alone asks before every event
        key = dg.AssetKey("tagged")
        for i in range(3):
            instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    key, partition=f"p{i}", tags={"dagster/data_version": f"v{i}"}
                )
            )
        tags = instance.get_event_tags_for_asset(key)
        assert sorted(t["dagster/data_version"] for t in tags) == ["v0", "v1", "v2"]
        instance.wipe()  # a wiped index is asked again, and written again
        instance.report_runless_asset_event(dg.AssetMaterialization(key, partition="p9"))
        assert _january(instance) == []
        assert instance.fetch_materializations(key, limit=10).records


@dg.asset_check(asset=daily, partitions_def=DAYS, blocking=True)
def daily_ok() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def test_each_stored_event_is_serialised_once(tmp_path: Path, monkeypatch) -> None:
    """Stock Dagster serialises a planned check event once per partition and a check
    evaluation twice; here every event is serialised once, to the same text."""
    from dagster._core.events.log import EventLogEntry
    from dagster._core.storage.event_log.base import EventLogRecord
    from dagster._serdes import deserialize_value

    from productops import dagster_storage

    serialised: list[EventLogEntry] = []  # kept alive, so that their ids are unique
    real = dagster_storage._serialize_value

    wrapped: list[EventLogRecord] = []

    def counted(value, *args, **kwargs):
        if isinstance(value, EventLogEntry):
            serialised.append(value)
        if isinstance(value, EventLogRecord):
            wrapped.append(value)
        return real(value, *args, **kwargs)

    monkeypatch.setattr(dagster_storage, "_serialize_value", counted)
    with dg.DagsterInstance.from_config(str(_home(tmp_path))) as instance:
        result = dg.materialize(
            [daily, daily_ok],
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "2026-01-01",
                "dagster/asset_partition_range_end": "2026-01-30",
            },
        )
        assert result.success
        assert len({id(e) for e in serialised}) == len(serialised) > 60  # 30 planned, ...
        records = instance.get_records_for_run(result.run_id, limit=1000).records
        assert len(records) == len(serialised)  # every event stored, and read back
        key = dg.AssetCheckKey(daily.key, "daily_ok")
        history = instance.event_log_storage.get_asset_check_execution_history(key, limit=100)
        assert history and all(r.event is not None for r in history)
        # The asset table's copy of the latest materialization is made from the event's
        # text, not serialised again, and is the text Dagster would have written.
        assert wrapped == []
        (text,) = (
            sqlite3.connect(tmp_path / "dagster_home" / "history" / "runs" / "index.db")
            .execute("SELECT last_materialization FROM asset_keys")
            .fetchone()
        )
        record = deserialize_value(text, EventLogRecord)
        assert real(record) == text
        assert record.event_log_entry.dagster_event.partition == "2026-01-30"


def _stock_and_pooled(tmp_path: Path) -> list[tuple[str, Path]]:
    """Two Dagster homes: stock Dagster's SQLite storage, and the one productops configures."""
    stock, pooled = tmp_path / "stock", tmp_path / "pooled"
    for home in (stock, pooled):
        home.mkdir()
    (stock / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    shutil.copy(ROOT / "config" / "dagster.yaml", pooled / "dagster.yaml")
    return [("stock", stock), ("pooled", pooled)]


@dg.asset_check(asset=daily, partitions_def=DAYS, blocking=False)
def daily_per_day(context) -> dg.AssetCheckResult:
    """As productops' checks do: each day's outcome filed on its partition, in one batch."""
    from datetime import date, timedelta

    from assets.checks import report_per_day
    from productops.quality.results import CheckOutcome, DayOutcome

    days = [date(2026, 1, 1) + timedelta(days=k) for k in range(30)]
    outcome = CheckOutcome(
        "daily_per_day", "WARN", "none", [DayOutcome(d, d.day % 7 != 0, float(d.day)) for d in days]
    )
    report_per_day(context, daily.key, outcome, dg.AssetCheckSeverity.WARN, blocking=False)
    return dg.AssetCheckResult(passed=outcome.passed)


def _check_rows(home: Path) -> list[tuple]:
    """Every check execution row, with the event it points to read back from the index."""
    with sqlite3.connect(home / "history" / "runs" / "index.db") as con:
        rows = con.execute(
            """SELECT c.check_name, c.partition, c.execution_status,
                      e.dagster_event_type, e.partition, e.event = c.evaluation_event,
                      m.partition, c.evaluation_event IS NOT NULL
               FROM asset_check_executions c
               LEFT JOIN event_logs e ON e.id = c.evaluation_event_storage_id
               LEFT JOIN event_logs m ON m.id = c.materialization_event_storage_id
               ORDER BY 1, 2"""
        ).fetchall()
    return rows


def test_a_batch_of_per_day_check_results_is_stored_as_dagster_stores_each(
    tmp_path: Path, monkeypatch
) -> None:
    """The storage writes a batch of one run's per-day check evaluations with a statement
    per table; stock Dagster, one event at a time, must end with the same rows."""
    from dagster._core.storage.event_log import sql_event_log

    stored_alone = []
    real = sql_event_log.SqlEventLogStorage._update_asset_check_evaluation

    def counted(self, event, event_id):
        stored_alone.append(event.dagster_event.partition)
        return real(self, event, event_id)

    monkeypatch.setattr(sql_event_log.SqlEventLogStorage, "_update_asset_check_evaluation", counted)
    found = {}
    for name, home in _stock_and_pooled(tmp_path):
        stored_alone.clear()
        with dg.DagsterInstance.from_config(str(home)) as instance:
            result = _materialize_january(instance, [daily, daily_per_day])
            assert result.success
            key = dg.AssetCheckKey(daily.key, "daily_per_day")
            info = instance.event_log_storage.get_asset_check_partition_info([key])
            statuses = {i.partition_key: i.latest_execution_status.value for i in info}
            history = instance.event_log_storage.get_asset_check_execution_history(key, limit=100)
        found[name] = (_check_rows(home), statuses, len(history), len(stored_alone))
    stock, pooled = found["stock"], found["pooled"]
    assert pooled[:3] == stock[:3]
    assert stock[3] >= 30 and pooled[3] < 30  # the batch took the bulk path here
    statuses = pooled[1]
    assert statuses["2026-01-07"] == "FAILED" and statuses["2026-01-08"] == "SUCCEEDED"
    rows = [r for r in pooled[0] if r[1] is not None and r[0] == "daily_per_day"]
    assert len(rows) == 30 and all(r[3] == "ASSET_CHECK_EVALUATION" and r[5] for r in rows)
    assert all(r[1] == r[6] for r in rows), rows[:3]  # its own day's materialization


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def tagged_daily(context) -> dg.MaterializeResult:
    """Per-day materializations carrying a data version, which the index's tags keep."""
    for key in context.partition_keys:
        context.add_asset_metadata({"day": key}, partition_key=key)
    return dg.MaterializeResult(data_version=dg.DataVersion("v1"))


def _asset_rows(home: Path) -> dict[str, list[tuple]]:
    """The index's asset tables, without the ids and times two instances cannot share."""
    with sqlite3.connect(home / "history" / "runs" / "index.db") as con:
        events = con.execute(
            "SELECT dagster_event_type, asset_key, partition, count(*) FROM event_logs"
            " WHERE asset_key IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        ).fetchall()
        keys = con.execute(
            """SELECT k.asset_key, k.last_run_id IS NOT NULL, e.dagster_event_type, e.partition,
                      json_extract(k.last_materialization, '$.__class__'),
                      k.last_materialization_timestamp IS NOT NULL
               FROM asset_keys k
               LEFT JOIN event_logs e
                 ON e.id = json_extract(k.last_materialization, '$.storage_id')
               ORDER BY 1"""
        ).fetchall()
        tags = con.execute(
            "SELECT t.asset_key, t.key, t.value, e.partition FROM asset_event_tags t"
            " JOIN event_logs e ON e.id = t.event_id ORDER BY 1, 2, 3, 4"
        ).fetchall()
    return {"events": events, "keys": keys, "tags": tags}


def test_a_batch_of_asset_events_is_stored_as_dagster_stores_each(
    tmp_path: Path, monkeypatch
) -> None:
    """A run's planned materializations and a step's per-day materializations are
    written a statement per table; stock Dagster, one event at a time, must end with the
    same events, asset rows (the latest materialization, as a record) and tags."""
    stored_alone = []
    real = SqliteEventLogStorage._store_asset_event

    def counted(self, conn, event, event_id):
        stored_alone.append(event)
        return real(self, conn, event, event_id)

    monkeypatch.setattr(SqliteEventLogStorage, "_store_asset_event", counted)
    found = {}
    for name, home in _stock_and_pooled(tmp_path):
        stored_alone.clear()
        with dg.DagsterInstance.from_config(str(home)) as instance:
            for _ in range(2):  # the second run updates rows the first one wrote
                assert _materialize_january(instance, [tagged_daily]).success
            latest = instance.get_latest_materialization_event(tagged_daily.key)
            assert latest is not None and latest.dagster_event.partition == "2026-01-30"
            record = instance.fetch_materializations(tagged_daily.key, limit=1).records[0]
            assert record.asset_materialization.metadata["day"].value == "2026-01-30"
        found[name] = (_asset_rows(home), len(stored_alone))
    stock, pooled = found["stock"], found["pooled"]
    assert pooled[0] == stock[0]
    assert stock[1] >= 120 and pooled[1] == 0  # every event of both runs went in bulk here
    events, keys, tags = (pooled[0][k] for k in ("events", "keys", "tags"))
    assert ("ASSET_MATERIALIZATION", '["tagged_daily"]', "2026-01-07", 2) in events
    assert keys == [
        ('["tagged_daily"]', 1, "ASSET_MATERIALIZATION", "2026-01-30", "EventLogRecord", 1)
    ]
    assert len(tags) >= 60 and {t[1] for t in tags} >= {"dagster/data_version"}
