"""The Reddit connector against the Reddit emulator: paging, increments, re-reads, faults."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from pytest_httpserver import HTTPServer

from productops import __version__
from productops.connectors import reddit
from productops.connectors.http import ApiClient, AuthError
from productops.connectors.pull import CursorStore
from productops.settings import DataPaths
from resources.connectors import API_CLASSES, API_RESOURCES, RedditApi
from tests.reddit_emulator import (
    CLIENT_ID,
    CLIENT_SECRET,
    QUERY,
    SUBREDDIT,
    USER_AGENT,
    RedditEmulator,
)

START = date(2026, 3, 1)
HOUR = 3600.0


class Sleeps(list):
    """The client's sleep: records each wait and moves the emulator's clock on."""

    def __init__(self, em: RedditEmulator) -> None:
        super().__init__()
        self.em = em

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        self.em.sleep(seconds)


@pytest.fixture
def em(httpserver: HTTPServer) -> RedditEmulator:
    emulator = RedditEmulator(httpserver)
    emulator.populate()
    return emulator


@pytest.fixture
def sleeps(em: RedditEmulator) -> Sleeps:
    return Sleeps(em)


def client(em: RedditEmulator, sleeps: Sleeps, secret: str = CLIENT_SECRET) -> ApiClient:
    url = em.server.url_for("/").rstrip("/")
    return reddit.reddit_client(
        url, url, CLIENT_ID, secret, USER_AGENT, sleep=sleeps, clock=lambda: em.now
    )


def pull(paths: DataPaths, em: RedditEmulator, sleeps: Sleeps, **kw) -> list:
    with client(em, sleeps) as c:
        return reddit.pull_reddit(paths, c, START, [QUERY], [SUBREDDIT], now=em.now, **kw)


def raw_records(paths: DataPaths) -> list[str]:
    """Every record of the social raw lake, as stored (JSON text), oldest batch first."""
    files = sorted(str(p) for p in (paths.raw / "social").glob("date=*/*.parquet"))
    if not files:
        return []
    query = "SELECT record FROM read_parquet(?) ORDER BY ingested_at, file, record_no"
    with duckdb.connect() as con:
        return [r for (r,) in con.execute(query, [files]).fetchall()]


def key(record: dict) -> str:
    if "productops_tombstone" in record:
        return record["productops_tombstone"]["key"]
    return record["data"]["name"]


def versions(paths: DataPaths) -> dict[str, list[dict]]:
    """Each key's saved versions, in the order they were saved."""
    found: dict[str, list[dict]] = {}
    for text in raw_records(paths):
        record = json.loads(text)
        found.setdefault(key(record), []).append(record)
    return found


def expected(em: RedditEmulator) -> set[str]:
    """What the feeds reach: posts matching the query anywhere, r/beaconapp's posts and comments."""
    searched = {n for n in em.live("t3") if QUERY.lower() in em.items[n].data["title"].lower()}
    return searched | set(em.live("t3", SUBREDDIT)) | set(em.live("t1", SUBREDDIT))


def assert_once_each(paths: DataPaths, keys: set[str]) -> None:
    records = raw_records(paths)
    assert len(records) == len(set(records)), "the same bytes saved twice"
    saved = [key(json.loads(r)) for r in records]
    assert sorted(saved) == sorted(keys)


def calls(em: RedditEmulator, path: str) -> list[dict]:
    return [args for p, args in em.calls if p == path]


def test_pages_every_feed_to_the_end_and_saves_the_children_as_listed(
    paths: DataPaths, em: RedditEmulator, sleeps: Sleeps
) -> None:
    results = pull(paths, em, sleeps)
    keys = expected(em)
    assert len(keys) == 345  # 200 posts found, 25 more in r/beaconapp, 120 comments
    assert_once_each(paths, keys)
    for records in versions(paths).values():
        assert records == [em.child(key(records[0]))]  # exactly as Reddit listed it
    titles = [r[0]["data"]["title"] for r in versions(paths).values() if r[0]["kind"] == "t3"]
    title = next(t for t in titles if t.startswith(QUERY))
    assert "&" in title and "<sync>" in title  # raw_json=1: no HTML escapes
    searches = calls(em, "/search")
    assert "after" not in searches[0] and searches[1]["after"].startswith("t3_")
    assert {k: v for k, v in searches[0].items() if k != "after"} == {
        "q": QUERY, "sort": "new", "type": "link", "raw_json": "1", "limit": "100"
    }  # fmt: skip
    assert len(calls(em, f"/r/{SUBREDDIT}/new")) == 2
    assert len(calls(em, f"/r/{SUBREDDIT}/comments")) == 2
    assert calls(em, "/api/info") == []  # everything was just listed
    assert em.token_requests == 1 and em.user_agents == {USER_AGENT}
    assert sum(r.records for r in results) == 345
    pages = sorted((paths.landing_dir("social") / "api").glob("reddit_listing_*.json"))
    assert len(pages) == 6 and sleeps == []
    state = json.loads(CursorStore(paths, "social_reddit").load())
    assert set(state["feeds"]) == {
        f"search:{QUERY}", f"r/{SUBREDDIT}/new", f"r/{SUBREDDIT}/comments"
    }  # fmt: skip
    assert set(state["items"]) == keys


def test_the_same_item_on_two_pages_is_saved_once(
    paths: DataPaths, em: RedditEmulator, sleeps: Sleeps
) -> None:
    em.max_limit, em.repeat_boundary = 40, True
    pull(paths, em, sleeps)
    assert_once_each(paths, expected(em))
    assert len(calls(em, "/search")) == 6  # 200 items, 39 new ones a page


def test_an_after_anchor_removed_mid_walk_restarts_the_listing_and_the_walk_carries_on(
    paths: DataPaths, em: RedditEmulator, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    em.max_limit = 40
    before = expected(em)
    em.vanish_anchors = 2  # the first two pages' last items are removed once served
    pull(paths, em, sleeps)
    vanished = before - expected(em)
    assert len(vanished) == 2
    assert_once_each(paths, before)  # the removed anchors too, as they were first listed
    restarted = [a for a in calls(em, "/search") if a.get("after") in vanished]
    assert len(restarted) == 2  # each answered with page 1 again, then a fresh anchor
    assert len(calls(em, "/search")) == 5 + 2
    assert "kept starting again" not in caplog.text
    state = json.loads(CursorStore(paths, "social_reddit").load())
    assert f"search:{QUERY}" in state["feeds"]  # the walk reached its end


def test_a_listing_that_keeps_starting_again_is_given_up_and_walked_again_next_pull(
    paths: DataPaths, em: RedditEmulator, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    em.max_limit, em.vanish_anchors = 40, 1000  # every anchor removed once served
    pull(paths, em, sleeps)
    assert len(calls(em, "/search")) == 1 + 2 * reddit.MAX_REANCHORS + 1  # bounded
    assert "kept starting again" in caplog.text
    state = json.loads(CursorStore(paths, "social_reddit").load())
    assert f"search:{QUERY}" not in state["feeds"]  # not walked to the end: not moved on
    em.vanish_anchors = 0
    pull(paths, em, sleeps)
    saved = versions(paths)
    removed = {n for n, it in em.items.items() if it.state == "removed"}
    assert set(saved) == expected(em) | removed
    for name, records in saved.items():  # a removed anchor: as first listed, then re-read
        assert len(records) == (2 if name in removed else 1)
    assert len(raw_records(paths)) == len(set(raw_records(paths)))


def test_more_new_items_than_the_listing_cap_are_reported(
    paths: DataPaths, em: RedditEmulator, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    em.populate(posts=1100, comments=0, every_s=60.0)  # 880 more found, 1080 in all
    pull(paths, em, sleeps)
    assert len(calls(em, "/search")) == 10  # the cap: 1,000 items, then `after` is null
    assert "beyond Reddit's ~1,000-item cap" in caplog.text
    found = [n for n in em.live("t3") if QUERY in em.items[n].data["title"]]
    saved = set(versions(paths))
    assert set(found[:1000]) <= saved  # the newest 1,000; older ones only via r/beaconapp
    assert {n for n in found[1000:] if n in saved} <= set(em.live("t3", SUBREDDIT))


def test_the_next_pull_reads_what_is_new_and_saves_nothing_unchanged(
    paths: DataPaths, em: RedditEmulator, sleeps: Sleeps
) -> None:
    pull(paths, em, sleeps)
    first = em.now
    em.clock[0] += 2 * HOUR
    new = [em.post(f"Beacon launch {i}", SUBREDDIT, em.now - 60 * i) for i in range(5)]
    em.calls.clear()
    pull(paths, em, sleeps)
    assert_once_each(paths, expected(em))
    assert set(new) <= expected(em)
    # One page per feed (the overlap is reached on it), then the re-reads: 345 by 100.
    assert len(calls(em, "/search")) == 1 and len(calls(em, f"/r/{SUBREDDIT}/new")) == 1
    asked = [n for a in calls(em, "/api/info") for n in a["id"].split(",")]
    assert len(calls(em, "/api/info")) == 4 and len(asked) == len(set(asked))
    listed_again = expected(em) - set(new) - set(asked)  # within the overlap
    assert 0 < len(listed_again) < 40
    assert all(em.items[n].data["created_utc"] >= first - 3.5 * HOUR for n in listed_again)


def test_edits_and_score_changes_are_picked_up_on_the_next_pull(
    paths: DataPaths, em: RedditEmulator, sleeps: Sleeps
) -> None:
    pull(paths, em, sleeps)
    old_post, old_comment, rescored = (
        em.live("t3", SUBREDDIT)[-1],
        em.live("t1")[-1],
        em.live("t3")[-3],
    )
    em.clock[0] += 6 * HOUR
    em.edit(old_post, "Edit: fixed in 2.3, thanks!")
    em.edit(old_comment, "Never mind, found the setting")
    em.rescore(rescored, 250)
    pull(paths, em, sleeps)
    saved = versions(paths)
    assert saved[old_post][-1]["data"]["selftext"] == "Edit: fixed in 2.3, thanks!"
    assert saved[old_post][-1]["data"]["edited"] == em.now  # a float, no longer false
    assert saved[old_post][0]["data"]["edited"] is False
    assert saved[old_comment][-1]["data"]["body"] == "Never mind, found the setting"
    assert saved[rescored][-1]["data"]["score"] == 250
    twice = {n for n, records in saved.items() if len(records) > 1}
    assert twice == {old_post, old_comment, rescored}
    assert len(raw_records(paths)) == len(set(raw_records(paths)))


def test_deletions_and_removals_are_picked_up_as_reddit_shows_them(
    paths: DataPaths, em: RedditEmulator, sleeps: Sleeps
) -> None:
    pull(paths, em, sleeps)
    deleted, removed, purged = em.live("t3", SUBREDDIT)[-2], em.live("t1")[-2], em.live("t3")[-3]
    em.clock[0] += HOUR
    em.delete(deleted)
    em.remove(removed)
    em.purge(purged)
    pull(paths, em, sleeps)
    saved = versions(paths)
    post = saved[deleted][-1]["data"]
    assert (post["author"], post["selftext"], post["removed_by_category"]) == (
        "[deleted]", "[deleted]", "deleted"
    )  # fmt: skip
    assert "author_fullname" not in post
    assert saved[removed][-1]["data"]["body"] == "[removed]"
    created = datetime.fromtimestamp(saved[purged][0]["data"]["created_utc"], UTC)
    assert saved[purged][-1] == {"productops_tombstone": {  # filed on the item's own day
        "channel": "reddit", "key": purged, "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "deleted_at": "2026-03-10T13:00:00Z"}}  # fmt: skip
    assert {n for n, records in saved.items() if len(records) > 1} == {deleted, removed, purged}
    em.calls.clear()
    pull(paths, em, sleeps)  # nothing changed since: nothing saved, the purged item not asked
    assert {n for n, records in versions(paths).items() if len(records) > 2} == set()
    assert not any(purged in a["id"] for a in calls(em, "/api/info"))


def test_an_empty_info_answer_is_not_taken_for_a_hundred_deletions(
    paths: DataPaths, em: RedditEmulator, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    pull(paths, em, sleeps)
    em.clock[0] += HOUR
    em.blank_info = 1
    pull(paths, em, sleeps)
    assert "returned none of 100 items" in caplog.text
    assert not any("productops_tombstone" in r for r in raw_records(paths))


def test_items_older_than_the_refresh_window_are_no_longer_re_read(
    paths: DataPaths, em: RedditEmulator, sleeps: Sleeps
) -> None:
    pull(paths, em, sleeps, refresh=timedelta(hours=12))
    state = json.loads(CursorStore(paths, "social_reddit").load())
    assert min(created for created, _ in state["items"].values()) >= em.now - 12 * HOUR
    oldest = em.live("t3", SUBREDDIT)[-1]
    em.edit(oldest, "too late to be seen")
    em.calls.clear()
    pull(paths, em, sleeps, refresh=timedelta(hours=12))
    asked = {n for a in calls(em, "/api/info") for n in a["id"].split(",")}
    assert asked and oldest not in asked
    assert len(versions(paths)[oldest]) == 1


def test_reddit_429s_are_waited_out_as_reddit_says(em: RedditEmulator, sleeps: Sleeps) -> None:
    params = {"q": QUERY, "sort": "new", "type": "link", "raw_json": "1", "limit": "100"}
    with client(em, sleeps) as c:
        c.get("/search", params)  # the window: 600 s to go
        em.clock[0] += 100
        em.inject("429-json", "429-html")
        c.get("/search", params)
    # The bare JSON 429 (no headers): until the end of the last window announced; the
    # HTML page: its retry-after.
    assert sleeps == [pytest.approx(501.0), 7.0]
    assert em.faults == ["429-json", "429-html"]


def test_a_spent_window_is_waited_out_before_reddit_says_429(
    paths: DataPaths, em: RedditEmulator, sleeps: Sleeps
) -> None:
    em.window_limit = 3  # X-Ratelimit-Remaining reaches 0.0 on the third answer
    pull(paths, em, sleeps)
    assert "429-json" not in em.faults
    assert sleeps == [600.0]  # the window's 600 s to go (+1 s, capped at 600)
    assert_once_each(paths, expected(em))


def test_server_errors_are_retried(paths: DataPaths, em: RedditEmulator, sleeps: Sleeps) -> None:
    em.inject("503", "500")
    em.fault_every = 3  # and every third request a 429 of either kind or a 5xx
    pull(paths, em, sleeps)
    assert {"503", "500"} <= set(em.faults) and len(em.faults) >= 4
    assert_once_each(paths, expected(em))


def test_a_pull_cut_short_resumes_from_the_committed_cursor(
    paths: DataPaths, em: RedditEmulator, sleeps: Sleeps
) -> None:
    em.max_limit = 40
    em.fail_after = 9  # the token, the search's 5 pages, 3 pages of r/beaconapp/new
    with pytest.raises(AuthError, match="REDDIT_CLIENT_ID"):
        pull(paths, em, sleeps)
    got = versions(paths)
    state = json.loads(CursorStore(paths, "social_reddit").load())
    found = {n for n in em.live("t3") if QUERY in em.items[n].data["title"]}
    assert set(got) == found | set(em.live("t3", SUBREDDIT)[:120])
    assert set(state["items"]) == set(got) and list(state["feeds"]) == [f"search:{QUERY}"]
    em.fail_after = None
    em.requests = 0
    pull(paths, em, sleeps)
    assert_once_each(paths, expected(em))


def test_the_token_is_renewed_before_it_expires_and_once_on_a_401(
    paths: DataPaths, em: RedditEmulator, sleeps: Sleeps
) -> None:
    em.expires_in = 3600  # older recordings; 86400 in recent ones
    with client(em, sleeps) as c:
        c.get("/api/info", {"id": "t3_x"})
        em.clock[0] += 3600 - 30  # less than a minute left: renewed before use
        c.get("/api/info", {"id": "t3_x"})
        assert em.token_requests == 2
        em.revoke_tokens()  # the API says 401 to a token it should still take
        c.get("/api/info", {"id": "t3_x"})
        assert em.token_requests == 3
        em.fail_after = em.requests  # the API's 401 and then the token's: refused
        with pytest.raises(AuthError, match="REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET"):
            c.get("/api/info", {"id": "t3_x"})
    assert em.token_requests == 3 and sleeps == []


def test_refused_credentials_name_the_settings_never_the_secret(
    paths: DataPaths, em: RedditEmulator, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with client(em, sleeps, secret="wrong-s3cret-value") as c, pytest.raises(AuthError) as wrong:
        reddit.pull_reddit(paths, c, START, [QUERY], [], now=em.now)
    em.token_error = "invalid_grant"
    with pytest.raises(AuthError) as refused:
        pull(paths, em, sleeps)
    assert "REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET" in str(wrong.value)
    assert "'invalid_grant'" in str(refused.value) and "REDDIT_CLIENT_SECRET" in str(refused.value)
    em.token_error = None
    pull(paths, em, sleeps)  # and a good pull, logged at DEBUG
    secrets = (CLIENT_SECRET, "wrong-s3cret-value", "emu-token-")
    for text in (str(wrong.value), str(refused.value), caplog.text):
        assert not any(s in text for s in secrets)
    for path in (p for p in Path(paths.root).rglob("*") if p.is_file()):
        assert not any(s.encode() in path.read_bytes() for s in secrets), path


def test_an_unconfigured_channel_is_skipped_with_one_line_naming_its_settings(
    paths: DataPaths, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "SOCIAL_QUERIES", "REDDIT_SUBREDDITS"):
        monkeypatch.delenv(name, raising=False)
    log = logging.getLogger("test_reddit")
    caplog.set_level(logging.INFO, logger="test_reddit")
    assert RedditApi().pull(paths, START, log) == []
    monkeypatch.setenv("REDDIT_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", CLIENT_SECRET)
    assert RedditApi().pull(paths, START, log) == []  # credentials, but nothing to read
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and all("REDDIT_CLIENT_ID" in line for line in lines)
    assert all("REDDIT_SUBREDDITS" in line and "skipped" in line for line in lines)
    assert CLIENT_SECRET not in caplog.text


def test_the_resource_pulls_the_channel_with_its_settings(
    paths: DataPaths,
    em: RedditEmulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = em.server.url_for("/").rstrip("/")
    for name, value in {
        "REDDIT_BASE_URL": url, "REDDIT_AUTH_URL": url, "REDDIT_CLIENT_ID": CLIENT_ID,
        "REDDIT_CLIENT_SECRET": CLIENT_SECRET, "SOCIAL_QUERIES": f" {QUERY} ,",
        "REDDIT_SUBREDDITS": f"r/{SUBREDDIT}",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDDIT_USER_AGENT", raising=False)
    caplog.set_level(logging.INFO, logger="test_reddit")
    results = RedditApi().pull(paths, START, logging.getLogger("test_reddit"))
    assert sum(r.records for r in results) == 345
    assert em.user_agents == {f"linux:productops:{__version__}"}
    assert "REDDIT_USER_AGENT is not set" in caplog.text and CLIENT_SECRET not in caplog.text
    assert "reddit" in API_RESOURCES["social"] and API_CLASSES["reddit"] is RedditApi
