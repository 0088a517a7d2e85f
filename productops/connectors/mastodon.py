"""Mastodon: one instance's hashtag timelines and status search, and a re-read of recent statuses.

Statuses are saved exactly as the instance sends them (key `uri`: ids are only unique
per instance). What a pull does, per feed and then for the channel:

- a hashtag (`GET /api/v1/timelines/tag/:hashtag`): the first run walks back from the
  newest status (`max_id`) to the run's start date; later runs read forward from the
  newest id stored (`min_id`, the `Link` header's `rel="prev"`) until an empty page,
  which also catches statuses delivered late by other servers (they get the id of
  their arrival);
- a search term (`GET /api/v2/search?type=statuses`, a user token only): newest first
  by `offset`, down to the newest id stored (`min_id`), or to the start date;
- the statuses created within the refresh window, re-read by id
  (`GET /api/v1/statuses?id[]=`, 20 at a time) for edits, counts and deletions: a
  status left out of the answer is gone, and a tombstone says so.

Ids are strings: Mastodon's are numbers (snowflakes), other servers' need not be, so
they are compared as numbers only when both are, and otherwise the server's `Link`
header and a set of the ids already seen decide. A status is saved again only when
something other than its author's profile changed (edits, counts, tags, ...), so the
same bytes never land twice.

The cursor is one JSON document per instance: each feed's newest id and an unfinished
walk (`gap`), and the recent statuses (`id -> [created_at, uri, version]`) that feeds
share (a status carries several hashtags) and the re-read needs. It is committed with
the pages it covers, so a run cut short resumes where the last commit left it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from productops.connectors.http import ApiClient, ConnectorError, RetryPolicy
from productops.connectors.pull import CursorStore, PullResult, pull_pages
from productops.settings import DataPaths

LOG = logging.getLogger(__name__)
CHANNEL = "mastodon"
PAGE_LIMIT = 40  # the most a timeline or a search answers per request
# `GET /api/v1/statuses?id[]=` refuses more ids than the API's default page of statuses
# (`DEFAULT_STATUSES_LIMIT`, 20) with a 422 instead of truncating, so never ask for more.
LOOKUP_BATCH = 20
MAX_PAGES = 50  # per feed and run; the committed cursor lets the next run go on
REFRESH_LIMIT = 1000  # the newest recent statuses re-read per run: 50 requests
# Mastodon throttles paging requests to 300 per 15 minutes: a spent window is waited out
# (its reset time says how long) rather than failing the run.
RETRY = RetryPolicy(max_wait_s=16 * 60)
# What identifies an author: their profile's counters and dates change with every post
# they make, and must not make an unchanged status look new.
_AUTHOR_FIELDS = ("id", "username", "acct", "display_name", "url", "bot")

Page = tuple[list[dict[str, Any]], str | None]


def mastodon_client(base_url: str, token: str | None = None, **kw: Any) -> ApiClient:
    """Public timelines need no token; status search needs a user token (`read:search`)."""
    kw.setdefault("retry", RETRY)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return ApiClient("Mastodon", base_url, "MASTODON_ACCESS_TOKEN", headers=headers, **kw)


def newer(a: str, b: str) -> bool | None:
    """Whether status id `a` is newer than `b`: as numbers when both are, else unknown."""
    if a.isdigit() and b.isdigit():
        return int(a) > int(b)
    return None


def _ends(statuses: list[dict[str, Any]], response: httpx.Response | None) -> tuple[str, str]:
    """The page's newest and oldest ids: the server's `Link` header if it sent one, the ids
    as numbers if they all are, else the page's order (newest first, as documented)."""
    ids = [str(s.get("id")) for s in statuses]
    numeric = all(i.isdigit() for i in ids)
    newest = _link_id(response, "prev", "min_id") or (max(ids, key=int) if numeric else ids[0])
    oldest = _link_id(response, "next", "max_id") or (min(ids, key=int) if numeric else ids[-1])
    return newest, oldest


def _link_id(response: httpx.Response | None, rel: str, param: str) -> str | None:
    """An id from the `Link` header. Only the id is used: the next request is built on the
    instance's own URL, so a link naming another host never receives the token."""
    url = response.links.get(rel, {}).get("url") if response is not None else None
    return httpx.URL(url).params.get(param) if url else None


def _statuses(data: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(data, list) or not all(isinstance(s, dict) for s in data):
        raise ConnectorError(f"Mastodon: expected an array of statuses from GET {path}")
    return data


def _when(status: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(status.get("created_at")).replace("Z", "+00:00"))
    except ValueError:
        return None


def _version(status: dict[str, Any]) -> str:
    """A digest of what the status says, its authors reduced to who they are."""

    def trim(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: {f: v.get(f) for f in _AUTHOR_FIELDS}
                if k == "account" and isinstance(v, dict)
                else trim(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [trim(v) for v in value]
        return value

    body = json.dumps(trim(status), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def tombstone(key: str, created_at: str, at: datetime) -> dict[str, Any]:
    """A deleted status: its key and creation time, so staging files it with the status."""
    return {
        "productops_tombstone": {
            "channel": CHANNEL,
            "key": key,
            "created_at": created_at,
            "deleted_at": at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
    }


@dataclass(frozen=True)
class Feed:
    kind: str  # "tag" or "search"
    term: str

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.term}"

    @property
    def label(self) -> str:
        return f"#{self.term}" if self.kind == "tag" else f"search {self.term!r}"


@dataclass
class State:
    """The cursor: per feed `{"newest": id, "gap": walk still to finish}`, and the recent
    statuses `{id: [created_at, uri, version]}`."""

    feeds: dict[str, dict[str, Any]] = field(default_factory=dict)
    recent: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, text: str | None) -> State:
        data = json.loads(text) if text else {}
        return cls(dict(data.get("feeds") or {}), dict(data.get("recent") or {}))

    def dump(self) -> str:
        return json.dumps(
            {"feeds": self.feeds, "recent": self.recent}, sort_keys=True, separators=(",", ":")
        )

    def prune(self, horizon: datetime, keep: int) -> None:
        """Forget statuses created before the refresh window, and all but the newest `keep`."""
        dated = []
        for id_, (created, *_) in self.recent.items():
            when = _when({"created_at": created})
            if when is not None and when >= horizon:
                dated.append((when, id_))
        dated.sort(reverse=True)
        self.recent = {id_: self.recent[id_] for _, id_ in dated[:keep]}


@dataclass
class _Pull:
    """One run over an instance: the state being advanced, and what this run has seen."""

    client: ApiClient
    state: State
    horizon: datetime  # the refresh window's start
    limit: int
    max_pages: int
    log: logging.Logger | logging.LoggerAdapter
    seen: dict[str, str] = field(default_factory=dict)  # id -> version saved or read this run

    def take(
        self, statuses: list[dict[str, Any]], floor: datetime | None = None
    ) -> list[dict[str, Any]]:
        """The statuses to save: new or changed, and not created before `floor`."""
        out = []
        for status in statuses:
            id_ = str(status.get("id") or status.get("uri"))
            when, version = _when(status), _version(status)
            if floor is not None and when is not None and when < floor:
                continue
            known = self.seen.get(id_) or (self.state.recent.get(id_) or [None] * 3)[2]
            self.seen[id_] = version
            if when is not None and when >= self.horizon:
                self.state.recent[id_] = [
                    str(status["created_at"]),
                    str(status.get("uri")),
                    version,
                ]
            if known != version:
                out.append(status)
        return out

    @staticmethod
    def fresh(statuses: list[dict[str, Any]], walked: set[str]) -> bool:
        """Whether the page holds a status this walk has not met yet (and note them): a
        server that ignores a paging parameter answers the same page again, and the walk
        must stop there."""
        ids = {str(s.get("id") or s.get("uri")) for s in statuses}
        new = bool(ids - walked)
        walked |= ids
        return new

    def get_list(self, path: str, params: dict[str, Any]) -> tuple[list, httpx.Response]:
        data, response = self.client.get(path, params)
        return _statuses(data, path), response

    # --- hashtag timelines ------------------------------------------------------------

    def tag(self, feed: Feed, start: datetime) -> Iterator[list[dict[str, Any]]]:
        pos = self.state.feeds.setdefault(feed.name, {"newest": None, "gap": None})
        if pos["newest"] is None and pos["gap"] is None:
            pos["gap"] = {"max_id": None, "since": start.isoformat()}
        path = f"/api/v1/timelines/tag/{quote(feed.term, safe='')}"
        if pos["gap"] is not None:
            yield from self._tag_back(feed, path, pos)
        yield from self._tag_forward(feed, path, pos)

    def _tag_back(self, feed: Feed, path: str, pos: dict) -> Iterator[list[dict[str, Any]]]:
        """Newest first, from the gap's `max_id` (or the top) down to its start date."""
        gap, since = pos["gap"], datetime.fromisoformat(pos["gap"]["since"])
        walked: set[str] = set()
        for _ in range(self.max_pages):
            params = {"limit": self.limit, **({"max_id": gap["max_id"]} if gap["max_id"] else {})}
            statuses, response = self.get_list(path, params)
            if not statuses:
                pos["gap"] = None
                yield []
                return
            newest, oldest = _ends(statuses, response)
            if pos["newest"] is None:
                pos["newest"] = newest
            fresh = self.fresh(statuses, walked)
            records = self.take(statuses, floor=since)
            gap["max_id"] = oldest
            reached = all((_when(s) or since) < since for s in statuses)
            # Mastodon links the next page only when there is one; without links, a full page.
            more = "next" in response.links if response.links else len(statuses) >= self.limit
            if reached or not fresh or not more:
                pos["gap"] = None
            yield records
            if pos["gap"] is None:
                return
        self.log.info(
            f"Mastodon {feed.label}: {self.max_pages} pages back and not yet at the start "
            "date; the next run goes on from there"
        )

    def _tag_forward(self, feed: Feed, path: str, pos: dict) -> Iterator[list[dict[str, Any]]]:
        """Oldest first, from the newest id stored, following `rel="prev"` to an empty page."""
        if pos["newest"] is None:
            return
        walked: set[str] = set()
        for _ in range(self.max_pages):
            statuses, response = self.get_list(path, {"limit": self.limit, "min_id": pos["newest"]})
            if not statuses:
                return
            fresh = self.fresh(statuses, walked)
            records = self.take(statuses)
            pos["newest"] = _ends(statuses, response)[0]
            yield records
            if not fresh:
                self.log.warning(
                    f"Mastodon {feed.label}: min_id paging brought nothing new; stopped"
                )
                return
        self.log.info(
            f"Mastodon {feed.label}: {self.max_pages} pages of new statuses read; the next run "
            "goes on from there"
        )

    # --- status search ----------------------------------------------------------------

    def search(self, feed: Feed, since: datetime) -> Iterator[list[dict[str, Any]]]:
        """An unfinished walk first, then a new one from the top down to the newest id stored
        (or to `since` on the first run, and as a floor when `min_id` is not honoured)."""
        pos = self.state.feeds.setdefault(feed.name, {"newest": None, "gap": None})
        if pos["gap"] is not None:
            yield from self._search_walk(feed, pos)
        if pos["gap"] is None:  # else the page bound stopped the unfinished walk again
            pos["gap"] = {"max_id": None, "min_id": pos["newest"], "since": since.isoformat()}
            yield from self._search_walk(feed, pos)

    def _search_walk(self, feed: Feed, pos: dict) -> Iterator[list[dict[str, Any]]]:
        gap = pos["gap"]
        since, low, top = datetime.fromisoformat(gap["since"]), gap["min_id"], gap["max_id"]
        base = {"q": feed.term, "type": "statuses", "limit": self.limit,
                **({"min_id": low} if low else {}), **({"max_id": top} if top else {})}  # fmt: skip
        walked: set[str] = set()
        for page in range(self.max_pages):
            data, _ = self.client.get("/api/v2/search", {**base, "offset": page * self.limit})
            statuses = _statuses(data.get("statuses") if isinstance(data, dict) else None,
                                 "/api/v2/search (its 'statuses')")  # fmt: skip
            if low:  # a server that ignores min_id: what is not newer is already in
                statuses = [s for s in statuses if newer(str(s.get("id")), low) is not False]
            if not statuses:
                pos["gap"] = None
                yield []
                return
            newest, oldest = _ends(statuses, None)
            if top is None and page == 0:
                pos["newest"] = newest
            fresh = self.fresh(statuses, walked)
            records = self.take(statuses, floor=since)
            gap["max_id"] = oldest
            reached = all((_when(s) or since) < since for s in statuses)
            if reached or not fresh or len(statuses) < self.limit:
                pos["gap"] = None
            yield records
            if pos["gap"] is None:
                return
        self.log.info(
            f"Mastodon {feed.label}: {self.max_pages} pages of results read; the next run goes "
            "on from there"
        )

    # --- edits and deletions ----------------------------------------------------------

    def refresh(self, now: datetime, keep: int) -> Iterator[list[dict[str, Any]]]:
        """Re-read the recent statuses not read this run, newest first, 20 per request."""
        self.state.prune(self.horizon, keep)
        ids = [i for i in self.state.recent if i not in self.seen]
        for at in range(0, len(ids), LOOKUP_BATCH):
            batch = ids[at : at + LOOKUP_BATCH]
            try:
                statuses, _ = self.get_list("/api/v1/statuses", {"id[]": batch})
            except ConnectorError as exc:
                if exc.status not in (404, 405):
                    raise
                self.log.warning(
                    f"Mastodon: this instance has no GET /api/v1/statuses (HTTP {exc.status}; "
                    "Mastodon 4.3 added it): edits and deletions of statuses already pulled "
                    "are not picked up"
                )
                return
            got = {str(s.get("id")): s for s in statuses if isinstance(s, dict)}
            yield self.take([got[i] for i in batch if i in got])
            gone = []
            for id_ in batch:
                if id_ not in got:  # left out: deleted, or no longer public
                    created, uri, _ = self.state.recent.pop(id_)
                    gone.append(tombstone(uri, created, now))
            if gone:  # a page of their own: a file's shape is its first record's
                yield gone


def mastodon_pages(
    client: ApiClient,
    feeds: Sequence[Feed],
    *,
    state: State,
    start: datetime,
    now: datetime,
    refresh: timedelta,
    limit: int = PAGE_LIMIT,
    max_pages: int = MAX_PAGES,
    refresh_limit: int = REFRESH_LIMIT,
    log: logging.Logger | logging.LoggerAdapter = LOG,
) -> Iterator[Page]:
    """Every feed's new statuses, then the re-read: pages of records, each with the state
    to resume after it (JSON). A feed the instance does not know (404) is logged and
    skipped; a disabled one answers empty pages."""
    run = _Pull(client, state, now - refresh, min(limit, PAGE_LIMIT), max_pages, log)

    def records() -> Iterator[list[dict[str, Any]]]:
        for feed in feeds:
            if feed.kind == "tag":
                pages = run.tag(feed, start)
            else:  # a later search needs no floor but the refresh window's
                first = state.feeds.get(feed.name, {}).get("newest") is None
                pages = run.search(feed, start if first else run.horizon)
            try:
                yield from pages
            except ConnectorError as exc:
                if exc.status != 404:
                    raise
                log.warning(f"Mastodon {feed.label}: HTTP 404 (an unknown hashtag?); skipped")
        yield from run.refresh(now, refresh_limit)

    last = state.dump()
    for page in records():  # a page without records is passed on only when the state moved
        cursor = state.dump()
        if page or cursor != last:
            last = cursor
            yield page, cursor


def cursor_name(client: ApiClient) -> str:
    """One cursor per instance: ids mean nothing on another one."""
    host = httpx.URL(client.base_url).netloc.decode()
    return "social_mastodon_" + re.sub(r"[^a-z0-9.-]+", "-", host.lower())


def pull_mastodon(
    paths: DataPaths,
    client: ApiClient,
    start: date,
    hashtags: Sequence[str],
    queries: Sequence[str] = (),
    *,
    refresh: timedelta = timedelta(days=7),
    now: datetime | None = None,
    **kw: Any,
) -> list[PullResult]:
    """Pull the hashtags' timelines and the queries' search results (a token's) from one
    instance into the social source; `kw` may set `limit`, `max_pages`, `refresh_limit`
    and `log`."""
    name = cursor_name(client)
    store = CursorStore(paths, name)
    # Hashtags are case-insensitive (Mastodon keeps them lower-case): one cursor for #Beacon and #beacon.
    feeds = [Feed("tag", t.lower()) for t in hashtags] + [Feed("search", q) for q in queries]
    state = State.load(store.load())
    state.feeds = {f.name: state.feeds[f.name] for f in feeds if f.name in state.feeds}
    log = kw.pop("log", LOG)
    begin = datetime.combine(start, datetime.min.time(), UTC)
    pages = mastodon_pages(client, feeds, state=state, start=begin, now=now or datetime.now(UTC),
                           refresh=refresh, log=log, **kw)  # fmt: skip
    return [
        pull_pages(paths, "social", pages, cursor_name=name, prefix="mastodon_statuses", log=log)
    ]
