"""The team profile's warehouse: a DuckLake, written by several workers at once.

On one machine the warehouse is one DuckDB file that one process writes at a time. A
team's warehouse is a DuckLake: its catalog in PostgreSQL, its data files in a folder
or on an object store, so that several Dagster workers write different partitions at
once. It is chosen by the environment, so that the same code and the same Dagster
definitions run either way:

- `PRODUCTOPS_WAREHOUSE_CATALOG`: the DuckLake catalog, e.g.
  `postgres:dbname=productops host=db.internal user=productops` (the password from
  `PGPASSWORD` or `~/.pgpass`, as libpq reads it; never in this string), or a local
  `catalog.ducklake` file for one machine;
- `PRODUCTOPS_WAREHOUSE_DATA`: where its data files go, a folder or `s3://bucket/prefix`;
- for `s3://`, the object store's settings of `productops.objectstore`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb

from productops import extensions, sql
from productops.objectstore import ObjectStore
from productops.quoting import literal
from productops.settings import DataPaths

CATALOG_ENV = "PRODUCTOPS_WAREHOUSE_CATALOG"
DATA_ENV = "PRODUCTOPS_WAREHOUSE_DATA"
ALIAS = "warehouse"


@dataclass(frozen=True)
class Lakehouse:
    """A DuckLake warehouse: `catalog` (see the module) and its `data_path`."""

    catalog: str
    data_path: str

    @classmethod
    def from_env(cls) -> Lakehouse | None:
        catalog = os.environ.get(CATALOG_ENV)
        if not catalog:
            return None
        data = os.environ.get(DATA_ENV)
        if not data:
            raise ValueError(f"{CATALOG_ENV} is set but {DATA_ENV} (where data files go) is not")
        return cls(catalog, data)

    @property
    def on_object_store(self) -> bool:
        return self.data_path.startswith("s3://")

    def attach(self, con: duckdb.DuckDBPyConnection, *, read_only: bool = False) -> None:
        """Attach the DuckLake as `warehouse` and make it the default catalog of `con`."""
        needed = ["ducklake"]
        if self.catalog.startswith("postgres:"):
            needed.append("postgres_scanner")
        extensions.load(con, *needed)
        if self.on_object_store:
            ObjectStore.from_env().register(con)
        options = [f"DATA_PATH {literal(self.data_path)}"]
        if read_only:
            options.append("READ_ONLY")
        con.execute(
            f"ATTACH {literal('ducklake:' + self.catalog)} AS {ALIAS} ({', '.join(options)})"
        )
        con.execute(f"USE {ALIAS}")

    def attach_snapshot(self, con: duckdb.DuckDBPyConnection, alias: str) -> int:
        """Attach the warehouse as of its newest snapshot, read-only, as `alias`: what a
        publication reads stays one consistent state while workers go on writing."""
        (snapshot,) = con.execute(f"FROM ducklake_current_snapshot('{ALIAS}')").fetchone()
        con.execute(
            f"ATTACH {literal('ducklake:' + self.catalog)} AS {alias} "
            f"(SNAPSHOT_VERSION {int(snapshot)}, READ_ONLY)"
        )
        return int(snapshot)


def warehouse_exists(paths: DataPaths) -> bool:
    """Whether there is a warehouse to open (a DuckLake's catalog is assumed to be)."""
    return Lakehouse.from_env() is not None or paths.warehouse.exists()


@contextmanager
def open_warehouse(
    paths: DataPaths,
    *,
    salt: str | None,
    read_only: bool = False,
    memory_limit: str | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse: the DuckDB file `paths.warehouse`, or the DuckLake the environment
    names, attached as the default catalog; with the shared macros either way."""
    lake = Lakehouse.from_env()
    target = ":memory:" if lake else paths.warehouse
    with sql.connect(
        target, read_only=read_only and not lake, salt=salt, memory_limit=memory_limit
    ) as con:
        if lake:
            lake.attach(con, read_only=read_only)
        yield con
