"""`productops run` against the API emulator: exactly the distinct records, final versions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from pytest_httpserver import HTTPServer

from pipelines.runner import materialise
from productops.settings import data_paths
from tests.api_emulator import TOKENS, Emulator
from tests.appstore_emulator import APP_ID, AppStoreEmulator

pytestmark = pytest.mark.slow
WINDOW = (date(2026, 3, 1), date(2026, 3, 4))
RAW_AND_STAGING = ["group:raw", "group:staging"]


@pytest.fixture
def emulator(httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    url = httpserver.url_for("").rstrip("/")
    for name, value in {
        "PRODUCTOPS_DATA_DIR": str(tmp_path / "data"), "PRODUCTOPS_PII_SALT": "s",
        "DELIGHTED_API_KEY": TOKENS["delighted"], "DELIGHTED_BASE_URL": url,
        "ZENDESK_BASE_URL": url, "ZENDESK_EMAIL": "ops@corp.com", "ZENDESK_API_TOKEN": TOKENS["zendesk"],
        "HN_BASE_URL": url, "SOCIAL_QUERIES": "Beacon",
        "OKTA_BASE_URL": url, "OKTA_API_TOKEN": TOKENS["okta"],
        # A second social channel through the same raw step: one storefront, 101 reviews.
        "APPSTORE_RSS_BASE_URL": url, "APPSTORE_APP_ID": APP_ID, "APPSTORE_COUNTRIES": "de",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    AppStoreEmulator(httpserver)
    return Emulator(httpserver)


def run(select: list[str] = RAW_AND_STAGING):
    with dg.DagsterInstance.ephemeral() as instance:
        return materialise(*WINDOW, select=select, instance=instance)


def staged(query: str) -> list[tuple]:
    with duckdb.connect(str(data_paths().warehouse), read_only=True) as con:
        return con.execute(query).fetchall()


def check_final_state(em: Emulator) -> None:
    assert staged("SELECT response_id, score FROM staging.nps_responses ORDER BY 1") == sorted(
        (r["id"], r["score"]) for r in em.responses.values()
    )
    assert staged("SELECT feedback_id, status FROM staging.feedback ORDER BY 1") == sorted(
        (f"zendesk:{t['id']}", t["status"]) for t in em.final_tickets().values()
    )
    assert staged(
        "SELECT platform, count(*), count(DISTINCT mention_id) FROM staging.social_mentions "
        "GROUP BY ALL ORDER BY 1"
    ) == [("app_store", 101, 101), ("hacker_news", 130, 130)]
    assert staged("SELECT count(*), count(DISTINCT event_id) FROM staging.tool_events") == [
        (140, 140)
    ]
    for source in ("nps", "feedback", "social", "tool_usage"):
        assert staged(f"SELECT count(*) FROM quarantine.{source}") == [(0,)], source


def test_pulls_exactly_the_distinct_records_then_their_edits(emulator: Emulator) -> None:
    first = run()
    assert first.success, first.errors
    check_final_state(emulator)
    emulator.edit()
    second = run(select=["*"])  # the whole graph, marts and serving included
    assert second.success, second.errors + second.failed_checks
    check_final_state(emulator)
    scores = [r["score"] for r in emulator.responses.values()]
    expected = 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)
    with duckdb.connect(str(data_paths().serving), read_only=True) as con:
        p, d, n = con.execute(
            "SELECT sum(promoters), sum(detractors), sum(responses) FROM marts.nps_daily WHERE segment = 'all'"
        ).fetchall()[0]
    assert n == len(scores) and 100 * (p - d) / n == pytest.approx(expected)
    assert staged("SELECT score FROM staging.nps_responses WHERE response_id = '5003'") == [(10,)]
    assert staged("SELECT points FROM staging.social_mentions WHERE mention_id = '9129'") == [(42,)]


def test_a_daily_pull_brings_edits_of_records_created_days_before(emulator: Emulator) -> None:
    assert run(select=["*"]).success
    emulator.edit_oldest()
    with dg.DagsterInstance.ephemeral() as instance:  # the daily run: the last day only
        daily = materialise(WINDOW[1], WINDOW[1], instance=instance)
    assert daily.success, daily.errors + daily.failed_checks
    check_final_state(emulator)
    assert staged("SELECT score FROM staging.nps_responses WHERE response_id = '5000'") == [(9,)]
    assert staged("SELECT points FROM staging.social_mentions WHERE mention_id = '9000'") == [(77,)]
    assert staged("SELECT status FROM staging.feedback WHERE feedback_id = 'zendesk:7000'") == [
        ("solved",)
    ]
    first_day = datetime.fromtimestamp(emulator.responses["5000"]["created_at"], UTC).date()
    with duckdb.connect(str(data_paths().serving), read_only=True) as con:
        promoters = con.execute(
            "SELECT promoters FROM marts.nps_daily WHERE date = ? AND segment = 'all'", [first_day]
        ).fetchall()[0][0]
    scores = [r["score"] for r in emulator.responses.values()
              if datetime.fromtimestamp(r["created_at"], UTC).date() == first_day]  # fmt: skip
    assert promoters == sum(s >= 9 for s in scores)


def test_one_request_in_five_failing_gives_the_same_result(emulator: Emulator) -> None:
    emulator.fault_every = 5
    outcome = run()
    assert outcome.success, outcome.errors
    check_final_state(emulator)
    assert emulator.faults >= 3  # 502s, and 429s of each vendor's kind


def test_a_run_killed_half_way_resumes_without_loss_or_duplicates(emulator: Emulator) -> None:
    emulator.fail_after = 6  # the credentials stop working part-way through the first run
    broken = run(["group:raw"])
    assert not broken.success
    assert any("refused the credentials" in e for e in broken.errors), broken.errors
    committed = {p.stem for p in (data_paths().lake / "_cursors").glob("*.json")}
    assert committed and "tool_usage" not in committed  # some sources got through, not all
    emulator.fail_after = None
    resumed = run()
    assert resumed.success, resumed.errors
    check_final_state(emulator)


def test_tokens_appear_in_nothing_the_project_writes(emulator: Emulator, tmp_path: Path) -> None:
    """Data folder, raw lake, warehouse, serving file, and Dagster's own event log and runs."""
    emulator.fault_every = 4
    (tmp_path / "dagster_home").mkdir()
    with dg.DagsterInstance.local_temp(tempdir=str(tmp_path / "dagster_home")) as instance:
        outcome = materialise(*WINDOW, instance=instance, log_level="DEBUG")
    assert outcome.success, outcome.errors + outcome.failed_checks
    emulator.fail_after = 0  # and in the errors of a run that is refused
    with dg.DagsterInstance.local_temp(tempdir=str(tmp_path / "dagster_home")) as instance:
        refused = materialise(*WINDOW, select=["group:raw"], instance=instance)
    assert not refused.success
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) > 50 and any(p.suffix == ".db" for p in written)
    for path in written:
        content = path.read_bytes()
        for token in TOKENS.values():
            assert token.encode() not in content, f"{token} found in {path}"
    for token in TOKENS.values():
        assert all(token not in e for e in refused.errors)
