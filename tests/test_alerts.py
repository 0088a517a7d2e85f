"""Alerts reach a webhook on loopback: one message per planted story and kind, with its
figure and a link to a report that exists and lists it; failures are retried, nothing is
posted twice, the URL never leaks."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import dagster as dg
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipelines.alerts import alert_sensor
from productops.alerts import REPORT_URL_ENV, WEBHOOK_ENV
from productops.report_files import report_path
from resources import DataFolder
from resources.alerts import AlertWebhook
from tests.conftest import SampleRun

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sample_run")]
SECRET_PATH = "/services/T000/B000/s3cr3t-token"


class Webhook:
    """A Slack-like webhook that answers 503 to the first `failures` posts."""

    def __init__(self, server: HTTPServer, failures: int = 0) -> None:
        self.failures = failures
        self.messages: list[dict] = []
        self.attempts = 0
        server.expect_request(SECRET_PATH, method="POST").respond_with_handler(self.handle)
        self.url = server.url_for(SECRET_PATH)

    def handle(self, request: Request) -> Response:
        self.attempts += 1
        if self.failures > 0:
            self.failures -= 1
            return Response("service unavailable", status=503)
        self.messages.append(json.loads(request.data))
        return Response("ok", status=200)


@pytest.fixture
def published(sample_run: SampleRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder holding a copy of the sample company's serving file and reports: 90
    days published and reported in one run, as after `productops run`."""
    root = tmp_path / "data"
    root.mkdir()
    shutil.copy(sample_run.paths.serving, root / "serving.duckdb")
    shutil.copytree(sample_run.paths.reports, root / "reports")
    monkeypatch.setenv("PRODUCTOPS_DATA_DIR", str(root))
    monkeypatch.delenv(REPORT_URL_ENV, raising=False)
    return root


def evaluate(root: Path, cursor: str | None = None):
    resources = {"data": DataFolder(data_dir=str(root)), "webhook": AlertWebhook()}
    with dg.build_sensor_context(cursor=cursor, resources=resources) as ctx:
        return alert_sensor(ctx)


def execute(request: dg.RunRequest, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    from pipelines.definitions import current_definitions

    return (
        current_definitions()
        .get_job_def("send_alert")
        .execute_in_process(
            run_config=request.run_config,
            instance=instance,
            tags=request.tags,
            raise_on_error=False,
        )
    )


def test_each_planted_story_fires_one_alert(
    sample_run: SampleRun, published: Path, httpserver: HTTPServer, monkeypatch
) -> None:
    st = sample_run.summary.stories
    hook = Webhook(httpserver, failures=2)  # the first alert is retried twice
    monkeypatch.setenv(WEBHOOK_ENV, hook.url)
    result = evaluate(published)
    keys = [r.run_key for r in result.run_requests]
    by_kind: dict[str, list[str]] = {}
    for key in keys:
        by_kind.setdefault(key.split(":")[0], []).append(key)

    assert by_kind.pop("spike") == [f"spike:{st.incident}"]
    (drop,) = by_kind.pop("nps_drop")
    assert st.price_change < date_of(drop) <= st.price_change + timedelta(days=56), drop
    emerging = by_kind.pop("emerging")
    pricing = [k for k in emerging if k.startswith("emerging:pricing:")]
    assert len(pricing) == 1, emerging
    week = date_of(pricing[0])
    assert st.price_change - timedelta(days=6) <= week <= st.price_change + timedelta(days=14)
    # The incident also floods support with reliability tickets: planted, so it may emerge,
    # in the incident's week only; nothing else emerges.
    incident_week = st.incident - timedelta(days=st.incident.weekday())
    assert set(emerging) - set(pricing) <= {f"emerging:reliability:{incident_week}"}
    assert "untrusted" not in by_kind, by_kind  # a clean company: no source fails
    by_kind.pop("renewal", None)  # renewals are the inventory's, not a story
    assert not by_kind

    with dg.DagsterInstance.ephemeral() as instance:
        for request in result.run_requests:
            assert execute(request, instance).success
        # Asked again (a re-executed run): not posted twice.
        assert execute(result.run_requests[0], instance).success
        logs = "\n".join(
            str(e.user_message) + str(e.dagster_event)
            for run in instance.get_runs()
            for e in instance.all_logs(run.run_id)
        )
    assert len(hook.messages) == len(keys)
    assert hook.attempts == len(keys) + 2
    texts = [m["text"] for m in hook.messages]
    spike = next(t for t in texts if t.startswith("Social spike"))
    assert str(st.incident) in spike and "mentions" in spike
    assert f"Report of {sample_run.end}: file://" in spike
    for text in texts:  # every link opens a file: 90 days published, one report drawn
        link = urlsplit(re.search(r"Report of [\d-]+: (\S+)$", text)[1])
        assert Path(url2pathname(link.path)).is_file(), text
    assert "s3cr3t-token" not in logs

    # The next evaluation: nothing newly published, nothing asked for.
    assert isinstance(evaluate(published, result.cursor), dg.SkipReason)


def test_a_webhook_that_keeps_failing_fails_the_run_and_a_later_try_posts_once(
    published: Path, httpserver: HTTPServer, monkeypatch
) -> None:
    hook = Webhook(httpserver, failures=1000)
    monkeypatch.setenv(WEBHOOK_ENV, hook.url)
    request = evaluate(published).run_requests[0]
    with dg.DagsterInstance.ephemeral() as instance:
        failed = execute(request, instance)
        assert not failed.success
        error = str(failed.get_step_failure_events()[0].event_specific_data.error)
        assert request.run_key in error and "s3cr3t-token" not in error
        assert hook.messages == []
        hook.failures = 0
        assert execute(request, instance).success
        assert execute(request, instance).success
    assert len(hook.messages) == 1


def test_no_webhook_no_alerts(published: Path, monkeypatch) -> None:
    monkeypatch.delenv(WEBHOOK_ENV, raising=False)
    skipped = evaluate(published)
    assert isinstance(skipped, dg.SkipReason) and WEBHOOK_ENV in skipped.skip_message


def test_every_link_opens_a_report_that_exists_and_lists_the_alert(
    sample_run: SampleRun, published: Path, httpserver: HTTPServer, monkeypatch
) -> None:
    """After 90 days published at once only the latest day's report exists: every alert,
    whatever its day, links there, under $PRODUCTOPS_REPORT_BASE_URL when it is set."""
    hook = Webhook(httpserver)
    monkeypatch.setenv(WEBHOOK_ENV, hook.url)
    monkeypatch.setenv(REPORT_URL_ENV, "https://reports.example.com/productops/")
    requests = evaluate(published).run_requests
    days = {day_of(r) for r in requests}
    assert len(days) > 1 and min(days) < sample_run.end  # alerts of earlier days too
    assert [p.name for p in (published / "reports").iterdir()] == [
        report_path(published / "reports", sample_run.end).name
    ]
    with dg.DagsterInstance.ephemeral() as instance:
        for request in requests:
            assert execute(request, instance).success
    assert len(hook.messages) == len(requests)
    for message in hook.messages:
        url = re.search(r"Report of [\d-]+: (\S+)$", message["text"])[1]
        assert url.startswith("https://reports.example.com/productops/productops-"), url
        name, anchor = urlsplit(url).path.rsplit("/", 1)[1], urlsplit(url).fragment
        page = (published / "reports" / name).read_text()
        assert f'id="{anchor}"' in page, (url, message["text"])


def test_days_wait_for_their_report(published: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sensor can tick between the publication and the report drawn after it: the days
    the newest report does not cover yet are asked for on a later tick, not linked blind."""
    monkeypatch.setenv(WEBHOOK_ENV, "http://127.0.0.1:9/unused")
    everything = evaluate(published).run_requests
    first = min(day_of(r) for r in everything)
    assert any(day_of(r) > first for r in everything)
    reports = published / "reports"
    (latest,) = reports.iterdir()
    held = latest.rename(published / "held.tmp")  # the last day's report, not drawn yet
    skipped = evaluate(published)
    assert isinstance(skipped, dg.SkipReason) and "no report written yet" in skipped.skip_message

    shutil.copy(held, report_path(reports, first))  # a report of the first alert's day
    early = evaluate(published)
    assert early.run_requests and {day_of(r) for r in early.run_requests} == {first}
    waiting = evaluate(published, early.cursor)
    assert isinstance(waiting, dg.SkipReason) and "is not written yet" in waiting.skip_message

    held.rename(latest)
    later = evaluate(published, early.cursor)
    asked = [r.run_key for r in [*early.run_requests, *later.run_requests]]
    assert sorted(asked) == sorted(r.run_key for r in everything)


def day_of(request: dg.RunRequest) -> date:
    return date.fromisoformat(request.run_config["ops"]["post_alert"]["config"]["day"])


def date_of(key: str) -> date:
    return date.fromisoformat(key.rsplit(":", 1)[1])
