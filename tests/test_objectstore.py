"""The raw lake's store on an S3-compatible server (moto's, on loopback): keys written
whole and listed back, DuckDB reading them by URL, and a clear error for a lake that
cannot be reached. And a folder's listing: whole keys only, in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from productops import objectstore, sql
from productops.quoting import literal
from tests.services import S3Server


@pytest.fixture(scope="module")
def bucket(s3: S3Server) -> str:
    return s3.bucket("lake-bucket")


@pytest.fixture
def s3_env(s3: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)
    return s3.env


def test_keys_round_trip_and_duckdb_reads_them(
    s3_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(objectstore.RAW_LAKE_ENV, "s3://lake-bucket/some/prefix")
    store = objectstore.raw_lake(tmp_path / "unused")
    assert isinstance(store, objectstore.S3Store)
    store.write_text("_manifest/nps/b1.json", '{"its": "text"}')
    local = tmp_path / "part.parquet"
    with sql.connect() as con:
        con.execute(f"COPY (SELECT 42 AS x) TO {literal(local)} (FORMAT parquet)")
    store.put(local, "raw/nps/date=2026-06-01/b1.parquet")
    assert not local.exists()  # moved, not copied
    assert store.keys("raw/nps/") == ["raw/nps/date=2026-06-01/b1.parquet"]
    assert store.keys("_manifest/") == ["_manifest/nps/b1.json"]
    assert store.read_texts(["_manifest/nps/b1.json"]) == ['{"its": "text"}']
    with sql.connect() as con:  # the lake's secret comes with every connection
        url = store.url("raw/nps/date=2026-06-01/b1.parquet")
        assert url == "s3://lake-bucket/some/prefix/raw/nps/date=2026-06-01/b1.parquet"
        assert con.execute("SELECT x FROM read_parquet(?)", [url]).fetchall() == [(42,)]
    assert not list(tmp_path.glob("**/raw"))  # nothing kept locally


def test_a_missing_bucket_is_named_with_the_setting(s3_env: dict[str, str]) -> None:
    store = objectstore.S3Store("s3://no-such-bucket/lake", objectstore.ObjectStore.from_env())
    with pytest.raises(objectstore.ObjectStoreError, match=r"no-such-bucket.*does not exist"):
        store.keys("raw/")


def test_a_folder_lists_whole_keys_sorted_and_skips_files_being_written(tmp_path: Path) -> None:
    store = objectstore.LocalStore(tmp_path / "lake")
    assert store.keys("raw/nps/") == []  # nothing ingested yet
    store.write_text("raw/nps/date=2026-06-02/b2.parquet", "2")
    store.write_text("raw/nps/date=2026-06-01/b9.parquet", "1")
    store.write_text("raw/feedback/date=2026-06-01/b1.parquet", "f")
    (tmp_path / "lake/raw/nps/date=2026-06-01/.b3.parquet.tmp").write_text("half")
    assert store.keys("raw/nps/") == [
        "raw/nps/date=2026-06-01/b9.parquet",
        "raw/nps/date=2026-06-02/b2.parquet",
    ]
    assert store.keys("raw/")[0] == "raw/feedback/date=2026-06-01/b1.parquet"
    assert store.read_texts(store.keys("raw/nps/")) == ["1", "2"]
