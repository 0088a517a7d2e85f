"""The Dagster UI and the report, in a real headless Chromium, as a new user meets them.

`productops ui` starts the webserver and the daemon on a free loopback port against a
temporary Dagster home that a CLI run has filled. The browser opens the asset graph,
launches one partition of a staging asset from its page, waits for the run to succeed
with its checks passed, and opens the HTML report, whose charts must all render with
no console error. Screenshots go to `test-artefacts/browser/` (git-ignored).

Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from pipelines.definitions import current_definitions
from tests.conftest import SALT
from tests.services import stop_group

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

REPO = Path(__file__).parents[1]
BIN = Path(sys.executable).parent
ARTEFACTS = REPO / "test-artefacts" / "browser"
HANG_GUARD = 900  # seconds: only a hang reaches it, never a slow machine
ASSET = ("staging", "nps_responses")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, predicate: Callable[[], Any], proc: subprocess.Popen | None = None) -> Any:
    """Poll until `predicate()` is truthy; only a hang (or a dead server) fails."""
    deadline = time.monotonic() + HANG_GUARD
    while True:
        try:
            found = predicate()
        except (httpx.HTTPError, WebDriverException):
            found = None
        if found:
            return found
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the UI exited while waiting for {what}")
        assert time.monotonic() < deadline, f"{what} never happened: a hang"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("ui")
    home = root / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    # The shipped project settings, as a new user has them: partitions from the sample's
    # first day (90 days before yesterday), so the UI shows no sea of empty days.
    env = {**os.environ, "DAGSTER_HOME": str(home), "PRODUCTOPS_DATA_DIR": str(root / "data"),
           "PRODUCTOPS_PII_SALT": SALT, "COLUMNS": "200",
           "PRODUCTOPS_SETTINGS": str(REPO / "config" / "productops.toml")}  # fmt: skip
    end = datetime.now(UTC).date() - timedelta(days=1)
    start = end - timedelta(days=13)
    subprocess.run([BIN / "productops", "sample", "--days", "14", "--scale", "0.05", "--seed",
                    "23", "--end", end.isoformat()], env=env, check=True, capture_output=True)  # fmt: skip
    run = subprocess.run(
        [BIN / "productops", "run", "--start", start.isoformat(), "--end", end.isoformat()],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    port = _free_port()
    proc = subprocess.Popen(
        [BIN / "productops", "ui", "--port", str(port)], cwd=REPO, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait("the webserver", lambda: httpx.get(f"{url}/server_info", timeout=5).is_success, proc)
        yield {"url": url, "home": home, "data": root / "data", "end": end, "proc": proc}
    finally:
        stop_group(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    assert chromium and driver_path, "install Debian's chromium and chromium-driver (.ci/run does)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1600,1000",
                "--disable-dev-shm-usage"):  # fmt: skip
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver: webdriver.Chrome, name: str) -> None:
    driver.save_screenshot(str(ARTEFACTS / f"{name}.png"))


def _text(driver: webdriver.Chrome) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def _graphql(url: str, query: str, variables: dict | None = None) -> dict:
    reply = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables or {}},
                       timeout=60).json()  # fmt: skip
    assert "errors" not in reply, reply
    return reply["data"]


def _button(scope, label: str):
    """The first displayed, enabled button whose text starts with `label`."""
    for b in scope.find_elements(By.TAG_NAME, "button"):
        if b.is_displayed() and b.is_enabled() and b.text.strip().startswith(label):
            return b
    return None


def _click(browser: webdriver.Chrome, what: str, find: Callable[[], Any]) -> None:
    """Click what `find` returns once it can take the click: an overlay still fading out
    (or the first-visit dialog, dismissed here) intercepts it until then."""

    def attempt() -> bool:
        skip = _button(browser, "Skip")
        if skip is not None:
            skip.click()
        target = find()
        if target is None:
            return False
        target.click()
        return True

    _wait(what, attempt)


def test_the_asset_graph_shows_every_layer(ui: dict, browser: webdriver.Chrome) -> None:
    browser.get(f"{ui['url']}/asset-groups")
    _wait("the lineage page", lambda: "Global asset lineage" in _text(browser))
    _wait("the first-visit dialog", lambda: _button(browser, "Skip"))  # a new user's

    def dismissed() -> bool:
        skip = _button(browser, "Skip")
        if skip is not None:
            skip.click()
        return skip is None

    _wait("the first-visit dialog to close", dismissed)
    _wait("every layer", lambda: all(
        f"\n{g}\n" in _text(browser) for g in ("raw", "staging", "marts", "serving")
    ))  # fmt: skip
    _shot(browser, "1-asset-graph")


CHECK_STATUSES = """query($key: AssetKeyInput!) { assetNodeOrError(assetKey: $key) {
    ... on AssetNode { assetChecksOrError { ... on AssetChecks { checks { name
        partitionStatuses { ... on AssetCheckTimePartitionStatuses {
            ranges { startKey endKey status } } } } } } } } }"""


GATE_RESULTS = """query($key: AssetKeyInput!) { assetCheckExecutions(assetKey: $key,
    checkName: "quality_gate", limit: 5) { status evaluation { success description partition } } }"""


def _partition_statuses(url: str) -> dict[str, dict[str, str]]:
    """Per check of ASSET, the status the UI shows for each day it shows one for."""
    reply = _graphql(url, CHECK_STATUSES, {"key": {"path": list(ASSET)}})
    out: dict[str, dict[str, str]] = {}
    for check in reply["assetNodeOrError"]["assetChecksOrError"]["checks"]:
        days = out.setdefault(check["name"], {})
        for r in (check["partitionStatuses"] or {}).get("ranges", []):
            first, last = date.fromisoformat(r["startKey"]), date.fromisoformat(r["endKey"])
            for k in range((last - first).days + 1):
                days[(first + timedelta(days=k)).isoformat()] = r["status"]
    return out


def test_after_a_backfill_the_checks_tab_shows_the_result_for_its_days(
    ui: dict, browser: webdriver.Chrome
) -> None:
    """The fixture's 14-day run is one run over a range of days. Dagster 1.13 shows a
    partitioned check's status per day only for a single-day result tied to that day's
    materialization, so the UI shows the range's result, naming its days (README)."""
    executions = _graphql(ui["url"], GATE_RESULTS, {"key": {"path": list(ASSET)}})
    latest = executions["assetCheckExecutions"][0]
    assert latest["status"] == "SUCCEEDED" and latest["evaluation"]["success"], latest
    assert "passed on 14 day(s)" in latest["evaluation"]["description"], latest
    browser.get(f"{ui['url']}/assets/{'/'.join(ASSET)}?view=checks")
    _wait("the checks tab", lambda: "quality_gate" in _text(browser), ui["proc"])
    _shot(browser, "2-checks-after-backfill")


def test_a_staging_partition_launched_from_its_page_succeeds_with_its_checks(
    ui: dict, browser: webdriver.Chrome
) -> None:
    day = ui["end"].isoformat()
    browser.get(f"{ui['url']}/assets/{'/'.join(ASSET)}?view=partitions")
    _click(browser, "the Materialize button", lambda: _button(browser, "Materialize"))
    _shot(browser, "2-asset-page")
    dialog = _wait(
        "the launch dialog", lambda: browser.find_element(By.CSS_SELECTOR, "[role=dialog]")
    )
    _click(browser, "the Latest partition choice", lambda: _button(dialog, "Latest"))
    _wait("the latest day selected", lambda: any(
        i.get_attribute("value") == day for i in dialog.find_elements(By.TAG_NAME, "input")
    ))  # fmt: skip
    _shot(browser, "3-launch-dialog")
    _click(browser, "the Launch button", lambda: _button(dialog, "Launch 1 run"))

    runs_query = """query($key: AssetKeyInput!) { assetOrError(assetKey: $key) {
        ... on Asset { assetMaterializations(limit: 5) { runId partition } } } }"""
    instance_runs = """{ runsOrError(limit: 20) { ... on Runs { results {
        runId status tags { key value } } } } }"""

    def launched_run() -> dict | None:
        results = _graphql(ui["url"], instance_runs)["runsOrError"]["results"]
        for run in results:
            tags = {t["key"]: t["value"] for t in run["tags"]}
            if tags.get("dagster/partition") == day and run["status"] in ("SUCCESS", "FAILURE"):
                return run
        return None

    run = _wait("the launched run to end", launched_run, ui["proc"])
    assert run["status"] == "SUCCESS", run
    materialised = _graphql(ui["url"], runs_query, {"key": {"path": list(ASSET)}})
    assert {"runId": run["runId"], "partition": day} in (
        materialised["assetOrError"]["assetMaterializations"]
    )
    keys = [k for k in current_definitions().resolve_asset_graph().asset_check_keys
            if tuple(k.asset_key.path) == ASSET]  # fmt: skip
    with dg.DagsterInstance.from_config(str(ui["home"])) as instance:
        infos = instance.event_log_storage.get_asset_check_partition_info(
            keys, partition_keys=[day]
        )
    statuses = {i.check_key.name: i.latest_execution_status.value for i in infos}
    assert len(statuses) == len(keys) == 2, statuses
    assert set(statuses.values()) == {"SUCCEEDED"}, statuses
    # A day's own run: the UI shows that day's status on the checks' partitions.
    shown = _partition_statuses(ui["url"])
    assert {name: days.get(day) for name, days in shown.items()} == {
        "quality_gate": "SUCCEEDED",
        "quality_warnings": "SUCCEEDED",
    }, shown
    browser.get(f"{ui['url']}/runs/{run['runId']}")
    _wait("the run page", lambda: "Success" in _text(browser) or "SUCCESS" in _text(browser))
    _shot(browser, "4-run-succeeded")


def test_the_report_renders_every_chart_without_errors(ui: dict, browser: webdriver.Chrome) -> None:
    report = ui["data"] / "reports" / f"productops-{ui['end'].isoformat()}.html"
    assert report.exists(), sorted((ui["data"] / "reports").glob("*"))
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(report.as_uri())
    charts = _wait("the charts", lambda: browser.find_elements(By.CSS_SELECTOR, "figure > svg"))
    assert len(charts) == 7  # what to fix first, then the six of the metrics
    for chart in charts:
        size = chart.size
        assert size["width"] > 100 and size["height"] > 50, size
        assert chart.find_elements(By.CSS_SELECTOR, "path, rect, line")
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    browser.set_window_size(1000, 3200)
    _shot(browser, "5-report")
