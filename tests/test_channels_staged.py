"""Each channel's connector against its emulator, then staging: what a pull saves is what
staging keeps, one row per item of the channel, a deletion kept as deleted, nothing
quarantined, and raw = staging + quarantine."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest
from pytest_httpserver import HTTPServer

from productops.settings import DataPaths
from productops.sources import SOURCES
from productops.staging import raw_files, reconcile
from tests import test_appstore_connector as appstore_t
from tests import test_bluesky_connector as bluesky_t
from tests import test_mastodon_connector as mastodon_t
from tests import test_reddit_connector as reddit_t
from tests.appstore_emulator import AppStoreEmulator
from tests.bluesky_emulator import BlueskyEmulator, Clock
from tests.helpers import rows, stage
from tests.mastodon_emulator import MastodonEmulator
from tests.reddit_emulator import RedditEmulator

EVER = (date(2000, 1, 1), date(2030, 12, 31))


def _key(record: dict) -> str:
    """The item a raw record is a version of, as each channel names it (written out here,
    independently of staging's SQL)."""
    if "productops_tombstone" in record:
        return record["productops_tombstone"]["key"]
    if record.get("kind") in ("t1", "t3"):
        return record["data"]["name"]
    if "im:rating" in record:  # one key per UTC day of `updated` (the feed has no other date)
        day = datetime.fromisoformat(record["updated"]["label"]).astimezone(UTC).date()
        return f"appstore:{record['id']['label']}@{day}"
    return record["uri"]


def _raw_keys(paths: DataPaths) -> set[str]:
    files = raw_files(paths, SOURCES["social"], None, None)
    with duckdb.connect() as con:
        texts = con.execute("SELECT record FROM read_parquet(?)", [files]).fetchall()
    return {_key(json.loads(t)) for (t,) in texts}


def _staged(paths: DataPaths, channel: str, deleted: str) -> None:
    con = stage(paths, "social", *EVER)
    got = {r["mention_id"]: r for r in rows(con, "SELECT * FROM staging.social_mentions")}
    assert set(got) == _raw_keys(paths)  # every item once
    assert {r["platform"] for r in got.values()} == {channel}
    assert got[deleted]["is_deleted"] and got[deleted]["text"] is None
    assert sum(r["is_deleted"] for r in got.values()) == 1
    assert all(r["text"] for k, r in got.items() if k != deleted)
    assert rows(con, "SELECT rule, reason FROM quarantine.social") == []
    assert reconcile(con, paths, SOURCES["social"]).ok
    con.close()


def test_reddit(paths: DataPaths, httpserver: HTTPServer) -> None:
    em = RedditEmulator(httpserver)
    em.populate(posts=60, comments=30)
    sleeps = reddit_t.Sleeps(em)
    reddit_t.pull(paths, em, sleeps)
    gone = sorted(em.live())[5]
    em.purge(gone)  # no longer returned at all: a tombstone
    em.sleep(3600)
    reddit_t.pull(paths, em, sleeps)
    _staged(paths, "reddit", gone)


def test_bluesky(paths: DataPaths, httpserver: HTTPServer) -> None:
    emu = BlueskyEmulator(httpserver, Clock(bluesky_t.START + timedelta(days=2)))
    bluesky_t.pull(emu, paths)
    gone = sorted(emu.matching())[3]
    emu.delete(gone)
    emu.clock.advance(timedelta(hours=6))
    bluesky_t.pull(emu, paths)
    _staged(paths, "bluesky", gone)


def test_mastodon(paths: DataPaths, httpserver: HTTPServer) -> None:
    em = MastodonEmulator(httpserver, clock=mastodon_t.NOW.timestamp)
    sleeps = mastodon_t.Sleeps()
    mastodon_t.pull(paths, em, sleeps)
    gone = em.delete(9)["uri"]
    mastodon_t.pull(paths, em, sleeps)
    _staged(paths, "mastodon", gone)


@pytest.mark.parametrize("country", ["de"])
def test_app_store(paths: DataPaths, httpserver: HTTPServer, country: str) -> None:
    feed = AppStoreEmulator(httpserver)
    sleeps = appstore_t.Sleeps()
    appstore_t.pull(paths, feed, sleeps, countries=[country])
    review = feed.reviews[country][2]
    feed.delete(country, review["id"]["label"])
    gone = _key({**review})
    for _ in range(2):  # missing twice in a row before it is taken as deleted
        appstore_t.pull(paths, feed, sleeps, countries=[country])
    _staged(paths, "app_store", gone)
