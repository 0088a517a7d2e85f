"""The SQL helpers every layer shares: `table_columns` and `scratch`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from productops import sql
from productops.quoting import literal


def test_columns_in_order_with_types_in_any_catalog_and_none_for_a_missing_table(
    tmp_path: Path,
) -> None:
    with sql.connect(tmp_path / "w.duckdb") as con:
        con.execute("CREATE SCHEMA staging")
        con.execute(
            "CREATE TABLE staging.t (z VARCHAR, a DECIMAL(18, 3), "
            "m STRUCT(k VARCHAR, v INTEGER[]), d DATE)"
        )
        con.execute("CREATE VIEW staging.v AS SELECT d, z FROM staging.t")
        con.execute(f"ATTACH {literal(tmp_path / 'other.duckdb')} AS other")
        con.execute("CREATE SCHEMA other.staging")
        con.execute("CREATE TABLE other.staging.t (only_here BIGINT)")
        want = [("z", "VARCHAR"), ("a", "DECIMAL(18,3)"),
                ("m", "STRUCT(k VARCHAR, v INTEGER[])"), ("d", "DATE")]  # fmt: skip
        assert sql.table_columns(con, "staging.t") == want
        assert sql.table_columns(con, "staging.v") == [("d", "DATE"), ("z", "VARCHAR")]
        assert sql.table_columns(con, "staging.t", "other") == [("only_here", "BIGINT")]
        assert sql.table_columns(con, "staging.missing") == []
        assert sql.table_columns(con, "marts.t") == []
        # The same answer as the standard view, for every table and view here.
        for catalog, table in con.execute(
            "SELECT DISTINCT table_catalog, table_schema || '.' || table_name "
            "FROM information_schema.columns WHERE table_catalog IN ('w', 'other')"
        ).fetchall():
            standard = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_catalog = ? AND table_schema || '.' || table_name = ? "
                "ORDER BY ordinal_position",
                [catalog, table],
            ).fetchall()
            assert sql.table_columns(con, table, catalog) == standard, (catalog, table)


def test_scratch_connections_share_nothing_a_question_leaves_behind(tmp_path: Path) -> None:
    files = []
    for n in range(4):
        files.append(tmp_path / f"{n}.parquet")
        with sql.scratch() as con:
            con.execute(f"COPY (SELECT range AS x FROM range({n * 1000})) TO {literal(files[-1])}")
    with sql.scratch() as con:
        con.execute("CREATE TEMP TABLE left_behind AS SELECT 1")
    with sql.scratch() as con:
        assert sql.table_columns(con, "main.left_behind", "temp") == []

    def count(path: Path) -> int:
        with sql.scratch() as con:
            return con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchall()[0][0]

    with ThreadPoolExecutor(4) as pool:  # side by side, as ingest's threads ask
        assert list(pool.map(count, files * 5)) == [0, 1000, 2000, 3000] * 5
