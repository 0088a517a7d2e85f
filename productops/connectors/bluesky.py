"""Bluesky: posts that mention the product, from `app.bsky.feed.searchPosts`.

Search needs a user session (`bluesky_session`). It is newest first with offset
cursors. Each query keeps the newest `sortAt` it has read and the windows it has yet
to finish: a run starts a little behind the newest (`overlap`, for posts indexed late),
and a run cut short (or over its page budget) leaves the unread rest of its window for
the next run. Offsets shift as posts arrive, so the same post can come on two pages: a
post is saved only when its bytes differ from the last ones saved. Posts created within
the refresh window are re-read with `getPosts` on every run for their counts; one that
`getPosts` no longer returns was deleted and is saved as a tombstone.

Posts are saved exactly as the API sends them (`postView`s); a deletion is saved as
`{"productops_tombstone": {"channel": "bluesky", "key": <uri>, "created_at": <sortAt>,
"deleted_at": <UTC>}}`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from productops.connectors.apis import Page
from productops.connectors.bluesky_session import SETTINGS, BlueskySession, SessionStore
from productops.connectors.http import ApiClient, ConnectorError
from productops.connectors.pull import CursorStore, PullResult, pull_pages
from productops.settings import DataPaths

LOG = logging.getLogger(__name__)
CHANNEL = "bluesky"
CURSOR = "social_bluesky"
SEARCH_POSTS = "/xrpc/app.bsky.feed.searchPosts"
GET_POSTS = "/xrpc/app.bsky.feed.getPosts"
GET_POSTS_MAX = 25  # uris per getPosts call, the lexicon's maximum
# A resumed window ends this far after the oldest post read, so that posts sharing its
# `sortAt` are read again rather than skipped (`until` is exclusive).
RESUME_MARGIN = timedelta(seconds=1)
MAX_WINDOWS = 8  # unfinished windows kept per query; older ones are merged


def bluesky_client(
    base_url: str,
    identifier: str,
    app_password: str,
    *,
    session_store: SessionStore | None = None,
    clock: Callable[[], float] = time.time,
    **kw: Any,
) -> ApiClient:
    auth = BlueskySession(base_url, identifier, app_password, session_store, clock)
    return ApiClient("Bluesky", base_url, SETTINGS, auth=auth, clock=clock, **kw)


# --- the API's pages ----------------------------------------------------------------------


def search_posts(
    client: ApiClient,
    *,
    query: str,
    since: str,
    until: str | None = None,
    limit: int = 100,
    max_pages: int = 50,
) -> Iterator[Page]:
    """`searchPosts` newest first from `since` (inclusive) to `until` (exclusive), page by
    page: each page's `posts` as sent and the cursor that came with it. Ends when no cursor
    comes back, the cursor repeats, a page is empty, or after `max_pages` pages."""
    cursor: str | None = None
    for _ in range(max_pages):
        params: dict[str, Any] = {"q": query, "sort": "latest", "since": since, "limit": limit}
        if until is not None:
            params["until"] = until
        if cursor is not None:
            params["cursor"] = cursor
        data, _ = client.get(SEARCH_POSTS, params)
        posts = data.get("posts") if isinstance(data, dict) else None
        if not isinstance(posts, list):
            raise ConnectorError(f"Bluesky: searchPosts for {query!r} answered without `posts`")
        following = data.get("cursor")
        following = str(following) if following not in (None, "") else None
        if following == cursor:
            following = None  # a cursor that does not move would never end
        if posts:
            yield posts, following
        if not posts or following is None:
            return
        cursor = following


def get_posts(client: ApiClient, uris: list[str]) -> list[dict[str, Any]]:
    """`getPosts` for at most 25 uris; a post that no longer exists is simply absent."""
    if len(uris) > GET_POSTS_MAX:
        raise ValueError(f"getPosts takes at most {GET_POSTS_MAX} uris, got {len(uris)}")
    data, _ = client.get(GET_POSTS, {"uris": uris})
    posts = data.get("posts") if isinstance(data, dict) else None
    if not isinstance(posts, list):
        raise ConnectorError("Bluesky: getPosts answered without `posts`")
    return posts


# --- incremental state ---------------------------------------------------------------------


def _instant(value: Any) -> datetime | None:
    """An AT Protocol datetime as UTC; None when absent, unreadable or without a zone."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def _iso(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def _stamps(post: dict[str, Any]) -> list[datetime]:
    record = post.get("record")
    created = record.get("createdAt") if isinstance(record, dict) else None
    return [s for s in (_instant(post.get("indexedAt")), _instant(created)) if s is not None]


def sort_at(post: dict[str, Any]) -> datetime | None:
    """What search sorts and filters on, as the AppView computes it [I]: the earlier of the
    server's `indexedAt` and the client-written `record.createdAt` (so a post dated in the
    future cannot jump ahead). Also the lower of the two whatever the server does, so a
    query's newest `sortAt` read is never overstated."""
    return min(_stamps(post), default=None)


def _resume_before(posts: list[dict[str, Any]]) -> datetime | None:
    """Where a window's unread rest ends (`until` is exclusive): after the page's last post
    whichever of its two times the server sorts by, plus a margin, so nothing is skipped."""
    latest = [max(stamps) for stamps in map(_stamps, posts) if stamps]
    return min(latest) + RESUME_MARGIN if latest else None


def _digest(post: dict[str, Any]) -> str:
    body = json.dumps(post, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def tombstone(uri: str, created_at: str, deleted_at: datetime) -> dict[str, Any]:
    """A deleted post: its key and creation time (its `sortAt`, the time staging files a
    post under), so that staging keeps it as the post's newest version."""
    return {"productops_tombstone": {"channel": CHANNEL, "key": uri, "created_at": created_at,
                                     "deleted_at": deleted_at.strftime("%Y-%m-%dT%H:%M:%SZ")}}  # fmt: skip


@dataclass
class ChannelState:
    """The channel's cursor: per query, the newest `sortAt` read (`top`) and the windows
    `[since, until)` still to read, newest first (`until` None: open); and the posts held
    for refreshing, `uri -> [sortAt, digest of the bytes last saved]`."""

    queries: dict[str, dict[str, Any]] = field(default_factory=dict)
    held: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def decode(cls, cursor: str | None) -> ChannelState:
        if not cursor:
            return cls()
        data = json.loads(cursor)
        return cls(dict(data.get("queries") or {}), dict(data.get("held") or {}))

    def encode(self) -> str:
        return json.dumps({"queries": self.queries, "held": self.held}, separators=(",", ":"))

    def prune(self, cutoff: datetime, max_held: int) -> None:
        """Keep the newest `max_held` posts created since `cutoff`."""
        keep = sorted(
            (
                (u, v)
                for u, v in self.held.items()
                if (instant := _instant(v[0])) is not None and instant >= cutoff
            ),
            key=lambda item: item[1][0],
            reverse=True,
        )[:max_held]
        self.held = dict(keep)


class _Saver:
    """Decides which posts are saved: those whose bytes differ from the last saved, and
    not yet saved in this run; remembers posts created since `cutoff` for refreshing."""

    def __init__(self, state: ChannelState, cutoff: datetime) -> None:
        self.state, self.cutoff = state, cutoff
        self.run: dict[str, str] = {}

    def fresh(self, posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [p for p in posts if self._new(p)]

    def _new(self, post: dict[str, Any]) -> bool:
        uri = post.get("uri") if isinstance(post, dict) else None
        if not isinstance(uri, str):
            return True  # saved as sent; staging says what is wrong with it
        digest = _digest(post)
        held = self.state.held.get(uri)
        if self.run.get(uri) == digest or (held is not None and held[1] == digest):
            return False
        self.run[uri] = digest
        created = sort_at(post)
        if created is not None and created >= self.cutoff:
            self.state.held[uri] = [_iso(created), digest]
        return True


def _refreshed(
    client: ApiClient, state: ChannelState, saver: _Saver, now: datetime, page_size: int, log
) -> Iterator[Page]:
    """The held posts again, in batches of 25: the changed ones, and a tombstone for each
    post no longer there."""
    uris, changed, page, gone = list(state.held), 0, [], []
    for i in range(0, len(uris), GET_POSTS_MAX):
        batch = uris[i : i + GET_POSTS_MAX]
        found = {p.get("uri"): p for p in get_posts(client, batch) if isinstance(p, dict)}
        for uri in batch:
            post = found.get(uri)
            if post is None:
                gone.append(tombstone(uri, state.held.pop(uri)[0], now))
            elif saver.fresh([post]):
                page.append(post)
                changed += 1
        if len(page) >= page_size:
            yield page, state.encode()
            page = []
    if page:
        yield page, state.encode()
    if gone:  # a page of their own: a file's shape is its first record's
        yield gone, state.encode()
    if uris:
        log.info(
            f"Bluesky: re-read {len(uris)} recent posts: {changed} changed, {len(gone)} deleted"
        )


def _searched(
    client: ApiClient,
    state: ChannelState,
    saver: _Saver,
    query: str,
    opening: datetime,
    *,
    overlap: timedelta,
    page_size: int,
    max_pages: int,
    log,
) -> Iterator[Page]:
    """One query's new window (from its newest `sortAt` minus `overlap`), then the windows
    earlier runs left unfinished, within `max_pages` pages. After each page the state holds
    the unread rest of the window being read."""
    progress = state.queries.setdefault(query, {"top": None, "windows": []})
    top = _instant(progress["top"])
    since = _iso(top - overlap if top is not None else opening)
    windows: list[list[str | None]] = [[since, None], *progress["windows"]]
    if len(windows) > MAX_WINDOWS:  # merge the oldest two: re-read a little, lose nothing
        windows[-2:] = [[windows[-1][0], windows[-2][1]]]
    pages_left, saved = max_pages, 0
    while windows and pages_left > 0:
        lo, hi = windows[0]
        read, cursor = 0, None
        for posts, after in search_posts(
            client, query=query, since=str(lo), until=hi, limit=page_size, max_pages=pages_left
        ):
            read, cursor = read + 1, after
            newest, rest = (
                max(filter(None, map(sort_at, posts)), default=None),
                _resume_before(posts),
            )
            if newest is not None and (top is None or newest > top):
                top = newest
                progress["top"] = _iso(newest)
            if rest is not None and (hi is None or _iso(rest) < hi):
                windows[0] = [lo, _iso(rest)]
            progress["windows"] = [list(w) for w in windows]
            fresh = saver.fresh(posts)
            saved += len(fresh)
            if fresh:
                yield fresh, state.encode()
        pages_left -= read
        if cursor is not None and pages_left <= 0:
            break  # over budget: the window's rest stays for the next run
        windows.pop(0)
        progress["windows"] = [list(w) for w in windows]
    left = f"; {len(windows)} window(s) left for the next run" if windows else ""
    log.info(
        f"Bluesky: {query!r}: {saved} new or changed posts in {max_pages - pages_left} pages{left}"
    )


def channel_pages(
    client: ApiClient,
    state: ChannelState,
    queries: list[str],
    *,
    start: date,
    refresh: timedelta,
    overlap: timedelta,
    page_size: int,
    max_pages: int,
    max_held: int,
    log: logging.Logger | logging.LoggerAdapter = LOG,
) -> Iterator[Page]:
    """Every page this run saves, each with the channel's state after it: the held posts
    re-read first, then each query's search. Queries no longer configured are forgotten."""
    now = datetime.fromtimestamp(client.clock(), UTC)
    # Held: posts created within the refresh window, and those the next search reads again
    # (within `overlap` of a query's newest), so that a quiet query's last posts, older
    # than the window, are not saved again on every run.
    tops = [_instant(state.queries.get(q, {}).get("top")) for q in queries]
    cutoff = min([now - refresh, *(t - overlap for t in tops if t is not None)])
    state.prune(cutoff, max_held)
    saver = _Saver(state, cutoff)
    yield from _refreshed(client, state, saver, now, page_size, log)
    opening = datetime.combine(start, datetime.min.time(), UTC)
    for query in queries:
        yield from _searched(client, state, saver, query, opening, overlap=overlap,
                             page_size=page_size, max_pages=max_pages, log=log)  # fmt: skip
    state.queries = {q: v for q, v in state.queries.items() if q in queries}
    state.prune(cutoff, max_held)


def pull_bluesky(
    paths: DataPaths,
    client: ApiClient,
    start: date,
    queries: list[str],
    refresh: timedelta = timedelta(days=7),
    overlap: timedelta = timedelta(hours=2),
    page_size: int = 100,
    max_pages: int = 100,
    max_held: int = 2500,
    **kw: Any,
) -> list[PullResult]:
    """Search each query and re-read recent posts into `landing/social/api/`, then raw.

    One cursor for the channel (`social_bluesky`): the posts held for refreshing are
    shared by the queries, so a post that two queries find is re-read once. A state
    change with nothing to save (a window finished, old posts let go) is committed once
    the run's pages are in the raw lake.
    """
    state = ChannelState.decode(CursorStore(paths, CURSOR).load())
    pages = channel_pages(
        client, state, queries, start=start, refresh=refresh, overlap=overlap,
        page_size=page_size, max_pages=max_pages, max_held=max_held, log=kw.get("log", LOG),
    )  # fmt: skip
    result = pull_pages(paths, "social", pages, cursor_name=CURSOR, prefix="bluesky_posts", **kw)
    final = state.encode()
    if final != result.cursor:
        CursorStore(paths, CURSOR).save(final)
        result.cursor = final
    return [result]
