"""App Store customer reviews against the feed's emulator: paging, overlap, edits,
deletions, throttling, a run cut short; records read back from the raw lake."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import date, datetime, timedelta

import duckdb
import pytest
from pytest_httpserver import HTTPServer

from productops.connectors import appstore
from productops.connectors.http import ApiClient, AuthError, ConnectorError, RetryPolicy
from productops.connectors.pull import CursorStore
from productops.settings import DataPaths
from resources.connectors import API_CLASSES, API_RESOURCES, AppStoreApi
from tests.appstore_emulator import APP_ID, NOW, AppStoreEmulator
from tests.helpers import Sleeps

START = date(2026, 1, 1)
COUNTRIES = ["us", "de", "fr", "gb"]
PAUSE = 0.25


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def feed(httpserver: HTTPServer) -> AppStoreEmulator:
    return AppStoreEmulator(httpserver)


def client(feed: AppStoreEmulator, sleeps: Sleeps, **kw) -> ApiClient:
    return appstore.appstore_client(
        feed.server.url_for("/"), sleep=sleeps, clock=lambda: NOW.timestamp(), **kw
    )


def pull(paths: DataPaths, feed: AppStoreEmulator, sleeps: Sleeps, countries=COUNTRIES, **kw):
    retry = kw.pop("retry", None)
    with client(feed, sleeps, **({"retry": retry} if retry else {})) as c:
        return appstore.pull_appstore(
            paths, c, kw.pop("start", START), app_id=APP_ID, countries=countries,
            pause_s=PAUSE, **kw,
        )  # fmt: skip


def raw(paths: DataPaths) -> list[dict]:
    """Every record in the social raw lake, parsed, in no particular order."""
    files = list((paths.raw / "social").glob("*/*.parquet"))
    if not files:
        return []
    rows = duckdb.execute(
        "SELECT record FROM read_parquet(?, hive_partitioning = true)", [[str(f) for f in files]]
    ).fetchall()
    return [json.loads(r) for (r,) in rows]


def key(record: dict) -> str:
    if "productops_tombstone" in record:
        return record["productops_tombstone"]["key"].removeprefix("appstore:").split("@")[0]
    return record["id"]["label"]


def reviews(paths: DataPaths) -> list[dict]:
    return [r for r in raw(paths) if "productops_tombstone" not in r]


def tombstones(paths: DataPaths) -> list[dict]:
    return [r["productops_tombstone"] for r in raw(paths) if "productops_tombstone" in r]


def expected(feed: AppStoreEmulator, *countries: str) -> dict[str, dict]:
    """The reviews the feed can show, as they should be saved: the entry plus its storefront."""
    return {r["id"]["label"]: {**r, appstore.STOREFRONT: c}
            for c in countries for r in feed.reachable(c)}  # fmt: skip


def pages_asked(feed: AppStoreEmulator, country: str) -> list[int]:
    return [p for c, p in feed.log if c == country]


def test_pages_every_storefront_to_its_end_saving_reviews_as_the_feed_gives_them(
    paths: DataPaths, feed: AppStoreEmulator, sleeps: Sleeps
) -> None:
    results = pull(paths, feed, sleeps)
    saved = reviews(paths)
    assert {key(r): r for r in saved} == expected(feed, *COUNTRIES)  # same bytes, plus storefront
    assert len(saved) == 500 + 101 + 30  # each once; us: only the newest 500 can be reached
    # us: the 10-page cap, never page 11; de: page 3 holds one review (an object), page 4
    # none; fr: an old feed whose first entry is the app; gb: no reviews at all.
    assert pages_asked(feed, "us") == list(range(1, 11))
    assert pages_asked(feed, "de") == [1, 2, 3, 4]
    assert pages_asked(feed, "fr") == [1, 2]
    assert pages_asked(feed, "gb") == [1]
    assert all("im:rating" in r for r in saved)  # the app's own entry is not a review
    assert Counter(r[appstore.STOREFRONT] for r in saved) == {"us": 500, "de": 101, "fr": 30}
    assert {r["updated"]["label"][-6:] for r in saved} == {"-08:00", "-07:00"}  # Pacific time
    assert [r.records for r in results] == [500, 101, 30, 0]
    # A cursor per storefront that has reviews; gb has nothing to remember.
    assert CursorStore(paths, appstore.cursor_name(APP_ID, "gb")).load() is None
    held = appstore.Held.loads(CursorStore(paths, appstore.cursor_name(APP_ID, "de")).load())
    assert len(held.reviews) == 101
    # Gentle: a pause before every request but the first.
    assert sleeps == [PAUSE] * (len(feed.log) - 1)


def test_a_first_pull_reads_back_to_the_start_day_only(
    paths: DataPaths, feed: AppStoreEmulator, sleeps: Sleeps
) -> None:
    pull(paths, feed, sleeps, countries=["us"], start=date(2026, 3, 15))
    assert pages_asked(feed, "us") == [1, 2, 3]  # 50 an hour apart a page: past 5 days on page 3


def test_the_same_review_on_two_pages_is_saved_once(
    paths: DataPaths, feed: AppStoreEmulator, sleeps: Sleeps
) -> None:
    # A review arrives once page 1 is read: page 1's last slides to the top of page 2.
    feed.after_page["de", 1] = lambda: feed.add("de")
    pull(paths, feed, sleeps, countries=["de"])
    saved = reviews(paths)
    assert Counter(map(key, saved)).most_common(1)[0][1] == 1
    assert len(saved) == 101  # the late arrival is not on the pages read
    # The next pull finds it on page 1 and stops there: page 1 holds reviews already saved.
    feed.log.clear()
    pull(paths, feed, sleeps, countries=["de"], refresh=timedelta(0))
    assert pages_asked(feed, "de") == [1]
    assert {key(r): r for r in reviews(paths)} == expected(feed, "de")
    assert len(reviews(paths)) == 102


def test_an_edited_review_jumps_to_the_top_and_is_saved_again(
    paths: DataPaths, feed: AppStoreEmulator, sleeps: Sleeps
) -> None:
    pull(paths, feed, sleeps)
    old = feed.reviews["de"][80]  # on page 2, days old
    new = feed.edit("de", old["id"]["label"], NOW + timedelta(minutes=5))
    added = feed.add("us", 3, NOW + timedelta(minutes=1))
    feed.log.clear()
    pull(paths, feed, sleeps, refresh=timedelta(0))
    # Stop at the first page holding a review saved before: page 1 everywhere.
    assert feed.log == [("us", 1), ("de", 1), ("fr", 1), ("gb", 1)]
    versions = [r for r in reviews(paths) if key(r) == old["id"]["label"]]
    assert sorted(versions, key=lambda r: r["updated"]["label"]) == [
        {**old, appstore.STOREFRONT: "de"}, {**new, appstore.STOREFRONT: "de"},
    ]  # fmt: skip
    assert {key(r) for r in reviews(paths)} >= {r["id"]["label"] for r in added}
    # Nothing else was saved twice.
    assert len(reviews(paths)) == 500 + 101 + 30 + 1 + 3


def test_the_refresh_window_is_read_again_and_a_deletion_becomes_a_tombstone(
    paths: DataPaths, feed: AppStoreEmulator, sleeps: Sleeps
) -> None:
    pull(paths, feed, sleeps, countries=["us", "de"])
    gone = feed.reviews["us"][60]["id"]["label"]  # 61 hours old: inside the 7 days re-read
    feed.delete("us", gone)
    old_gone = feed.reviews["de"][100]["id"]["label"]  # 12 days old, page 3: not read again
    feed.delete("de", old_gone)
    feed.log.clear()
    pull(paths, feed, sleeps, countries=["us", "de"], refresh=timedelta(days=7))
    assert pages_asked(feed, "us") == [1, 2, 3, 4]  # 7 days of hourly reviews: 168, page 4
    assert pages_asked(feed, "de") == [1, 2]  # every three hours: page 1 holds 6 days
    assert tombstones(paths) == []  # missing once: perhaps a stale page; wait for a second look
    assert len(reviews(paths)) == 601  # nothing new, nothing saved again
    pull(paths, feed, sleeps, countries=["us", "de"], refresh=timedelta(days=7))
    # Not old_gone: that part of the feed was not read. The tombstone names the review's
    # staging key and creation time, so that staging files it with the review.
    [tomb] = tombstones(paths)
    assert tomb == {"channel": "app_store", "key": f"appstore:{gone}@{tomb['created_at'][:10]}",
                    "created_at": tomb["created_at"],
                    "deleted_at": NOW.strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip
    assert datetime.fromisoformat(tomb["created_at"]) < NOW
    pull(paths, feed, sleeps, countries=["us", "de"], refresh=timedelta(days=7))
    assert len(tombstones(paths)) == 1  # said once
    held = appstore.Held.loads(CursorStore(paths, appstore.cursor_name(APP_ID, "us")).load())
    assert gone not in held.reviews


def test_a_review_edited_while_the_pages_are_read_is_not_taken_for_deleted(
    paths: DataPaths, feed: AppStoreEmulator, sleeps: Sleeps
) -> None:
    pull(paths, feed, sleeps, countries=["us"])
    moved = feed.reviews["us"][120]["id"]["label"]  # page 3
    feed.after_page["us", 1] = lambda: feed.edit("us", moved, NOW + timedelta(minutes=1))
    pull(paths, feed, sleeps, countries=["us"])  # page 1 read before the edit, page 3 after
    held = appstore.Held.loads(CursorStore(paths, appstore.cursor_name(APP_ID, "us")).load())
    assert held.reviews[moved][2] == 1  # missing once
    pull(paths, feed, sleeps, countries=["us"])  # at the top now, with its new `updated`
    held = appstore.Held.loads(CursorStore(paths, appstore.cursor_name(APP_ID, "us")).load())
    assert held.reviews[moved][2] == 0
    assert {**feed.find("us", moved), appstore.STOREFRONT: "us"} in reviews(paths)
    # Not deleted: rewritten on a later day, so its earlier day's version (and only that)
    # is tombstoned, and the review is counted on the day of its rewrite alone.
    [rewrite] = tombstones(paths)
    assert rewrite["key"].startswith(f"appstore:{moved}@")
    assert rewrite["key"] != f"appstore:{moved}@{(NOW + timedelta(minutes=1)).date()}"


def test_a_storefront_emptied_to_the_end_tombstones_its_reviews(
    paths: DataPaths, feed: AppStoreEmulator, sleeps: Sleeps
) -> None:
    pull(paths, feed, sleeps, countries=["fr"])
    keys = {r["id"]["label"] for r in feed.reviews["fr"]}
    feed.reviews["fr"].clear()  # the feed answers with the app's entry alone
    for _ in range(2):
        pull(paths, feed, sleeps, countries=["fr"])
    assert {t["key"].split("@")[0] for t in tombstones(paths)} == {f"appstore:{k}" for k in keys}


def test_throttling_is_waited_out_as_the_feed_says(
    paths: DataPaths, feed: AppStoreEmulator, sleeps: Sleeps
) -> None:
    """403 is the CDN's throttling here, not a refusal of credentials (there are none)."""
    feed.throttle = [(503, {}), (429, {"Retry-After": "7"}), (403, {}), (502, {}), (429, {})]
    pull(paths, feed, sleeps, countries=["de"])  # the client's own policy: 2 s base
    assert {key(r): r for r in reviews(paths)} == expected(feed, "de")
    waits = [s for s in sleeps if s != PAUSE]
    assert 7.0 in waits and len(waits) == 5
    assert all(0 <= w <= 32 for w in waits)  # exponential backoff, 2 s base


def test_503_with_retry_after_waits_as_it_says(
    paths: DataPaths, feed: AppStoreEmulator, sleeps: Sleeps
) -> None:
    feed.throttle = [(503, {"Retry-After": "12"})]
    pull(paths, feed, sleeps, countries=["fr"])
    assert sleeps[0] == 12.0


def test_other_vendors_still_take_403_as_refused_credentials(
    httpserver: HTTPServer, sleeps: Sleeps
) -> None:
    httpserver.expect_request("/x").respond_with_data("no", status=403)
    with (
        ApiClient("Vendor", httpserver.url_for("/"), "VENDOR_TOKEN", sleep=sleeps) as c,
        pytest.raises(AuthError) as err,
    ):
        c.get("/x")
    assert err.value.status == 403 and sleeps == []


def test_a_shallower_depth_limit_stops_that_storefront_without_failing(
    paths: DataPaths, feed: AppStoreEmulator, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    feed.depth = 3
    with caplog.at_level(logging.WARNING):
        pull(paths, feed, sleeps, countries=["us", "de"])
    assert pages_asked(feed, "us") == [1, 2, 3]
    assert Counter(r[appstore.STOREFRONT] for r in reviews(paths)) == {"us": 150, "de": 101}
    assert "page 4 refused (HTTP 400)" in caplog.text


def test_a_run_cut_short_resumes_from_the_committed_cursor(
    paths: DataPaths, feed: AppStoreEmulator, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    feed.fail_after = 12  # us' 10 pages, de's page 1 and 2, then refused for good
    with caplog.at_level(logging.INFO), pytest.raises(ConnectorError) as err:
        pull(paths, feed, sleeps, retry=RetryPolicy(max_attempts=3))
    assert "/de/rss/customerreviews/page=3/" in str(err.value)
    assert "gave up" in str(err.value) and "HTTP 403" in str(err.value)
    assert CursorStore(paths, appstore.cursor_name(APP_ID, "us")).load() is not None
    assert CursorStore(paths, appstore.cursor_name(APP_ID, "de")).load() is None
    assert Counter(r[appstore.STOREFRONT] for r in reviews(paths)) == {"us": 500}
    feed.fail_after = None
    feed.log.clear()
    pull(paths, feed, sleeps)
    assert pages_asked(feed, "us") == [1, 2, 3, 4]  # from its cursor: the 7 days re-read only
    assert pages_asked(feed, "de") == [1, 2, 3, 4]  # from the start: nothing was committed
    saved = reviews(paths)
    assert {key(r): r for r in saved} == expected(feed, *COUNTRIES)
    assert len(saved) == len(expected(feed, *COUNTRIES))  # every review exactly once
    # No credentials exist for this feed: nothing is sent, so nothing can leak.
    assert all("Authorization" not in request.headers for request, _ in feed.server.log)
    assert "Authorization" not in caplog.text


def test_the_resource_is_registered_for_the_social_source() -> None:
    assert API_RESOURCES["social"][-1] == "app_store"
    assert API_CLASSES["app_store"] is AppStoreApi


def test_an_unconfigured_resource_is_skipped_saying_which_settings(
    paths: DataPaths, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("APPSTORE_APP_ID", raising=False)
    log = logging.getLogger("test_appstore")
    with caplog.at_level(logging.INFO, logger="test_appstore"):
        assert AppStoreApi().pull(paths, START, log) == []
    (line,) = [r.getMessage() for r in caplog.records]
    assert "AppStoreApi: not configured" in line and "APPSTORE_APP_ID" in line
    assert "APPSTORE_COUNTRIES" in line


def test_the_resource_reads_its_settings(
    feed: AppStoreEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPSTORE_APP_ID", APP_ID)
    monkeypatch.setenv("APPSTORE_RSS_BASE_URL", feed.server.url_for("/"))
    with AppStoreApi().client() as c:
        assert c.base_url == feed.server.url_for("/") and c.throttle_status == {403, 503}
    assert appstore.parse_countries(" US, de ,fr,de") == ["us", "de", "fr"]
    assert appstore.parse_countries(None) == ["us"]
    with pytest.raises(ValueError, match="APPSTORE_COUNTRIES"):
        appstore.parse_countries("us,../x")
