"""The team profile's storage: a DuckLake warehouse and S3-compatible object storage.

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
- `PRODUCTOPS_S3_ENDPOINT` (`host:port`, for storage other than AWS), `PRODUCTOPS_S3_REGION`,
  `PRODUCTOPS_S3_USE_SSL` (default true), and the credentials in `AWS_ACCESS_KEY_ID` /
  `AWS_SECRET_ACCESS_KEY`, read when a connection is made and handed to DuckDB as a
  secret; they are never logged or written into metadata.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import duckdb

from productops import extensions
from productops.sql import literal

CATALOG_ENV = "PRODUCTOPS_WAREHOUSE_CATALOG"
DATA_ENV = "PRODUCTOPS_WAREHOUSE_DATA"
S3_ENDPOINT_ENV = "PRODUCTOPS_S3_ENDPOINT"
S3_REGION_ENV = "PRODUCTOPS_S3_REGION"
S3_SSL_ENV = "PRODUCTOPS_S3_USE_SSL"
ALIAS = "warehouse"


@dataclass(frozen=True)
class ObjectStore:
    """S3-compatible storage settings; the credentials are read when a secret is made."""

    endpoint: str | None = None
    region: str = "us-east-1"
    use_ssl: bool = True

    @classmethod
    def from_env(cls) -> ObjectStore:
        ssl = os.environ.get(S3_SSL_ENV, "true").strip().lower()
        return cls(
            endpoint=os.environ.get(S3_ENDPOINT_ENV) or None,
            region=os.environ.get(S3_REGION_ENV) or "us-east-1",
            use_ssl=ssl not in ("0", "false", "no", "off"),
        )

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        """Load httpfs and give `con` a secret for `s3://` paths."""
        extensions.load(con, "httpfs")
        key_id = os.environ.get("AWS_ACCESS_KEY_ID")
        secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
        options = [f"REGION {literal(self.region)}", f"USE_SSL {str(self.use_ssl).lower()}"]
        if key_id and secret:
            options += [f"KEY_ID {literal(key_id)}", f"SECRET {literal(secret)}"]
        if self.endpoint:
            options += [f"ENDPOINT {literal(self.endpoint)}", "URL_STYLE 'path'"]
        con.execute(f"CREATE OR REPLACE SECRET productops_s3 (TYPE s3, {', '.join(options)})")


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


def lakehouse_from_env() -> Lakehouse | None:
    return Lakehouse.from_env()
