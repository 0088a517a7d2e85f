"""Dagster's SQLite storage, with its event-log connections kept open.

Dagster's SQLite event log creates a SQLAlchemy engine, opens the database file and
disposes of both for every statement: an asset event costs two or three of those
(its run's file, the cross-run index, the check or asset tables). A backfill writes
thousands of events (a materialization per asset and day, a check evaluation per check
and day), which made the event log about a fifth of a scale-10 backfill. Measured on
the development machine: 7.7 ms per materialization event as shipped, 2.2 ms with
pooled connections (`make bench` reports the effect on a whole run).

This keeps one engine, with its connection pool, per database file it touches (the
index, and the latest few runs' files), and changes nothing else: same files, same
schema and the same durability (SQLite's defaults), so the stock storage, the webserver
and `dagster` CLI read and write the same instance. There is no setting for this in
Dagster, hence a subclass of its private `_connect`; the tests run every Dagster feature
productops uses through it. `PooledInstance` puts it in place.

Schema questions: before most asset and check events Dagster's SQLite storage asks
whether a table exists (a new engine and connection to the index each time) and reads
the asset table's columns. Here a table or column found once is not asked about again:
in a 90-day backfill that took event writes from 8.1 s to 4.8 s.

Serialising: Dagster's SQL event log serialises the event it stores for each table
that keeps a copy (the run's log, the check executions table, once per planned
partition of a check, and the asset table's latest materialization, wrapped in an
`EventLogRecord`). While this storage stores an event, its serialisation is made
once and reused (`_serialize_once`, in place of the module's `serialize_value`); the
result is the same string, made by the same function.

Bulk writes: a batch of one run's asset events (a step's per-day materializations, the
run's planned materializations) or check evaluations (productops files a multi-day
check's result on each day, `assets/checks.report_per_day`) is written with one
statement per table, as the stock storage would write each event (`_store_in_bulk`);
the tests compare the rows with stock Dagster's. A 90-day backfill's event writes:
4.0 s -> 1.7 s.

Batches: Dagster hands a storage the events of one batch together (a run's planned
events, a step's per-partition materializations and, from productops' checks, their
per-day evaluations) when its event batch size is set, but the SQLite storage still
commits them one by one: two or three commits, each a sync to disk, per event. Here a
batch is one transaction per database file, so a 90-day backfill commits a step's 90
materializations once. A batch that fails is rolled back whole and Dagster stores its
events one by one instead (its own fallback).
"""

from __future__ import annotations

import os
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from dagster import DagsterInstance
from dagster._core.events import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log import sql_event_log
from dagster._core.storage.event_log.base import EventLogRecord
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable as Checks
from dagster._core.storage.event_log.schema import AssetKeyTable as AssetKeys
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable as EventLogs
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

# Run files stay open while in use; older ones are closed (a webserver reads many runs).
OPEN_SHARDS = 8
# Events Dagster buffers per batch before it hands them over (a batch ends sooner at its
# last event): a 365-day step's materializations in one or two transactions.
EVENT_BATCH_SIZE = 200


CHECK_EVALUATION = DagsterEventType.ASSET_CHECK_EVALUATION
BULK_ASSET_EVENTS = {
    DagsterEventType.ASSET_MATERIALIZATION,
    DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
}
SUCCEEDED, FAILED = (
    AssetCheckExecutionRecordStatus.SUCCEEDED,
    AssetCheckExecutionRecordStatus.FAILED,
)

_storing = threading.local()  # the event this thread is storing, with its serialisation
_serialize_value = sql_event_log.serialize_value


def _serialize_once(value: Any, *args: Any, **kwargs: Any) -> str:
    held = getattr(_storing, "event", None)
    if held is None or args or kwargs:
        return _serialize_value(value, *args, **kwargs)
    if value is held[0]:
        return held[1]
    if type(value) is EventLogRecord and value.event_log_entry is held[0]:
        # The asset table's copy of the latest materialization: the event in a record.
        # serdes writes a record's fields in name order, so this is the same text.
        return f'{{"__class__": "EventLogRecord", "event_log_entry": {held[1]}, "storage_id": {int(value.storage_id)}}}'
    return _serialize_value(value, *args, **kwargs)


sql_event_log.serialize_value = _serialize_once  # consults `_storing` only; see the module


@contextmanager
def _holding(event: EventLogEntry, text: str) -> Iterator[None]:
    """While storing `event`, `_serialize_once` answers with `text` for it."""
    _storing.event = (event, text)
    try:
        yield
    finally:
        _storing.event = None


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` with an engine per shard kept open (see the module)."""

    def __init__(self, base_dir: str, inst_data=None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._batch = threading.local()  # the open batch's connection per shard, if any
        self._tables: set[str] = set()  # tables found in the index; they stay until a wipe
        self._asset_key_index_cols = False
        super().__init__(base_dir, inst_data)

    def store_event(self, event: EventLogEntry) -> None:
        with _holding(event, _serialize_value(event)):
            super().store_event(event)

    def has_table(self, table_name: str) -> bool:
        """Dagster asks before writing most asset and check events, each time with a new
        engine and connection to the index: a quarter of the event log's time in a
        backfill (profiled). A table found once is there for the process's life."""
        if table_name in self._tables:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables.add(table_name)
        return found

    def _has_asset_key_index_cols_on_connection(self, conn: Connection) -> bool:
        """Asked (by reading the table's columns) before every asset event; a migrated
        index stays migrated."""
        if not self._asset_key_index_cols:
            self._asset_key_index_cols = super()._has_asset_key_index_cols_on_connection(conn)
        return self._asset_key_index_cols

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(
            self.conn_string_for_shard(shard),
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        )
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > OPEN_SHARDS:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        batch: dict[str, Connection] | None = getattr(self._batch, "connections", None)
        if batch is None:
            with self._db_lock, self._engine(shard).connect() as conn, conn.begin():
                yield conn
            return
        conn = batch.get(shard)  # in a batch: the lock is held, the transaction open
        if conn is None:
            conn = batch[shard] = self._engine(shard).connect()
            conn.begin()
        yield conn

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        with self._db_lock:
            batch: dict[str, Connection] = {}
            self._batch.connections = batch
            try:
                if not self._store_in_bulk(events):
                    for event in events:
                        self.store_event(event)
                for conn in batch.values():  # the run's file first: the index mirrors it
                    conn.commit()
            finally:
                self._batch.connections = None
                for conn in batch.values():
                    conn.close()  # rolls back what was not committed

    def _store_in_bulk(self, events: Sequence[EventLogEntry]) -> bool:
        """A batch of one run's asset events (a step's per-day materializations, a run's
        planned materializations) or per-day check evaluations, written as Dagster's
        SQLite storage writes each in `store_event`, but with one statement per table for
        the batch instead of two to four per event. False, having written nothing, for
        any other batch, or for check results without a planned row to update.

        A 90-day backfill stores some 7,000 such events (3,500 of them per-day check
        results, `assets/checks.report_per_day`); one by one they were most of its event
        log's time. The tests store the same runs with stock Dagster and compare the rows.
        """
        kinds = {e.dagster_event_type for e in events}
        if len({e.run_id for e in events}) != 1 or not events[0].run_id:
            return False
        if kinds == {CHECK_EVALUATION}:
            evaluations = [e.dagster_event.asset_check_evaluation_data for e in events]
            if not self._planned_once(events[0].run_id, evaluations):
                return False
        elif not kinds <= BULK_ASSET_EVENTS or any(
            e.dagster_event.asset_key is None for e in events
        ):
            return False
        texts = [_serialize_value(e) for e in events]
        rows = []
        for event, text in zip(events, texts, strict=True):
            with _holding(event, text):
                rows.append(self._event_to_row(event))
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(sa.insert(EventLogs), rows)
        with self.index_connection() as conn:
            ids = conn.execute(
                sa.insert(EventLogs).returning(EventLogs.c.id, sort_by_parameter_order=True),
                rows,
            ).scalars().all()  # fmt: skip
            if kinds == {CHECK_EVALUATION}:
                self._update_check_executions(conn, events, evaluations, rows, ids)
            else:
                self._store_asset_event_tags(conn, events, ids)
                self._store_asset_entries(conn, events, texts, ids)
        return True

    def _planned_once(self, run_id: str, evaluations: list[Any]) -> bool:
        """Each evaluation has exactly one planned row of this run to update (as Dagster's
        `_update_asset_check_evaluation` expects), and a day."""
        if any(e.partition is None for e in evaluations):
            return False
        targets = [(e.asset_key.to_string(), e.check_name, e.partition) for e in evaluations]
        with self.index_connection() as conn:
            planned = Counter(
                tuple(row)
                for row in conn.execute(
                    sa.select(Checks.c.asset_key, Checks.c.check_name, Checks.c.partition).where(
                        Checks.c.run_id == run_id,
                        Checks.c.asset_key.in_({t[0] for t in targets}),
                        Checks.c.check_name.in_({t[1] for t in targets}),
                    )
                )
            )
        return len(set(targets)) == len(targets) and all(planned[t] == 1 for t in targets)

    def _update_check_executions(
        self,
        conn: Connection,
        events: Sequence[EventLogEntry],
        evaluations: list[Any],
        rows: list[dict[str, Any]],
        ids: Sequence[int],
    ) -> None:
        """`_update_asset_check_evaluation` for every evaluation, in one statement."""
        conn.execute(
            sa.update(Checks)
            .where(
                Checks.c.asset_key == sa.bindparam("b_asset_key"),
                Checks.c.check_name == sa.bindparam("b_check_name"),
                Checks.c.run_id == sa.bindparam("b_run_id"),
                Checks.c.partition == sa.bindparam("b_partition"),
            )
            .values(
                execution_status=sa.bindparam("b_status"),
                evaluation_event=sa.bindparam("b_event"),
                evaluation_event_timestamp=sa.bindparam("b_timestamp"),
                evaluation_event_storage_id=sa.bindparam("b_event_id"),
                materialization_event_storage_id=sa.bindparam("b_materialization_id"),
                partition=sa.bindparam("b_partition"),
            ),
            [
                {
                    "b_asset_key": evaluation.asset_key.to_string(),
                    "b_check_name": evaluation.check_name,
                    "b_run_id": event.run_id,
                    "b_partition": evaluation.partition,
                    "b_event": row["event"],
                    "b_status": (SUCCEEDED if evaluation.passed else FAILED).value,
                    "b_timestamp": row["timestamp"],
                    "b_event_id": event_id,
                    "b_materialization_id": evaluation.target_materialization_data.storage_id
                    if evaluation.target_materialization_data
                    else None,
                }
                for event, evaluation, row, event_id in zip(
                    events, evaluations, rows, ids, strict=True
                )
            ],
        )

    def _store_asset_entries(
        self,
        conn: Connection,
        events: Sequence[EventLogEntry],
        texts: list[str],
        ids: Sequence[int],
    ) -> None:
        """`_store_asset_event` for every event: each sets some columns of its asset's row
        (inserted by the first, updated by the rest), so the row ends with each column's
        last value. Here those are merged first and each asset's row written once."""
        has_cols = self._has_asset_key_index_cols_on_connection(conn)
        merged: dict[str, dict[str, Any]] = {}
        for event, text, event_id in zip(events, texts, ids, strict=True):
            with _holding(event, text):
                values = self._get_asset_entry_values(event, event_id, has_cols)
            if values:
                merged.setdefault(event.dagster_event.asset_key.to_string(), {}).update(values)
        for asset_key, values in merged.items():
            try:
                conn.execute(AssetKeys.insert().values(asset_key=asset_key, **values))
            except IntegrityError:
                conn.execute(
                    AssetKeys.update().values(**values).where(AssetKeys.c.asset_key == asset_key)
                )

    def delete_events(self, run_id: str) -> None:
        with self._db_lock:
            engine = self._engines.pop(run_id, None)
        if engine is not None:
            engine.dispose()
        super().delete_events(run_id)

    def wipe(self) -> None:
        self.dispose_engines()
        super().wipe()
        self._tables.clear()

    def dispose_engines(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def dispose(self) -> None:
        self.dispose_engines()
        super().dispose()


class PooledInstance(DagsterInstance):
    """A Dagster instance whose default SQLite event log is the pooled one.

    Named as `instance_class` in config/dagster.yaml: a custom instance class is Dagster's
    documented way to change how an instance is built, and unlike a `storage:` entry it
    needs no path (the instance keeps its storage in its own home, wherever that is, as
    the default does). Any other event storage (PostgreSQL) is used as configured.
    """

    @classmethod
    def config_schema(cls) -> dict:
        return {}  # no settings of its own

    @classmethod
    def config_defaults(cls, base_dir: str) -> Any:
        return InstanceRef.config_defaults(base_dir)  # the default storage, in this home

    def __init__(self, *args: Any, event_storage: Any = None, **kwargs: Any) -> None:
        if type(event_storage) is SqliteEventLogStorage:
            event_storage = PooledSqliteEventLogStorage(event_storage._base_dir)
        super().__init__(*args, event_storage=event_storage, **kwargs)

    def _get_event_batch_size(self) -> int:
        """Batches on by default (Dagster's `DAGSTER_EVENT_BATCH_SIZE` still rules if set)."""
        setting = os.getenv("DAGSTER_EVENT_BATCH_SIZE")
        return int(setting) if setting else EVENT_BATCH_SIZE
