"""The team profile on a real PostgreSQL (Debian's packages, a temporary cluster on a
loopback port): Dagster's runs, events and schedules live there; a run executed here and
a run submitted to the daemon through the webserver both land in it."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import psycopg2
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("postgres")]
REPO = Path(__file__).resolve().parents[1]
END = date(2026, 6, 30)
START = END - timedelta(days=13)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL is not installed: apt-get install -y postgresql (.ci/run does)")
    return Path(found[-1]).parent


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` account then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _wait_for(ready, what: str, timeout: float = 180.0) -> None:
    """Poll until `ready()` (the event), with a generous bound only against a hang."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not come up in {timeout:.0f} s")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def postgres() -> Iterator[dict[str, str]]:
    bin_dir = _pg_bin()
    # Not under pytest's temporary folder: that is root's alone, and the server runs as
    # `postgres`, which must reach its cluster.
    root = Path(tempfile.mkdtemp(prefix="productops-pg-"))
    data = root / "cluster"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
    subprocess.run(_as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust",
                                 "-U", "productops"]), check=True, capture_output=True)  # fmt: skip
    port = _free_port()
    command = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(data),
               "-c", "listen_addresses=127.0.0.1"]  # fmt: skip
    server = subprocess.Popen(
        _as_postgres(command),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def ready() -> bool:
        return subprocess.run([str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                              capture_output=True).returncode == 0  # fmt: skip

    _wait_for(ready, "PostgreSQL")
    subprocess.run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                    "productops", "dagster"], check=True)  # fmt: skip
    yield {
        "PRODUCTOPS_PG_HOST": "127.0.0.1",
        "PRODUCTOPS_PG_PORT": str(port),
        "PRODUCTOPS_PG_USER": "productops",
        "PRODUCTOPS_PG_PASSWORD": "",
        "PRODUCTOPS_PG_DB": "dagster",
    }
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=60)
    shutil.rmtree(root, ignore_errors=True)


def _env(tmp_path: Path, pg: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODUCTOPS_", "DAGSTER_"))}
    return {
        **env, **pg,
        "PRODUCTOPS_PROFILE": "team",
        "PRODUCTOPS_DATA_DIR": str(tmp_path / "data"),
        "PRODUCTOPS_SETTINGS": str(REPO / "tests" / "productops.toml"),
        "PRODUCTOPS_PII_SALT": "team-salt",
        "DAGSTER_HOME": str(tmp_path / "home"),
    }  # fmt: skip


def _cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    cli = str(REPO / ".venv" / "bin" / "productops")
    return subprocess.run([cli, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=1800)  # fmt: skip


def _query(pg: dict[str, str], sql: str) -> list[tuple]:
    con = psycopg2.connect(host=pg["PRODUCTOPS_PG_HOST"], port=int(pg["PRODUCTOPS_PG_PORT"]),
                           user=pg["PRODUCTOPS_PG_USER"], dbname=pg["PRODUCTOPS_PG_DB"])  # fmt: skip
    try:
        with con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        con.close()


def test_a_run_keeps_its_runs_and_events_in_postgres(postgres, tmp_path: Path) -> None:
    env = _env(tmp_path, postgres)
    assert _cli("sample", "--scale", "0.05", "--days", "14", "--end", str(END), env=env,
                cwd=tmp_path).returncode == 0  # fmt: skip
    done = _cli("run", "--start", str(START), "--end", str(END), env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "home" / "dagster.yaml").resolve().name == "dagster.team.yaml"
    assert not list((tmp_path / "home").glob("**/*.db"))  # no SQLite storage beside it
    runs = _query(postgres, "SELECT status FROM runs")
    assert ("SUCCESS",) in runs
    (materialised,) = _query(
        postgres,
        "SELECT count(DISTINCT asset_key) FROM event_logs "
        "WHERE dagster_event_type = 'ASSET_MATERIALIZATION'",
    )[0]
    assert materialised >= 20  # raw, staging, marts, serving


def test_a_submitted_run_is_queued_and_launched_by_the_daemon(postgres, tmp_path: Path) -> None:
    env = _env(tmp_path, postgres)
    assert _cli("sample", "--scale", "0.05", "--days", "14", "--end", str(END), env=env,
                cwd=tmp_path).returncode == 0  # fmt: skip
    port = _free_port()
    ui = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "productops"), "ui", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip

    def serving() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2):
                return True
        except OSError:
            return False

    try:
        _wait_for(serving, "the Dagster webserver", timeout=300)
        done = _cli("run", "--submit", "--wait", "--url", f"http://127.0.0.1:{port}",
                    "--start", str(START), "--end", str(END), env=env, cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "Queued run" in done.stdout
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        ui.wait(timeout=120)
    queued = _query(
        postgres,
        "SELECT count(*) FROM event_logs WHERE dagster_event_type IN ('PIPELINE_ENQUEUED', 'RUN_ENQUEUED')",
    )
    assert queued[0][0] >= 1
    assert (tmp_path / "data" / "serving.duckdb").exists()
