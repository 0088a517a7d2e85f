"""The Mastodon connector against the emulated instance: what lands in raw, and when."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import date, timedelta
from typing import Any

import duckdb
import pytest
from pytest_httpserver import HTTPServer

from productops.connectors.http import AuthError
from productops.connectors.mastodon import (
    State,
    cursor_name,
    mastodon_client,
    newer,
    pull_mastodon,
)
from productops.connectors.pull import CursorStore, PullResult
from productops.settings import DataPaths
from resources.connectors import API_CLASSES, API_RESOURCES, MastodonApi
from tests.helpers import Sleeps
from tests.mastodon_emulator import BASE, NOW, TOKEN, MastodonEmulator, iso

TAGS = ["beacon", "beaconapp"]
START = BASE.date()
RESET_WAIT = 8.25  # the emulator's window resets 7.25 s after its clock, plus a second of skew


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def em(httpserver: HTTPServer) -> MastodonEmulator:
    return MastodonEmulator(httpserver, clock=NOW.timestamp)


def pull(
    paths: DataPaths, em: MastodonEmulator, sleeps: Sleeps, *, token: str | None = TOKEN,
    tags: list[str] = TAGS, queries: list[str] | None = None, start: date = START, **kw: Any,
) -> list[PullResult]:  # fmt: skip
    queries = ["beacon"] if queries is None else queries
    with mastodon_client(em.server.url_for("/"), token, sleep=sleeps, clock=em.clock) as client:
        return pull_mastodon(paths, client, start, tags, queries, now=NOW, **kw)


def cursor_name_for(em: MastodonEmulator) -> str:
    with mastodon_client(em.server.url_for("/")) as client:
        return cursor_name(client)


def raw(paths: DataPaths) -> list[str]:
    """Every record in the social source's raw lake, as its JSON text."""
    files = list((paths.raw / "social").glob("*/*.parquet"))
    if not files:
        return []
    with duckdb.connect() as con:
        return [r for (r,) in con.execute(
            "SELECT record FROM read_parquet(?)", [[str(f) for f in files]]).fetchall()]  # fmt: skip


def statuses(paths: DataPaths) -> dict[str, list[dict]]:
    """The raw statuses by key (`uri`): every version saved."""
    by_uri: dict[str, list[dict]] = {}
    for text in raw(paths):
        record = json.loads(text)
        if "uri" in record:
            by_uri.setdefault(record["uri"], []).append(record)
    return by_uri


def tombstones(paths: DataPaths) -> list[dict]:
    return [r["productops_tombstone"] for r in map(json.loads, raw(paths))
            if "productops_tombstone" in r]  # fmt: skip


def assert_no_bytes_twice(paths: DataPaths) -> None:
    twice = [text[:80] for text, n in Counter(raw(paths)).items() if n > 1]
    assert not twice, twice


def requests_to(em: MastodonEmulator, path: str, since: int = 0) -> list[dict]:
    return [args for p, args in em.requests[since:] if p == path]


@pytest.mark.parametrize("repeat_boundary", [False, True])
def test_pages_to_the_end_and_saves_each_status_once_exactly_as_sent(
    paths: DataPaths, em: MastodonEmulator, sleeps: Sleeps, repeat_boundary: bool
) -> None:
    """Three feeds (two hashtags and a search) share a third of their statuses, and with
    `repeat_boundary` each page's last status comes again on the next one."""
    em.repeat_boundary = repeat_boundary
    (result,) = pull(paths, em, sleeps, limit=10)
    saved = statuses(paths)
    assert sorted(saved) == sorted(s["uri"] for s in em.statuses.values())
    assert all(len(v) == 1 for v in saved.values())
    assert all(v[0] == em.statuses[v[0]["id"]] for v in saved.values())  # no reshaping
    assert_no_bytes_twice(paths)
    assert result.records == len(em.statuses) and tombstones(paths) == []
    walked = requests_to(em, "/api/v1/timelines/tag/beacon")
    assert len(walked) >= 14 and all(a["limit"] == ["10"] for a in walked)
    assert [a.get("max_id") for a in walked[:2]] == [None, walked[1]["max_id"]]
    offsets = [a["offset"][0] for a in requests_to(em, "/api/v2/search")]
    assert offsets[:3] == ["0", "10", "20"] and len(offsets) >= 14
    assert sleeps == []
    landed = [json.loads(p.read_text())
              for p in (paths.landing_dir("social") / "api").glob("mastodon_statuses_*.json")]  # fmt: skip
    assert len(landed) >= 14 and all(page for page in landed)  # no empty pages land
    assert sum(map(len, landed)) == result.records


def test_first_run_walks_back_to_the_start_date_only(
    paths: DataPaths, em: MastodonEmulator, sleeps: Sleeps
) -> None:
    start = BASE + timedelta(days=2)
    pull(paths, em, sleeps, start=start.date(), limit=10, queries=[])
    expected = {s["uri"] for s in em.statuses.values() if s["created_at"] >= iso(start)}
    assert set(statuses(paths)) == expected and len(expected) < len(em.statuses)
    assert len(requests_to(em, "/api/v1/timelines/tag/beacon")) < 14


def test_the_next_pull_reads_forward_from_the_newest_id(
    paths: DataPaths, em: MastodonEmulator, sleeps: Sleeps
) -> None:
    pull(paths, em, sleeps, limit=10)
    state = State.load(CursorStore(paths, cursor_name_for(em)).load())
    newest = state.feeds["tag:beacon"]["newest"]
    assert newest == max(em.statuses, key=int) and state.feeds["tag:beacon"]["gap"] is None
    later = [
        em.post(NOW - timedelta(minutes=30 - i), ["beacon"], f"Beacon news {i}") for i in range(12)
    ]
    before = len(em.requests)
    pull(paths, em, sleeps, limit=10)
    forward = requests_to(em, "/api/v1/timelines/tag/beacon", before)
    assert forward[0]["min_id"] == [newest] and all("max_id" not in a for a in forward)
    assert [len(a["min_id"]) for a in forward] == [1, 1, 1]  # 10 new, 2 new, an empty page
    search = requests_to(em, "/api/v2/search", before)
    assert search[0]["min_id"] == [newest]
    saved = statuses(paths)
    assert all(len(saved[s["uri"]]) == 1 for s in later)
    assert sum(map(len, saved.values())) == len(em.statuses)  # nothing unchanged came again
    assert_no_bytes_twice(paths)


def test_an_edit_and_new_counts_are_picked_up_by_the_next_pull(
    paths: DataPaths, em: MastodonEmulator, sleeps: Sleeps
) -> None:
    """The statuses edited are days old: only the re-read of recent ids sees them. Every
    author's profile changed too (followers, last post), which alone saves nothing."""
    pull(paths, em, sleeps)
    edited = em.edit(5, "Beacon, edited: works offline now", at=NOW - timedelta(hours=1))
    liked = em.favourite(40)
    em.churn()
    before = len(em.requests)
    pull(paths, em, sleeps)
    saved = statuses(paths)
    assert edited in saved[edited["uri"]] and edited["edited_at"]
    assert [v["edited_at"] for v in saved[edited["uri"]]].count(None) == 1
    assert {v["favourites_count"] for v in saved[liked["uri"]]} == {
        liked["favourites_count"] - 1,
        liked["favourites_count"],
    }
    assert {u for u, v in saved.items() if len(v) > 1} == {edited["uri"], liked["uri"]}
    lookups = requests_to(em, "/api/v1/statuses", before)
    assert all(len(a["id[]"]) <= 20 for a in lookups)
    assert sum(len(a["id[]"]) for a in lookups) == len(em.statuses)
    assert_no_bytes_twice(paths)


def test_a_deletion_is_saved_as_a_tombstone_once(
    paths: DataPaths, em: MastodonEmulator, sleeps: Sleeps
) -> None:
    pull(paths, em, sleeps)
    gone = em.delete(9)
    pull(paths, em, sleeps)
    assert tombstones(paths) == [
        {"channel": "mastodon", "key": gone["uri"], "created_at": gone["created_at"],
         "deleted_at": "2026-03-05T00:00:00Z"}
    ]  # fmt: skip
    pull(paths, em, sleeps)  # forgotten once it is gone: no second tombstone
    assert len(tombstones(paths)) == 1
    assert len(statuses(paths)[gone["uri"]]) == 1


def test_429_and_503_are_waited_out_as_the_headers_say(
    paths: DataPaths, em: MastodonEmulator, sleeps: Sleeps
) -> None:
    """Mastodon's 429 has no Retry-After: its `X-RateLimit-Reset` (an ISO time) says when."""
    em.fault_every = 4
    pull(paths, em, sleeps, limit=20)
    assert em.faults >= 6
    waits_429 = [s for s in sleeps if s == pytest.approx(RESET_WAIT)]
    assert len(waits_429) == (em.faults + 1) // 2
    assert len(sleeps) == em.faults  # every 503 retried after a backoff as well
    assert sorted(statuses(paths)) == sorted(s["uri"] for s in em.statuses.values())
    assert_no_bytes_twice(paths)


def test_a_spent_window_is_waited_out_before_the_next_request(
    paths: DataPaths, em: MastodonEmulator, sleeps: Sleeps
) -> None:
    em.spent_after = 2  # the second answer says X-RateLimit-Remaining: 0
    pull(paths, em, sleeps, limit=40)
    assert sleeps == [pytest.approx(RESET_WAIT)]
    assert em.faults == 0 and len(statuses(paths)) == len(em.statuses)


def test_a_pull_cut_short_resumes_from_the_committed_cursor(
    paths: DataPaths, em: MastodonEmulator, sleeps: Sleeps
) -> None:
    """Pages of 5: the cursor is committed after 20 pages, then requests are refused."""
    em.fail_after = 24
    with pytest.raises(AuthError):
        pull(paths, em, sleeps, limit=5)
    committed = State.load(CursorStore(paths, cursor_name_for(em)).load())
    gap = committed.feeds["tag:beacon"]["gap"]
    assert gap is not None and gap["max_id"]  # half-way down the first walk
    em.fail_after = None
    before = len(em.requests)
    pull(paths, em, sleeps, limit=5)
    assert requests_to(em, "/api/v1/timelines/tag/beacon", before)[0]["max_id"] == [gap["max_id"]]
    saved = statuses(paths)
    assert sorted(saved) == sorted(s["uri"] for s in em.statuses.values())
    assert all(len(v) == 1 for v in saved.values())
    assert_no_bytes_twice(paths)


def test_walks_bounded_by_pages_go_on_in_the_next_run(
    paths: DataPaths, em: MastodonEmulator, sleeps: Sleeps
) -> None:
    pull(paths, em, sleeps, limit=10, max_pages=3)
    state = State.load(CursorStore(paths, cursor_name_for(em)).load())
    assert state.feeds["tag:beacon"]["gap"] and state.feeds["search:beacon"]["gap"]
    assert len(statuses(paths)) < len(em.statuses)
    before = len(em.requests)
    pull(paths, em, sleeps, limit=10, max_pages=3)
    resumed = requests_to(em, "/api/v2/search", before)[0]
    assert resumed["max_id"] == [state.feeds["search:beacon"]["gap"]["max_id"]]
    assert resumed["offset"] == ["0"]
    for _ in range(3):
        pull(paths, em, sleeps, limit=10, max_pages=3)
    saved = statuses(paths)
    assert sorted(saved) == sorted(s["uri"] for s in em.statuses.values())
    assert all(len(v) == 1 for v in saved.values())


def test_ids_that_are_not_numbers_page_by_links_and_seen_ids(
    paths: DataPaths, httpserver: HTTPServer, sleeps: Sleeps
) -> None:
    em = MastodonEmulator(httpserver, clock=NOW.timestamp, string_ids=True)
    pull(paths, em, sleeps, limit=10, queries=[])
    new = em.post(NOW - timedelta(minutes=5), ["beacon"], "Beacon, string ids")
    gone = em.delete(3)
    pull(paths, em, sleeps, limit=10, queries=[])
    saved = statuses(paths)
    assert set(saved) == {s["uri"] for s in em.statuses.values()} | {gone["uri"]}
    assert all(len(v) == 1 for v in saved.values()) and new["uri"] in saved
    assert [t["key"] for t in tombstones(paths)] == [gone["uri"]]


def test_ids_compare_as_numbers_only_when_both_are() -> None:
    assert newer("113000000000000010", "99999999999999999") is True
    assert newer("9", "10") is False
    assert newer("AbQx2", "AbQx1") is None and newer("10", "AbQx1") is None


def test_an_unknown_hashtag_is_logged_and_the_others_go_on(
    paths: DataPaths, em: MastodonEmulator, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    em.disabled_tags = {"beaconapp"}  # a feed the admins restricted: an empty array
    with caplog.at_level(logging.WARNING):
        pull(paths, em, sleeps, tags=["nosuchtag", "beaconapp", "beacon"], queries=[])
    assert any("#nosuchtag: HTTP 404" in r.getMessage() for r in caplog.records)
    assert len(statuses(paths)) == len(em.statuses)


def test_an_instance_without_the_lookup_endpoint_says_so_once(
    paths: DataPaths, em: MastodonEmulator, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    em.batch_endpoint = False
    pull(paths, em, sleeps)
    em.delete(9)
    with caplog.at_level(logging.WARNING):
        pull(paths, em, sleeps)
    said = [r for r in caplog.records if "GET /api/v1/statuses" in r.getMessage()]
    assert len(said) == 1 and tombstones(paths) == []


def test_the_token_is_in_no_log_error_or_file(
    paths: DataPaths, em: MastodonEmulator, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    em.fault_every = 3
    with caplog.at_level(logging.DEBUG):
        pull(paths, em, sleeps, limit=20)
        em.fail_after = len(em.requests)
        with pytest.raises(AuthError) as refused:
            pull(paths, em, sleeps)
    assert "MASTODON_ACCESS_TOKEN" in str(refused.value)
    assert TOKEN not in str(refused.value)
    assert caplog.records and all(TOKEN not in r.getMessage() for r in caplog.records)
    written = [p for p in paths.root.rglob("*") if p.is_file()]
    assert written and all(TOKEN.encode() not in p.read_bytes() for p in written)


def test_an_unconfigured_resource_is_skipped_with_one_line_naming_its_settings(
    paths: DataPaths, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    log = logging.getLogger("test.mastodon")
    for name in ("MASTODON_BASE_URL", "MASTODON_ACCESS_TOKEN", "MASTODON_HASHTAGS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SOCIAL_QUERIES", "beacon")
    with caplog.at_level(logging.INFO, logger="test.mastodon"):
        assert MastodonApi().pull(paths, START, log) == []
        monkeypatch.setenv("MASTODON_BASE_URL", "https://social.example")  # queries, no token
        assert MastodonApi().pull(paths, START, log) == []
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and all("MastodonApi: not configured" in line for line in lines)
    for setting in ("MASTODON_BASE_URL", "MASTODON_HASHTAGS", "MASTODON_ACCESS_TOKEN"):
        assert setting in lines[0]
    assert "mastodon" in API_RESOURCES["social"] and API_CLASSES["mastodon"] is MastodonApi


def test_the_resource_searches_only_with_a_token(
    paths: DataPaths, em: MastodonEmulator, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    log = logging.getLogger("test.mastodon")
    monkeypatch.setenv("MASTODON_BASE_URL", em.server.url_for("/"))
    monkeypatch.setenv("MASTODON_HASHTAGS", "#BeaconApp, ")
    monkeypatch.setenv("SOCIAL_QUERIES", "beacon")
    monkeypatch.delenv("MASTODON_ACCESS_TOKEN", raising=False)
    with caplog.at_level(logging.INFO, logger="test.mastodon"):
        MastodonApi().pull(paths, START, log)
    assert requests_to(em, "/api/v2/search") == []
    assert len(statuses(paths)) == sum("beaconapp" in s["content"] for s in em.statuses.values())
    assert any("MASTODON_ACCESS_TOKEN" in r.getMessage() for r in caplog.records)
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", TOKEN)
    MastodonApi().pull(paths, START, log)
    assert requests_to(em, "/api/v2/search")
    assert len(statuses(paths)) == len(em.statuses)
