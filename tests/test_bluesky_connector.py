"""The Bluesky connector against its emulator on loopback: paging, dedupe, edits,
deletions, rate limits, a run cut short, the kept session, and secrets kept out."""

from __future__ import annotations

import json
import logging
import stat
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from pytest_httpserver import HTTPServer

from productops.connectors import bluesky
from productops.connectors.bluesky_session import SessionStore, session_file
from productops.connectors.http import ApiClient, AuthError
from productops.connectors.pull import INGEST_EVERY_PAGES, CursorStore, PullResult
from productops.settings import DataPaths
from productops.sources import SOURCES
from productops.staging import raw_files
from resources import API_CLASSES, API_RESOURCES
from resources.connectors import BlueskyApi
from tests.bluesky_emulator import APP_PASSWORD, DID, HANDLE, QUERY, START, BlueskyEmulator, Clock

SETTINGS = ("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD", "BLUESKY_BASE_URL", "SOCIAL_QUERIES")


@pytest.fixture
def clock() -> Clock:
    return Clock(START + timedelta(days=2))  # the emulator's posts span the first day


@pytest.fixture
def emu(httpserver: HTTPServer, clock: Clock) -> BlueskyEmulator:
    return BlueskyEmulator(httpserver, clock)


def client(emu: BlueskyEmulator, paths: DataPaths, password: str = APP_PASSWORD) -> ApiClient:
    """A new client, as each run makes one; the session is what the data folder keeps."""
    store = SessionStore(session_file(paths))
    return bluesky.bluesky_client(emu.entryway, HANDLE, password, session_store=store,
                                  clock=emu.clock, sleep=emu.clock.sleep)  # fmt: skip


def pull(emu: BlueskyEmulator, paths: DataPaths, **kw) -> PullResult:
    kw.setdefault("page_size", 10)
    with client(emu, paths) as c:
        [result] = bluesky.pull_bluesky(paths, c, START.date(), [QUERY], **kw)
    return result


def raw_rows(paths: DataPaths) -> list[tuple[str, dict]]:
    """(batch, record) of every record in the social raw lake, oldest ingestion first."""
    files = raw_files(paths, SOURCES["social"], None, None)
    if not files:
        return []
    with duckdb.connect() as con:
        rows = con.execute(
            "SELECT batch_id, record FROM read_parquet(?) ORDER BY ingested_at, batch_id, record_no",
            [files],
        ).fetchall()
    return [(batch, json.loads(record)) for batch, record in rows]


def raw_posts(paths: DataPaths) -> list[dict]:
    return [r for _, r in raw_rows(paths) if "uri" in r]


def latest(paths: DataPaths) -> dict[str, dict]:
    """Each key's last saved version, as staging keeps it."""
    found: dict[str, dict] = {}
    for record in (r for _, r in raw_rows(paths)):
        key = record.get("uri") or record["productops_tombstone"]["key"]
        found[key] = record
    return found


def landed_pages(paths: DataPaths) -> list[list[dict]]:
    folder = paths.landing_dir("social") / "api"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("bluesky_posts_*.json"))]


def state(paths: DataPaths) -> bluesky.ChannelState:
    return bluesky.ChannelState.decode(CursorStore(paths, bluesky.CURSOR).load())


def test_pages_to_the_end_and_saves_posts_exactly_as_sent(
    emu: BlueskyEmulator, paths: DataPaths
) -> None:
    result = pull(emu, paths)
    matching = emu.matching()
    assert len(matching) == 48 and result.records == 48 and result.pages == 5
    assert {p["uri"]: p for p in raw_posts(paths)} == matching  # every field as the API sent it
    assert emu.calls == {"createSession": 1, "searchPosts": 5}
    first = next(args for endpoint, args, _ in emu.requests if endpoint == "searchPosts")
    assert first == {"q": [QUERY], "sort": ["latest"], "since": ["2026-03-01T00:00:00.000Z"],
                     "limit": ["10"]}  # fmt: skip
    # Logged in at the entryway; everything after at the PDS of the DID document.
    assert [host.split(":")[0] for _, _, host in emu.requests] == ["localhost"] + ["127.0.0.1"] * 5
    assert emu.misdirected == 0
    held = state(paths)
    assert set(held.held) == set(matching)
    newest = max(matching.values(), key=bluesky.sort_at)
    assert held.queries[QUERY] == {"top": newest["record"]["createdAt"], "windows": []}


def test_the_same_post_on_two_pages_is_saved_once(emu: BlueskyEmulator, paths: DataPaths) -> None:
    emu.arrivals_per_page = 2  # posts arrive while the search is paged: offsets shift
    pull(emu, paths)
    assert max(emu.served.values()) == 2  # each page repeated the last two of the one before
    saved = Counter(p["uri"] for page in landed_pages(paths) for p in page)
    assert set(saved) == set(emu.served) and max(saved.values()) == 1
    emu.arrivals_per_page = 0
    emu.clock.advance(timedelta(hours=1))
    pull(emu, paths)  # the arrivals, newer than the first run's newest post
    versions = Counter(json.dumps(p, sort_keys=True) for p in raw_posts(paths))
    assert max(versions.values()) == 1  # the same bytes never twice
    assert {p["uri"] for p in raw_posts(paths)} == set(emu.matching())
    assert len(emu.matching()) == 48 + 2 * 5  # five pages came with a cursor


def test_an_edit_is_picked_up_on_the_next_pull(emu: BlueskyEmulator, paths: DataPaths) -> None:
    pull(emu, paths)
    oldest = min(emu.matching().values(), key=bluesky.sort_at)["uri"]  # far behind the overlap
    emu.like(oldest, 99)
    emu.clock.advance(timedelta(days=1))
    second = pull(emu, paths)
    assert second.records == 1 and emu.calls["getPosts"] == 2  # 48 held posts, 25 a call
    assert latest(paths)[oldest]["likeCount"] == 99
    assert len(raw_posts(paths)) == 48 + 1  # nothing unchanged saved again


def test_a_deletion_is_saved_as_a_tombstone(emu: BlueskyEmulator, paths: DataPaths) -> None:
    pull(emu, paths)
    gone = sorted(emu.matching())[3]
    post = emu.posts[gone]
    emu.delete(gone)
    emu.clock.advance(timedelta(hours=6))
    pull(emu, paths)
    [tomb] = [r["productops_tombstone"] for _, r in raw_rows(paths) if "productops_tombstone" in r]
    assert tomb == {"channel": "bluesky", "key": gone, "created_at": tomb["created_at"],
                    "deleted_at": "2026-03-03T06:00:00Z"}  # fmt: skip
    assert tomb["created_at"][:10] == post["record"]["createdAt"][:10]  # the post's own day
    assert gone not in state(paths).held
    pull(emu, paths)
    assert len([r for _, r in raw_rows(paths) if "productops_tombstone" in r]) == 1


def test_posts_older_than_the_refresh_window_are_let_go_but_the_overlap(
    emu: BlueskyEmulator, paths: DataPaths
) -> None:
    """A week later only the posts the next search reads again (2 hours behind the
    newest) are held: they are not saved again, and the older ones are not re-read."""
    pull(emu, paths, refresh=timedelta(days=7))
    emu.clock.advance(timedelta(days=7))
    pull(emu, paths, refresh=timedelta(days=7))
    top = max(bluesky.sort_at(p) for p in emu.matching().values())
    near = {u for u, p in emu.matching().items() if bluesky.sort_at(p) >= top - timedelta(hours=2)}
    assert set(state(paths).held) == near and 0 < len(near) < 25
    assert emu.calls["getPosts"] == 1
    assert len(raw_posts(paths)) == 48  # nothing saved twice


def test_429_is_waited_out_as_retry_after_says(emu: BlueskyEmulator, paths: DataPaths) -> None:
    emu.fault_every, emu.fault_kinds = 3, ("429",)
    pull(emu, paths)
    assert emu.answered[429] == 2
    assert emu.clock.sleeps == [7.0, 7.0]
    assert len({p["uri"] for p in raw_posts(paths)}) == 48


def test_a_spent_window_is_waited_out_before_the_next_request(
    emu: BlueskyEmulator, paths: DataPaths
) -> None:
    emu.window_limit = 4  # the login and three pages spend it
    pull(emu, paths)
    assert emu.answered[429] == 0
    assert emu.clock.sleeps == [301.0]  # until RateLimit-Reset, plus a second of skew
    assert len(raw_posts(paths)) == 48


def test_server_errors_are_retried(emu: BlueskyEmulator, paths: DataPaths) -> None:
    emu.fault_every, emu.fault_kinds = 2, ("503", "502")
    pull(emu, paths)
    assert emu.answered[503] + emu.answered[502] == emu.faults >= 3
    assert len(emu.clock.sleeps) == emu.faults
    assert len(raw_posts(paths)) == 48


def test_a_pull_cut_short_resumes_from_the_committed_cursor(
    emu: BlueskyEmulator, paths: DataPaths
) -> None:
    """24 pages of two; the credentials stop working after the 21st: the first 20 were
    committed (ingested, cursor saved), the 21st waits in landing."""
    assert INGEST_EVERY_PAGES == 20
    emu.fail_after = 1 + 21  # the login, then 21 pages
    with pytest.raises(AuthError):
        pull(emu, paths, page_size=2)
    cut = state(paths)
    [(since, until)] = cut.queries[QUERY]["windows"]
    assert since == "2026-03-01T00:00:00.000Z" and until is not None
    assert len(cut.held) == 40
    emu.fail_after = None
    n = len(emu.requests)
    pull(emu, paths, page_size=2)
    resumed = [args for endpoint, args, _ in emu.requests[n:] if endpoint == "searchPosts"]
    assert len(resumed) < 24  # not read again from the start
    assert any(args.get("until") == [until] for args in resumed)
    assert set(latest(paths)) == set(emu.matching())  # every post, once by key
    assert latest(paths) == emu.matching()
    assert state(paths).queries[QUERY]["windows"] == []


def test_a_page_budget_leaves_the_rest_for_the_next_run(
    emu: BlueskyEmulator, paths: DataPaths
) -> None:
    pull(emu, paths, max_pages=2)
    [(since, until)] = state(paths).queries[QUERY]["windows"]
    assert since == "2026-03-01T00:00:00.000Z" and until is not None
    assert len(raw_posts(paths)) == 20
    for _ in range(5):  # each run: the newest posts, then 10 more of the rest
        emu.clock.advance(timedelta(hours=1))
        pull(emu, paths, max_pages=2)
        if not state(paths).queries[QUERY]["windows"]:
            break
    assert state(paths).queries[QUERY]["windows"] == []
    assert latest(paths) == emu.matching()
    assert len(raw_posts(paths)) == 48  # re-read posts were not saved again


def test_search_ends_when_the_cursor_does_not_move(httpserver: HTTPServer) -> None:
    httpserver.expect_request(bluesky.SEARCH_POSTS).respond_with_json(
        {"posts": [{"uri": "at://did:plc:x/app.bsky.feed.post/1"}], "cursor": "25"}
    )
    with ApiClient("Bluesky", httpserver.url_for("/"), "X") as c:
        pages = list(bluesky.search_posts(c, query=QUERY, since="2026-03-01", max_pages=10))
    assert [cursor for _, cursor in pages] == ["25", None]


def test_a_session_kept_for_another_account_is_not_used(
    emu: BlueskyEmulator, paths: DataPaths
) -> None:
    pull(emu, paths)
    store = SessionStore(session_file(paths))
    other = bluesky.bluesky_client(emu.entryway, DID, APP_PASSWORD, session_store=store,
                                   clock=emu.clock, sleep=emu.clock.sleep)  # fmt: skip
    with other:
        bluesky.pull_bluesky(paths, other, START.date(), [QUERY])
    assert emu.calls["createSession"] == 2 and store.load()["identifier"] == DID


def test_the_session_is_kept_between_runs_and_refreshed_before_it_expires(
    emu: BlueskyEmulator, paths: DataPaths
) -> None:
    pull(emu, paths)
    file = session_file(paths)
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(file.parent.stat().st_mode) == 0o700
    first = json.loads(file.read_text())
    emu.clock.advance(timedelta(minutes=30))
    pull(emu, paths)  # a new client, a new process: the kept session, no login
    assert emu.calls["createSession"] == 1 and emu.calls["refreshSession"] == 0
    emu.clock.advance(timedelta(minutes=80))  # 10 minutes before the access token's exp
    n = len(emu.requests)
    pull(emu, paths)
    assert emu.requests[n][0] == "refreshSession" and emu.calls["refreshSession"] == 1
    assert emu.calls["createSession"] == 1
    kept = json.loads(file.read_text())
    assert kept["accessJwt"] != first["accessJwt"] and kept["pds"] == emu.pds
    assert APP_PASSWORD not in file.read_text()


@pytest.mark.parametrize("expired_status", [400, 401])  # the PDS's ExpiredToken, the AppView's
def test_an_expired_token_answer_renews_the_session_and_asks_again(
    emu: BlueskyEmulator, paths: DataPaths, expired_status: int
) -> None:
    pull(emu, paths)
    emu.expired_status = expired_status
    emu.expire_tokens()  # the server says so, whatever the token's exp
    emu.like(sorted(emu.matching())[0], 50)
    second = pull(emu, paths)
    assert second.records == 1
    assert emu.answered[expired_status] == 1
    assert emu.calls["refreshSession"] == 1 and emu.calls["createSession"] == 1


def test_a_failed_refresh_logs_in_again(emu: BlueskyEmulator, paths: DataPaths) -> None:
    pull(emu, paths)
    emu.expire_tokens()
    emu.revoke_refresh_tokens()
    pull(emu, paths)
    assert emu.calls["refreshSession"] == 1 and emu.calls["createSession"] == 2


def test_a_refused_login_names_the_settings_never_the_password(
    emu: BlueskyEmulator, paths: DataPaths
) -> None:
    with client(emu, paths, password="wrong-pass-word") as c, pytest.raises(AuthError) as err:
        bluesky.pull_bluesky(paths, c, START.date(), [QUERY])
    assert "BLUESKY_HANDLE and BLUESKY_APP_PASSWORD" in str(err.value)
    assert "wrong-pass-word" not in str(err.value)
    assert emu.calls == {"createSession": 1}  # not retried: it would not help
    assert not session_file(paths).exists()


def test_secrets_appear_in_no_log_error_or_file_but_the_session(
    emu: BlueskyEmulator, paths: DataPaths, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emu.fault_every = 4
    pull(emu, paths)
    emu.expire_tokens()
    emu.like(sorted(emu.matching())[5], 70)
    pull(emu, paths)
    emu.fail_after = len(emu.requests)  # and a run refused outright
    with pytest.raises(AuthError) as err:
        pull(emu, paths)
    assert emu.calls["refreshSession"] >= 1 and len(emu.issued) >= 4
    for secret in [APP_PASSWORD, *emu.issued]:
        assert secret not in caplog.text
        assert secret not in str(err.value)
    session = session_file(paths)
    written = [p for p in Path(paths.root).rglob("*") if p.is_file()]
    assert len(written) > 10 and session in written
    for path in written:
        content = path.read_bytes()
        assert APP_PASSWORD.encode() not in content, path
        if path != session:
            assert not any(t.encode() in content for t in emu.issued), path


def test_an_unconfigured_resource_is_skipped_with_one_line(
    paths: DataPaths, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SOCIAL_QUERIES", "Beacon")  # the other social channels' setting alone
    log = logging.getLogger("test.bluesky")
    with caplog.at_level(logging.INFO, logger="test.bluesky"):
        assert BlueskyApi().pull(paths, date(2026, 3, 1), log) == []
    [line] = [r.getMessage() for r in caplog.records if r.name == "test.bluesky"]
    assert "BlueskyApi: not configured" in line
    assert all(
        name in line for name in ("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD", "SOCIAL_QUERIES")
    )


def test_the_resource_pulls_with_its_settings(
    httpserver: HTTPServer, paths: DataPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "bluesky" in API_RESOURCES["social"] and API_CLASSES["bluesky"] is BlueskyApi
    emu = BlueskyEmulator(httpserver, Clock(datetime.now(UTC)))  # the resource's real clock
    for name, value in {"BLUESKY_BASE_URL": emu.entryway, "BLUESKY_HANDLE": HANDLE,
                        "BLUESKY_APP_PASSWORD": APP_PASSWORD, "SOCIAL_QUERIES": f"{QUERY}, nothing"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    [result] = BlueskyApi().pull(paths, START.date(), logging.getLogger("test.bluesky"))
    assert result.records == 48 and emu.calls["searchPosts"] == 2  # one page each query
    assert session_file(paths).exists()
    assert set(state(paths).queries) == {QUERY, "nothing"}
