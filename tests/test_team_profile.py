"""The team profile on a real PostgreSQL (Debian's packages, a temporary cluster on a
loopback port): Dagster's runs, events and schedules live there; a run executed here and
a run submitted to the daemon through the webserver both land in it."""

from __future__ import annotations

import os
import subprocess
from datetime import date, timedelta
from pathlib import Path

import psycopg2
import pytest

from tests.services import PostgresCluster, answers, free_port, stop_group, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("postgres")]
REPO = Path(__file__).resolve().parents[1]
END = date(2026, 6, 30)
START = END - timedelta(days=13)


@pytest.fixture(scope="module")
def dagster_db(postgres: PostgresCluster) -> dict[str, str]:
    """Dagster's storage for this module's runs, in the session's cluster."""
    return postgres.database("team_profile")


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


def _query(pg: dict[str, str], sql: str, params: tuple = ()) -> list[tuple]:
    con = psycopg2.connect(host=pg["PRODUCTOPS_PG_HOST"], port=int(pg["PRODUCTOPS_PG_PORT"]),
                           user=pg["PRODUCTOPS_PG_USER"], dbname=pg["PRODUCTOPS_PG_DB"])  # fmt: skip
    try:
        with con.cursor() as cur:
            cur.execute(sql, params or None)
            return cur.fetchall()
    finally:
        con.close()


def test_a_run_keeps_its_runs_and_events_in_postgres(
    dagster_db: dict[str, str], tmp_path: Path
) -> None:
    env = _env(tmp_path, dagster_db)
    assert _cli("sample", "--scale", "0.05", "--days", "14", "--end", str(END), env=env,
                cwd=tmp_path).returncode == 0  # fmt: skip
    done = _cli("run", "--start", str(START), "--end", str(END), env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "home" / "dagster.yaml").resolve().name == "dagster.team.yaml"
    assert not list((tmp_path / "home").glob("**/*.db"))  # no SQLite storage beside it
    runs = _query(dagster_db, "SELECT status FROM runs")
    assert ("SUCCESS",) in runs
    (materialised,) = _query(
        dagster_db,
        "SELECT count(DISTINCT asset_key) FROM event_logs "
        "WHERE dagster_event_type = 'ASSET_MATERIALIZATION'",
    )[0]
    assert materialised >= 20  # raw, staging, marts, serving


def test_a_submitted_run_is_queued_and_launched_by_the_daemon(
    dagster_db: dict[str, str], tmp_path: Path
) -> None:
    env = _env(tmp_path, dagster_db)
    assert _cli("sample", "--scale", "0.05", "--days", "14", "--end", str(END), env=env,
                cwd=tmp_path).returncode == 0  # fmt: skip
    # The landing and automation sensors are on by default and would launch runs of
    # their own over the same days beside the submitted one, which is what this test
    # follows: stopped through Dagster's CLI before the daemon starts.
    home = Path(env["DAGSTER_HOME"])
    home.mkdir()
    (home / "dagster.yaml").symlink_to(REPO / "config" / "dagster.team.yaml")
    dagster = str(REPO / ".venv" / "bin" / "dagster")
    stopping = [
        subprocess.Popen([dagster, "sensor", "stop", name, "-m", "pipelines.definitions"],
                         env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
        for name in ("landing_sensor", "productops_automation")
    ]  # fmt: skip
    for proc in stopping:
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, out[-2000:]
    port = free_port()
    ui = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "productops"), "ui", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip

    try:
        wait_for(answers(f"http://127.0.0.1:{port}/server_info"), "the Dagster webserver",
                 timeout=300)  # fmt: skip
        done = _cli("run", "--submit", "--wait", "--url", f"http://127.0.0.1:{port}",
                    "--start", str(START), "--end", str(END), env=env, cwd=tmp_path)  # fmt: skip
        run_id = done.stdout.split("Queued run ")[-1].split()[0]
        failures = _query(dagster_db, "SELECT dagster_event_type, substr(event, 1, 2500) FROM "
                          "event_logs WHERE run_id = %s AND dagster_event_type IN "
                          "('PIPELINE_FAILURE', 'RUN_FAILURE', 'STEP_FAILURE', 'ENGINE_EVENT') "
                          "ORDER BY id DESC LIMIT 4", (run_id,))  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:] + str(failures)
        assert "Queued run" in done.stdout
    finally:
        stop_group(ui, timeout=120)
    queued = _query(
        dagster_db,
        "SELECT count(*) FROM event_logs WHERE dagster_event_type IN ('PIPELINE_ENQUEUED', 'RUN_ENQUEUED')",
    )
    assert queued[0][0] >= 1
    assert (tmp_path / "data" / "serving.duckdb").exists()
