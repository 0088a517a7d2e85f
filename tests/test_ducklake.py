"""DuckDB's extensions come from the lock's packages, with no download, and the DuckLake
warehouse they make possible behaves as the pipeline's write paths assume."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from productops import extensions, lakehouse, marts, sql
from productops.quoting import literal
from resources import DuckDBWarehouse


def test_the_packaged_extensions_load_offline() -> None:
    with duckdb.connect() as con:
        # No download: the extension directory is empty, and INSTALL would fail here.
        con.execute("SET autoinstall_known_extensions = false")
        extensions.load(con, "httpfs", "ducklake", "postgres_scanner")
        extensions.load(con, "ducklake")  # a second load is harmless
        loaded = {n for (n,) in con.execute(
            "SELECT extension_name FROM duckdb_extensions() WHERE loaded").fetchall()}  # fmt: skip
    assert {"httpfs", "ducklake", "postgres_scanner"} <= loaded


def test_a_tampered_extension_file_is_refused_even_where_verified_ones_skip_the_check(
    tmp_path: Path,
) -> None:
    packaged = extensions.extension_file("httpfs")
    tampered = tmp_path / packaged.name
    data = bytearray(packaged.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte of the code changed, the signature kept
    tampered.write_bytes(bytes(data))
    with sql.connect() as con:  # opened to load verified files without hashing them again
        extensions.load(con, "ducklake")
        with pytest.raises(duckdb.Error, match=r"(?i)signature"):
            extensions.load_file(con, tampered)
        loaded = {n for (n,) in con.execute(
            "SELECT extension_name FROM duckdb_extensions() WHERE loaded").fetchall()}  # fmt: skip
    assert "ducklake" in loaded and "httpfs" not in loaded


def test_an_extension_without_its_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(extensions.PACKAGES, "ducklake", "no_such_package_here")
    with pytest.raises(extensions.ExtensionMissing, match="no-such-package-here"):
        extensions.extension_file("ducklake")


def _ducklake(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    extensions.load(con, "ducklake")
    catalog, data = tmp_path / "catalog.ducklake", tmp_path / "files"
    con.execute(f"ATTACH {literal('ducklake:' + str(catalog))} AS w "
                f"(DATA_PATH {literal(str(data) + '/')})")  # fmt: skip
    con.execute("USE w")
    return con


def test_transaction_commits_and_rolls_back(tmp_path: Path) -> None:
    con = _ducklake(tmp_path)
    con.execute("CREATE TABLE t (x INT)")
    with sql.transaction(con):
        con.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(ZeroDivisionError), sql.transaction(con):
        con.execute("INSERT INTO t VALUES (2)")
        _ = 1 / 0
    assert con.execute("SELECT list(x) FROM t").fetchall() == [([1],)]


def test_a_conflicting_commit_raises_the_conflict_not_the_rollback(tmp_path: Path) -> None:
    """Two writers replacing different days of one table: DuckLake refuses the second
    commit; the error says so, which is what makes the step retry."""
    first = _ducklake(tmp_path)
    first.execute("CREATE TABLE t AS SELECT range AS day FROM range(4)")
    second = first.cursor()
    second.execute("USE w")
    with pytest.raises(duckdb.TransactionException) as refused, sql.transaction(second):
        second.execute("DELETE FROM t WHERE day = 2; INSERT INTO t VALUES (2)")
        with sql.transaction(first):
            first.execute("DELETE FROM t WHERE day = 1; INSERT INTO t VALUES (1)")
    assert sql.is_conflict(refused.value)
    assert sorted(d for (d,) in first.execute("SELECT day FROM t").fetchall()) == [0, 1, 2, 3]


def test_two_workers_building_a_table_for_the_first_time_conflict(tmp_path: Path) -> None:
    """A whole-table mart (account_voice) built by two workers at once from an empty
    table: each DELETE finds nothing, and without the write guard both inserts committed
    and BI saw every account twice. Now the second commit is refused and retried."""
    first = _ducklake(tmp_path)
    first.execute("CREATE SCHEMA marts")
    second = first.cursor()
    second.execute("USE w")
    marts._ensure(first, "account_voice")  # created empty, as before its first build
    guard = marts._write_guard(first, "account_voice")
    with pytest.raises(duckdb.TransactionException) as refused, sql.transaction(second):
        # The other worker, half-way through the same replacement as `_replace`.
        second.execute(f"UPDATE {guard} SET writes = writes + 1")
        second.execute("DELETE FROM marts.account_voice")
        second.execute("INSERT INTO marts.account_voice BY NAME SELECT 'ACC-2' AS account_id")
        marts._replace(first, "account_voice", "SELECT 'ACC-1' AS account_id", [], where="true")
    assert sql.is_conflict(refused.value)
    assert first.execute("SELECT list(account_id) FROM marts.account_voice").fetchall() == [
        (["ACC-1"],)
    ]


def test_a_step_whose_commit_conflicts_is_retried_and_other_errors_are_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(lakehouse.CATALOG_ENV, str(tmp_path / "catalog.ducklake"))
    monkeypatch.setenv(lakehouse.DATA_ENV, str(tmp_path / "files") + "/")
    warehouse = DuckDBWarehouse(data_dir=str(tmp_path / "data"), pii_salt="s")
    with warehouse.connect() as con:
        assert con.execute("SELECT current_database()").fetchall() == [("warehouse",)]
        con.execute(
            "CREATE SCHEMA marts; CREATE TABLE marts.t AS SELECT range AS day FROM range(3)"
        )
    refused = duckdb.TransactionException(
        "Failed to commit DuckLake transaction. Transaction conflict - attempting to insert "
        "into table with index 2 - but another transaction has deleted from it"
    )
    with pytest.raises(dg.RetryRequested), warehouse.connect():
        raise refused
    with pytest.raises(duckdb.TransactionException, match="no transaction"), warehouse.connect():
        raise duckdb.TransactionException("cannot commit - no transaction is active")
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()  # the DuckLake, not a file
