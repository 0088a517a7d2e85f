"""The real Dagster webserver loads the code location and serves its assets and checks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
HANG_GUARD = 600  # seconds: waits are for events; only a hang reaches this

QUERY = """
{
  assetNodes {
    assetKey { path }
    groupName
    description
    assetChecksOrError { ... on AssetChecks { checks { name blocking } } }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def webserver(tmp_path: Path):
    yield from _serve(tmp_path)


@pytest.fixture
def webserver_after_a_broken_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A Dagster home in which a run over a corrupt day failed its blocking checks."""
    import dagster as dg

    from pipelines.runner import materialise
    from productops.sample import write_sample
    from productops.sample.corrupt import write_corrupt_day
    from productops.settings import data_paths

    monkeypatch.setenv("PRODUCTOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PRODUCTOPS_PII_SALT", "ui")
    paths = data_paths()
    end = date(2026, 3, 31)
    write_sample(paths, days=14, scale=0.05, end=end)
    write_corrupt_day(paths, end, scale=0.05)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        outcome = materialise(end - timedelta(days=2), end, instance=instance)
    assert outcome.failed_checks
    yield from _serve(tmp_path)


def _serve(tmp_path: Path):
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "PRODUCTOPS_DATA_DIR": str(tmp_path / "data"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster_webserver", "-m", "pipelines.definitions",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + HANG_GUARD
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"webserver exited: {proc.stderr.read()[-2000:]}")
            try:
                if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise AssertionError(f"webserver did not start within {HANG_GUARD} s: a hang")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_ui_serves_every_layer_with_its_checks(webserver: str) -> None:
    nodes: list = []
    deadline = time.monotonic() + HANG_GUARD  # the code location loads in the background
    while not nodes and time.monotonic() < deadline:
        reply = httpx.post(f"{webserver}/graphql", json={"query": QUERY}, timeout=HANG_GUARD).json()
        nodes = (reply.get("data") or {}).get("assetNodes") or []
        if not nodes:
            time.sleep(1)
    by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    assert {"raw", "staging", "marts", "serving"} == {n["groupName"] for n in nodes}
    assert "serving/publication" in by_key and "marts/kpi_daily" in by_key
    checks = {
        c["name"]: c["blocking"]
        for c in by_key["staging/nps_responses"]["assetChecksOrError"]["checks"]
    }
    # One gate per severity, each rule's outcome in its metadata (productops.quality.gate).
    assert checks == {"quality_gate": True, "quality_warnings": False}


CHECK_RESULTS = """
{
  assetCheckExecutions(assetKey: {path: ["staging", "nps_responses"]}, checkName: "quality_gate", limit: 5) {
    status
    evaluation { success description metadataEntries { label ... on JsonMetadataEntry { jsonString } } }
  }
}
"""


def test_ui_shows_a_failed_check_with_its_examples(webserver_after_a_broken_day: str) -> None:
    reply = httpx.post(
        f"{webserver_after_a_broken_day}/graphql", json={"query": CHECK_RESULTS}, timeout=HANG_GUARD
    )
    executions = reply.json()["data"]["assetCheckExecutions"]
    failed = [e for e in executions if e["evaluation"] and not e["evaluation"]["success"]]
    assert failed, executions
    evaluation = failed[0]["evaluation"]
    assert "quarantine_rate: FAILED" in evaluation["description"]
    assert "score_out_of_range" in evaluation["description"]
    examples = next(
        m["jsonString"] for m in evaluation["metadataEntries"] if m["label"] == "examples"
    )
    assert "score_out_of_range" in examples and "_reexport.jsonl" in examples
    assert "@" not in examples  # keys and values, never personal data
