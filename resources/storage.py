"""Where the data lives: the landing folder and raw lake, and the DuckDB warehouse."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from productops import lakehouse, permissions, sql
from productops.settings import DataPaths, data_paths, pii_salt

# Commits a DuckLake warehouse may refuse a step (another worker wrote the same table
# first) before the step fails.
CONFLICT_RETRIES = 10


class DataFolder(dg.ConfigurableResource):
    """The data folder: `data_dir`, else `$PRODUCTOPS_DATA_DIR`, else `./data`."""

    data_dir: str | None = None

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        permissions.private_umask()  # runs launched from the UI write owner-only files too

    @property
    def paths(self) -> DataPaths:
        return data_paths(self.data_dir)


class DuckDBWarehouse(dg.ConfigurableResource):
    """The pipeline's own DuckDB file (BI reads the serving copy, never this one).

    `pii_salt` hashes people; when unset it comes from `$PRODUCTOPS_PII_SALT`, else a
    salt generated once into the data folder (git-ignored).
    """

    data_dir: str | None = None
    pii_salt: str | None = None
    # DuckDB spills to data/.duckdb_tmp beyond this. With Python's own share (GX's pandas
    # frames, VADER's workers) a scale-10 backfill peaks at 2.5 GiB (3.05 GiB at 6 GB).
    memory_limit: str = "1536MB"
    threads: int = 2

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        permissions.private_umask()

    @property
    def paths(self) -> DataPaths:
        return data_paths(self.data_dir)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        paths = self.paths
        with lakehouse.open_warehouse(
            paths, salt=pii_salt(paths, self.pii_salt), memory_limit=self.memory_limit
        ) as con:
            con.execute(f"SET threads = {int(self.threads)}")
            con.execute("SET temp_directory = ?", [str(paths.root / ".duckdb_tmp")])
            try:
                yield con
            except duckdb.TransactionException as exc:
                if not sql.is_conflict(exc):
                    raise
                # Another worker committed to the same DuckLake table first. Every step
                # rebuilds what it owns from scratch, so running it again is correct;
                # the jitter keeps two workers from meeting again at once.
                raise dg.RetryRequested(
                    max_retries=CONFLICT_RETRIES, seconds_to_wait=random.uniform(0.5, 3.0)
                ) from exc
