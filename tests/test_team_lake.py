"""The team profile end to end, on real services on loopback: PostgreSQL (Dagster's
storage and the DuckLake catalog) and an S3-compatible server (moto) holding the raw
lake and the warehouse's data files. Two worker processes backfill the two halves of
the window at the same time, each with its own data folder, while a BI reader queries
the shared serving file; every contract table must then equal what one machine
computes from the same landing files, with nothing lost and nothing doubled."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import boto3
import duckdb
import psycopg2
import pytest

from productops.lakehouse import Lakehouse
from productops.marts import CONTRACT_TABLES
from tests.services import PostgresCluster, S3Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("postgres")]
REPO = Path(__file__).resolve().parents[1]
CLI = str(REPO / ".venv" / "bin" / "productops")
END = date(2026, 5, 31)
START = END - timedelta(days=13)
MIDDLE = START + timedelta(days=6)
BUCKET = "productops-lake"
CATALOG = "team_lake_catalog"
SALT = "team-lake-salt"
# Hours between a day's close and its newest record's arrival: the two runs ingest at
# different wall-clock moments, so this one column of data_trust legitimately differs.
WALL_CLOCK = {"data_trust": ["freshness_hours"]}


@pytest.fixture(scope="module")
def services(postgres: PostgresCluster, s3: S3Server) -> dict[str, str]:
    """Dagster's storage and the DuckLake catalog in databases of the session's cluster,
    the lake in a bucket of the session's S3 server."""
    pg = postgres.database("team_lake")
    postgres.database(CATALOG)
    s3.bucket(BUCKET)
    return {**pg, **s3.env}


def _base_env() -> dict[str, str]:
    drop = ("PRODUCTOPS_", "DAGSTER_", "AWS_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def _local_env(root: Path) -> dict[str, str]:
    return {
        **_base_env(),
        "PRODUCTOPS_DATA_DIR": str(root / "data"),
        "PRODUCTOPS_SETTINGS": str(REPO / "tests" / "productops.toml"),
        "PRODUCTOPS_PII_SALT": SALT,
        "DAGSTER_HOME": str(root / "home"),
    }


def _team_env(root: Path, services: dict[str, str], serving: Path) -> dict[str, str]:
    pg = f"host={services['PRODUCTOPS_PG_HOST']} port={services['PRODUCTOPS_PG_PORT']}"
    return {
        **_local_env(root),
        **services,
        "PRODUCTOPS_PROFILE": "team",
        "PRODUCTOPS_RAW_LAKE": f"s3://{BUCKET}/lake",
        "PRODUCTOPS_WAREHOUSE_CATALOG": f"postgres:dbname={CATALOG} {pg} user=productops",
        "PRODUCTOPS_WAREHOUSE_DATA": f"s3://{BUCKET}/warehouse/",
        "PRODUCTOPS_SERVING_FILE": str(serving),
    }


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    cwd = Path(env["DAGSTER_HOME"]).parent
    cwd.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([CLI, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=1800)  # fmt: skip
    assert done.returncode == 0, f"{args}: {done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done


def _query(services: dict[str, str], sql: str) -> list[tuple]:
    con = psycopg2.connect(host=services["PRODUCTOPS_PG_HOST"], dbname=services["PRODUCTOPS_PG_DB"],
                           port=int(services["PRODUCTOPS_PG_PORT"]), user="productops")  # fmt: skip
    try:
        with con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        con.close()


def _start_worker(root: Path, start: date, end: date, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([CLI, "run", "--start", str(start), "--end", str(end)], env=env,
                            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)  # fmt: skip


def _tables(path: Path) -> dict[str, set[tuple]]:
    """Every contract table's rows (as a multiset, by count) without publication stamps."""
    found: dict[str, set[tuple]] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for table in CONTRACT_TABLES:
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
                "AND table_name = ? AND column_name <> '_published_at'", [table]).fetchall()
                if c not in WALL_CLOCK.get(table, [])]  # fmt: skip
            listed = ", ".join(f'"{c}"' for c in columns)
            rows = con.execute(
                f"SELECT {listed}, count(*) FROM marts.{table} GROUP BY ALL"
            ).fetchall()
            found[table] = {tuple(str(v) for v in r) for r in rows}
    return found


def test_two_workers_backfill_halves_at_once_and_serving_equals_one_machine(
    services: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The landing files, once: a company no fixture uses.
    source = tmp_path / "source"
    _run("sample", "--seed", "31", "--scale", "0.1", "--days", "14", "--end", str(END),
         env=_local_env(source))  # fmt: skip
    landing = source / "data" / "landing"

    # One machine: SQLite, a DuckDB warehouse file, the raw lake in a folder.
    one = tmp_path / "one"
    shutil.copytree(landing, one / "data" / "landing")
    _run("run", "--start", str(START), "--end", str(END), env=_local_env(one))

    # The team: two workers, each with its own data folder and copy of the drops, one
    # PostgreSQL, one object store, one serving file that a BI reader queries throughout.
    serving = tmp_path / "bi" / "serving.duckdb"
    serving.parent.mkdir()
    shutil.copy(one / "data" / "serving.duckdb", serving)  # what BI had before
    workers = [tmp_path / "w1", tmp_path / "w2"]
    for w in workers:
        shutil.copytree(landing, w / "data" / "landing")
    reader = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "serving_reader.py"), str(serving)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    halves = [(START, MIDDLE), (MIDDLE + timedelta(days=1), END)]
    running = [_start_worker(w, a, b, _team_env(w, services, serving))
               for w, (a, b) in zip(workers, halves, strict=True)]  # fmt: skip
    outputs = [p.communicate(timeout=1800)[0] for p in running]
    for p, out in zip(running, outputs, strict=True):
        assert p.returncode == 0, out[-5000:]
    # Each run published what it saw; once both are done, one publication of everything.
    _run("publish", env=_team_env(workers[0], services, serving))
    reader_out, _ = reader.communicate(input="", timeout=300)

    # BI was never refused and never saw a partial publication.
    assert reader.returncode == 0, reader_out
    reads, errors, publications = (
        int(part.split("=")[1]) for part in reader_out.strip().splitlines()[-1].split()
    )
    assert reads > 0 and errors == 0, reader_out[-2000:]
    assert publications >= 3, reader_out  # the old one, the workers' and the final one
    # The two workers' runs overlapped in time (Dagster's run records in PostgreSQL), and
    # nothing was written into a DuckDB warehouse file.
    spans = _query(services, "SELECT r.start_time, r.end_time FROM runs r JOIN run_tags t "
                   "USING (run_id) WHERE t.key = 'productops/data' AND t.value LIKE '%/w_/data' "
                   "AND r.status = 'SUCCESS' ORDER BY r.start_time")  # fmt: skip
    assert len(spans) >= 2 and spans[1][0] < spans[0][1], spans
    assert not any((w / "data" / "warehouse.duckdb").exists() for w in workers)
    s3 = boto3.client("s3", endpoint_url=f"http://{services['PRODUCTOPS_S3_ENDPOINT']}",
                      region_name="us-east-1",
                      aws_access_key_id=services["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=services["AWS_SECRET_ACCESS_KEY"])  # fmt: skip
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
            for o in page.get("Contents", [])]  # fmt: skip
    assert any(k.startswith("lake/raw/nps/date=") for k in keys)
    assert any(k.startswith("lake/_manifest/") for k in keys)
    assert any(k.startswith("warehouse/") and k.endswith(".parquet") for k in keys)
    assert not any((w / "data" / "lake" / "raw").exists() for w in workers)
    # The credentials are in no log line.
    for out in outputs:
        assert services["AWS_SECRET_ACCESS_KEY"] not in out

    expected, got = _tables(one / "data" / "serving.duckdb"), _tables(serving)
    assert sum(len(rows) for rows in expected.values()) > 100
    for table in CONTRACT_TABLES:
        missing, extra = expected[table] - got[table], got[table] - expected[table]
        assert not missing and not extra, (
            f"{table}: {len(missing)} row(s) of one machine missing, {len(extra)} extra; "
            f"e.g. {sorted(missing)[:2]} / {sorted(extra)[:2]}"
        )

    # BI may also read the DuckLake itself, read-only: the same rows, and no writes.
    team = _team_env(workers[0], services, serving)
    for name, value in team.items():
        if name.startswith(("PRODUCTOPS_S3_", "AWS_")):
            monkeypatch.setenv(name, value)
    lake = Lakehouse(team["PRODUCTOPS_WAREHOUSE_CATALOG"], team["PRODUCTOPS_WAREHOUSE_DATA"])
    with duckdb.connect() as con:
        lake.attach(con, read_only=True)
        in_lake = con.execute("SELECT count(*) FROM marts.kpi_daily").fetchall()[0][0]
        with pytest.raises(duckdb.Error, match=r"(?i)read.only"):
            con.execute("DELETE FROM marts.kpi_daily")
    assert in_lake == len(got["kpi_daily"]) > 0
