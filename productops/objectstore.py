"""Where the raw lake lives: a folder, or S3-compatible object storage.

The raw lake is the system of record (staging, marts and serving rebuild from it), so a
team keeps it on object storage that every worker reaches: `PRODUCTOPS_RAW_LAKE =
s3://bucket/prefix`. Unset, it is `data/lake/` as on one machine. Either way it has the
same layout of keys:

    raw/<source>/date=<day>/<batch>.parquet   the records, hive-partitioned
    _manifest/<source>/<batch>.json            which batches are in, and how they went
    _people/<source>/<batch>.parquet           the names a batch named, for redaction

Every key is written once, whole: a local file by rename, an object by one upload, so
a reader never sees half of one. DuckDB reads the lake by URL (`httpfs`, with the
secret `ObjectStore.register` gives a connection); Python lists and writes it through
`Store`. boto3 does the S3 side: DuckDB can read and write objects but not list a
prefix's keys with their names alone or upload a finished file as it is.

The object store's settings come from the environment, read when used:
`PRODUCTOPS_S3_ENDPOINT` (`host:port`, for storage other than AWS),
`PRODUCTOPS_S3_REGION`, `PRODUCTOPS_S3_USE_SSL` (default true), and the credentials in
`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`. They are handed to DuckDB as a temporary
secret and to boto3's client; never logged, never in metadata.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import duckdb

from productops import extensions
from productops.quoting import literal

RAW_LAKE_ENV = "PRODUCTOPS_RAW_LAKE"
S3_ENDPOINT_ENV = "PRODUCTOPS_S3_ENDPOINT"
S3_REGION_ENV = "PRODUCTOPS_S3_REGION"
S3_SSL_ENV = "PRODUCTOPS_S3_USE_SSL"


@dataclass(frozen=True)
class ObjectStore:
    """S3-compatible storage settings; the credentials are read when a client is made."""

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
        """Load httpfs and give `con` a secret for `s3://` URLs."""
        extensions.load(con, "httpfs")
        key_id, secret = credentials()
        options = [f"REGION {literal(self.region)}", f"USE_SSL {str(self.use_ssl).lower()}"]
        if key_id and secret:
            options += [f"KEY_ID {literal(key_id)}", f"SECRET {literal(secret)}"]
        if self.endpoint:
            options += [f"ENDPOINT {literal(self.endpoint)}", "URL_STYLE 'path'"]
        con.execute(f"CREATE OR REPLACE SECRET productops_s3 (TYPE s3, {', '.join(options)})")

    def client(self) -> Any:
        return _client(self, credentials()[0])


def credentials() -> tuple[str | None, str | None]:
    """The key id and secret, from the environment as Dagster's `EnvVar` reads it, when
    asked (so that nothing holds them longer than a connection or client needs)."""
    import dagster as dg  # late: the CLI's light commands do not load Dagster

    return (
        dg.EnvVar("AWS_ACCESS_KEY_ID").get_value(),
        dg.EnvVar("AWS_SECRET_ACCESS_KEY").get_value(),
    )


@lru_cache(maxsize=4)
def _client(settings: ObjectStore, key_id: str | None) -> Any:
    """One boto3 client per settings and credentials (clients are thread-safe)."""
    import boto3  # only a lake on object storage needs it

    scheme = "https" if settings.use_ssl else "http"
    endpoint = f"{scheme}://{settings.endpoint}" if settings.endpoint else None
    key, secret = credentials()
    return boto3.client("s3", region_name=settings.region, endpoint_url=endpoint,
                        aws_access_key_id=key, aws_secret_access_key=secret)  # fmt: skip


class Store(Protocol):
    """The raw lake's keys, wherever they are kept."""

    root: str

    def url(self, key: str) -> str:
        """What DuckDB reads for `key`."""
        ...

    def keys(self, prefix: str) -> list[str]:
        """Every key under `prefix` (a folder, ending in `/`), sorted."""
        ...

    def read_texts(self, keys: list[str]) -> list[str]: ...

    def write_text(self, key: str, text: str) -> None: ...

    def put(self, local: Path, key: str) -> None:
        """Move a finished local file to `key` (it is gone from `local` afterwards)."""
        ...


@dataclass(frozen=True)
class LocalStore:
    """The lake as a folder: written by rename, so a key appears whole."""

    folder: Path

    @property
    def root(self) -> str:
        return str(self.folder)

    def url(self, key: str) -> str:
        # A string join: a run asks for thousands of keys' paths at a year of history
        # (every per-batch name list, every raw file of a window), and joining Path
        # objects cost 10 us each. Keys are relative paths productops wrote.
        return os.path.join(self.folder, key)

    def keys(self, prefix: str) -> list[str]:
        # os.walk, not Path.rglob: every step lists a source's whole raw lake (a folder a
        # day), and rglob's per-file stat and Path objects cost 12 ms a listing at a year (3.7 ms this way).
        base = os.path.join(self.folder, prefix)
        skip = len(os.path.join(self.folder, ""))
        return sorted(
            os.path.join(folder, name)[skip:]
            for folder, _, names in os.walk(base)
            for name in names
            if not name.startswith(".")
        )

    def read_texts(self, keys: list[str]) -> list[str]:
        return [(self.folder / k).read_text() for k in keys]

    def write_text(self, key: str, text: str) -> None:
        path = self.folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)

    def put(self, local: Path, key: str) -> None:
        target = self.folder / key
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(local, target)


class ObjectStoreError(RuntimeError):
    """The object store refused or could not be reached; says which and why."""


@contextmanager
def _explained(root: str) -> Iterator[None]:
    """boto3's errors as one line that names the lake and the setting to check."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        hint = {
            "NoSuchBucket": "the bucket does not exist: create it",
            "AccessDenied": "access denied: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
            "InvalidAccessKeyId": "unknown access key: check AWS_ACCESS_KEY_ID",
            "SignatureDoesNotMatch": "wrong secret: check AWS_SECRET_ACCESS_KEY",
        }.get(code, f"{code or 'error'}: {exc}")
        raise ObjectStoreError(f"{root} ({RAW_LAKE_ENV}): {hint}") from exc
    except S3UploadFailedError as exc:  # boto3's transfer wraps the ClientError in text
        raise ObjectStoreError(f"{root} ({RAW_LAKE_ENV}): {exc}") from exc
    except BotoCoreError as exc:
        raise ObjectStoreError(
            f"{root} ({RAW_LAKE_ENV}): {exc} (check {S3_ENDPOINT_ENV} and {S3_SSL_ENV})"
        ) from exc


@dataclass(frozen=True)
class S3Store:
    """The lake under `s3://bucket/prefix`: one PUT per key, so an object appears whole."""

    root: str
    settings: ObjectStore

    @property
    def _bucket_prefix(self) -> tuple[str, str]:
        bucket, _, prefix = self.root.removeprefix("s3://").partition("/")
        return bucket, prefix.strip("/")

    def _key(self, key: str) -> str:
        prefix = self._bucket_prefix[1]
        return f"{prefix}/{key}" if prefix else key

    @property
    def _client(self) -> Any:
        return self.settings.client()

    def url(self, key: str) -> str:
        return f"s3://{self._bucket_prefix[0]}/{self._key(key)}"

    def keys(self, prefix: str) -> list[str]:
        bucket, base = self._bucket_prefix
        strip = len(base) + 1 if base else 0
        found: list[str] = []
        pages = self._client.get_paginator("list_objects_v2")
        with _explained(self.root):
            for page in pages.paginate(Bucket=bucket, Prefix=self._key(prefix)):
                found.extend(o["Key"][strip:] for o in page.get("Contents", []))
        return sorted(k for k in found if not k.rsplit("/", 1)[-1].startswith("."))

    def read_texts(self, keys: list[str]) -> list[str]:
        bucket = self._bucket_prefix[0]

        def get(key: str) -> str:
            body = self._client.get_object(Bucket=bucket, Key=self._key(key))["Body"]
            return body.read().decode()

        with _explained(self.root), ThreadPoolExecutor(16) as pool:  # many round trips at once
            return list(pool.map(get, keys))

    def write_text(self, key: str, text: str) -> None:
        bucket = self._bucket_prefix[0]
        with _explained(self.root):
            self._client.put_object(Bucket=bucket, Key=self._key(key), Body=text.encode())

    def put(self, local: Path, key: str) -> None:
        with _explained(self.root):
            self._client.upload_file(str(local), self._bucket_prefix[0], self._key(key))
        local.unlink()


def raw_lake(local_folder: Path) -> LocalStore | S3Store:
    """The raw lake: `$PRODUCTOPS_RAW_LAKE` when set, else `local_folder`."""
    configured = os.environ.get(RAW_LAKE_ENV)
    if not configured:
        return LocalStore(local_folder)
    if configured.startswith("s3://"):
        return S3Store(configured.rstrip("/"), ObjectStore.from_env())
    return LocalStore(Path(configured))


def on_object_store() -> bool:
    return (os.environ.get(RAW_LAKE_ENV) or "").startswith("s3://")
