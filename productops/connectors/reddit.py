"""Reddit posts and comments: site-wide searches and subreddit listings, newest first.

Reddit's listings have no time filter and hold at most about 1,000 items, so each feed
is walked down `sort=new` pages until an item is older than the newest one already
pulled (less an overlap for late indexing). Edits, score changes and removals never
move an item in a listing, so the items of the last few days are re-read by fullname
(`/api/info`). Records are saved exactly as the listings' children,
`{"kind": "t3"|"t1", "data": {...}}`; an item that `/api/info` no longer returns at all
is saved as a tombstone.

One cursor for the whole channel (`lake/_cursors/social_reddit.json`) holds how far
each feed was walked and, for the items still re-read, their creation time and a
digest of the version saved: an item is saved again only when its bytes changed, and
an item that two feeds (or two pages) return is saved once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from productops.connectors.apis import Page
from productops.connectors.http import ApiClient, AuthError, ConnectorError, RetryPolicy
from productops.connectors.pull import CursorStore, PullResult, pull_pages
from productops.settings import DataPaths

LOG = logging.getLogger(__name__)
CREDENTIALS = "REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET"
CURSOR = "social_reddit"
TOKEN_PATH = "/api/v1/access_token"
PAGE_SIZE = 100  # Reddit's largest `limit`; also the most fullnames `/api/info` takes
# A listing holds about 1,000 items (10 pages); the rest of the budget is for a walk
# whose `after` anchor vanished and that starts again from a different one.
MAX_PAGES = 14
MAX_REANCHORS = 3
OVERLAP = timedelta(hours=3)  # how far behind the newest item a walk still reads
REFRESH = timedelta(days=7)  # items this recent are re-read for edits and removals
MAX_TRACKED = 10_000  # at most this many items re-read per pull (100 requests)
# A walk that ends this deep without reaching the last item pulled hit the listing cap.
CAP_WARNING = 900


class RedditAuth(httpx.Auth):
    """App-only OAuth (`client_credentials`): fetches a bearer token, refreshes it a little
    before `expires_in` runs out, and once more when the API answers 401 anyway.

    A token answer that is not a 200 is handed back as the request's answer, so the
    client's retry policy treats it as any other (a 401 names the settings, a 429 or a
    5xx is waited out); a 200 that says `{"error": ...}` is a refused request.
    """

    requires_response_body = True

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        user_agent: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._token_headers = {
            "Authorization": f"Basic {basic}",
            "User-Agent": user_agent,
            "Accept": "application/json",
        }
        self.token_url = token_url
        self.clock = clock
        self.tokens_fetched = 0
        self._token: str | None = None
        self._renew_at = 0.0

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        for attempt in range(2):
            if attempt or self._token is None or self.clock() >= self._renew_at:
                answer = yield httpx.Request(
                    "POST",
                    self.token_url,
                    data={"grant_type": "client_credentials"},
                    headers=self._token_headers,
                )
                if not self._take(answer):
                    return
            request.headers["Authorization"] = f"bearer {self._token}"
            response = yield request
            if response.status_code != 401:
                return
            self._token = None  # expired or revoked early: one new token, then give up

    def _take(self, answer: httpx.Response) -> bool:
        """Keep the token of a good answer; False to hand a failed one back."""
        if answer.status_code != 200:
            return False
        try:
            body = answer.json()
        except ValueError as exc:
            raise ConnectorError(
                f"Reddit: malformed JSON in the answer to POST {TOKEN_PATH} "
                f"({len(answer.content)} bytes)"
            ) from exc
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token or "error" in body:
            said = str(body.get("error", "no access_token"))[:80] if isinstance(body, dict) else ""
            raise AuthError(
                f"Reddit refused the app-only token request ({said!r}): check {CREDENTIALS}"
            )
        self._token = str(token)
        self.tokens_fetched += 1
        try:
            lifetime = float(body["expires_in"])
        except (KeyError, TypeError, ValueError):
            lifetime = math.inf  # no lifetime given: renewed when the API says 401
        # Renewed before it runs out: a minute early, or a tenth of a short lifetime.
        self._renew_at = self.clock() + lifetime - min(60.0, lifetime / 10)
        return True


def reddit_client(
    base_url: str,
    auth_url: str,
    client_id: str,
    client_secret: str,
    user_agent: str,
    **kw: Any,
) -> ApiClient:
    """A client for `oauth.reddit.com`, its token from `auth_url` (`www.reddit.com`).

    Reddit's window is 600 requests per 600 s, so the retry budget can wait out a whole
    window once; a bare JSON 429 (no headers) waits for the end of the window the last
    good answer announced (the client does that for every vendor)."""
    clock = kw.get("clock", time.time)
    auth = RedditAuth(
        auth_url.rstrip("/") + TOKEN_PATH, client_id, client_secret, user_agent, clock
    )
    kw.setdefault("retry", RetryPolicy(max_wait_s=660.0))
    return ApiClient(
        "Reddit", base_url, CREDENTIALS, auth=auth, headers={"User-Agent": user_agent}, **kw
    )


# --- reading listings ------------------------------------------------------------------------


def _children(data: Any, what: str) -> tuple[list[dict[str, Any]], str | None]:
    """A Listing's children and its `after`."""
    try:
        listing = data["data"]
        children, after = listing["children"], listing.get("after")
    except (TypeError, KeyError) as exc:
        raise ConnectorError(f"Reddit: the answer to {what} is not a Listing ({exc!r})") from exc
    if not isinstance(children, list):
        raise ConnectorError(f"Reddit: the answer to {what} has no list of children")
    return children, after if isinstance(after, str) and after else None


def fullname(child: dict[str, Any]) -> str | None:
    data = child.get("data") if isinstance(child, dict) else None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name else None


def created(child: dict[str, Any]) -> float | None:
    data = child.get("data") if isinstance(child, dict) else None
    try:
        value = float(data["created_utc"])  # type: ignore[index]
    except (TypeError, KeyError, ValueError):
        return None
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Feed:
    """One listing to walk: its cursor key, path and query parameters (`after` aside)."""

    key: str
    path: str
    params: dict[str, str]

    @staticmethod
    def search(query: str) -> Feed:
        params = {"q": query, "sort": "new", "type": "link", "raw_json": "1"}
        return Feed(f"search:{query}", "/search", params)

    @staticmethod
    def subreddit(name: str, listing: str) -> Feed:
        """`new` (posts) or `comments` of one subreddit."""
        sr = name.strip().strip("/").removeprefix("r/")
        return Feed(f"r/{sr}/{listing}", f"/r/{quote(sr, safe='')}/{listing}", {"raw_json": "1"})


def feeds(queries: Iterable[str], subreddits: Iterable[str]) -> list[Feed]:
    return [
        *(Feed.search(q) for q in queries),
        *(Feed.subreddit(sr, kind) for sr in subreddits for kind in ("new", "comments")),
    ]


@dataclass
class Walk:
    """One walk of a newest-first listing down to `floor` (epoch seconds).

    `pages()` yields each page's children not yet seen in this walk and created at or
    after `floor`, with the page's `after`. `complete` tells, once it is done, whether
    the walk reached the floor or the listing's end (the feed's cursor may move on).

    An `after` anchor removed between two requests makes Reddit ignore it and start
    again from the top: a page holding an item newer than the anchor. The walk then
    starts again from the item before the anchor on the last good page, a few times.
    """

    client: ApiClient
    feed: Feed
    floor: float
    log: logging.Logger | logging.LoggerAdapter = LOG
    max_pages: int = MAX_PAGES
    complete: bool = False
    newest: float | None = None
    seen: set[str] = field(default_factory=set)

    def pages(self) -> Iterator[Page]:
        after: str | None = None
        anchor_created = math.inf
        spare: list[tuple[str, float]] = []  # fallback anchors, newest first
        reanchors = depth = 0
        for _ in range(self.max_pages):
            params = {**self.feed.params, "limit": str(PAGE_SIZE)}
            if after:
                params["after"] = after
            data, _ = self.client.get(self.feed.path, params)
            children, next_after = _children(data, f"GET {self.feed.path}")
            stamps = [s for s in map(created, children) if s is not None]
            if after and any(s > anchor_created for s in stamps):
                if reanchors >= MAX_REANCHORS or not spare:
                    self.log.warning(
                        f"Reddit: {self.feed.key}: the listing kept starting again from the "
                        f"top (its `after` item was removed); stopped after {depth} items, "
                        "the next pull walks it again"
                    )
                    return
                reanchors += 1
                after, anchor_created = spare.pop()
                continue
            kept = [c for c in children if self._keep(c)]
            depth += len(children)
            if stamps:
                self.newest = max(self.newest or stamps[0], *stamps)
            if kept:
                yield kept, next_after
            reached = bool(stamps) and min(stamps) < self.floor
            if reached or not children or not next_after:
                self.complete = True
                if not reached and depth >= CAP_WARNING:
                    self.log.warning(
                        f"Reddit: {self.feed.key}: the listing ended after {depth} items "
                        "without reaching the last pull's newest item: older ones are beyond "
                        "Reddit's ~1,000-item cap and were missed; pull more often"
                    )
                return
            spare = [(n, s) for c in children[:-1]
                     if (n := fullname(c)) and (s := created(c)) is not None][-MAX_REANCHORS:]  # fmt: skip
            after = next_after
            last = created(children[-1])
            anchor_created = math.inf if last is None else last
        self.log.warning(
            f"Reddit: {self.feed.key}: stopped after {self.max_pages} pages without reaching "
            "the last pull's newest item; the next pull walks it again"
        )

    def _keep(self, child: dict[str, Any]) -> bool:
        name, stamp = fullname(child), created(child)
        if name is not None:
            if name in self.seen:
                return False  # the same item on two pages
            self.seen.add(name)
        return stamp is None or stamp >= self.floor


def info(client: ApiClient, names: list[str]) -> list[dict[str, Any]]:
    """`GET /api/info` for up to 100 fullnames: the items Reddit still has, removed or not."""
    if len(names) > PAGE_SIZE:
        raise ValueError(f"/api/info takes at most {PAGE_SIZE} fullnames, not {len(names)}")
    params = {"id": ",".join(names), "raw_json": "1"}
    data, _ = client.get("/api/info", params)
    return _children(data, f"GET /api/info ({len(names)} fullnames)")[0]


# --- the channel's cursor ---------------------------------------------------------------------


def digest(child: dict[str, Any]) -> str:
    body = json.dumps(child, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:16]


@dataclass
class RedditState:
    """What the channel's cursor holds: per feed, the newest `created_utc` of a completed
    walk; per item still re-read, `[created_utc, digest of the version saved]`."""

    feeds: dict[str, float] = field(default_factory=dict)
    items: dict[str, list] = field(default_factory=dict)

    @classmethod
    def load(
        cls, cursor: str | None, log: logging.Logger | logging.LoggerAdapter = LOG
    ) -> RedditState:
        if not cursor:
            return cls()
        try:
            raw = json.loads(cursor)
            return cls({str(k): float(v) for k, v in raw["feeds"].items()},
                       {str(k): [float(v[0]), str(v[1])] for k, v in raw["items"].items()})  # fmt: skip
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            log.warning(f"Reddit: the stored cursor is unreadable ({exc!r}); starting afresh")
            return cls()

    def dump(self) -> str:
        return json.dumps({"v": 1, "feeds": self.feeds, "items": self.items}, separators=(",", ":"))

    def prune(self, keep_from: float) -> None:
        """Forget items created before `keep_from`, and all but the newest MAX_TRACKED."""
        kept = sorted(
            ((n, v) for n, v in self.items.items() if v[0] >= keep_from), key=lambda nv: -nv[1][0]
        )
        self.items = dict(kept[:MAX_TRACKED])

    def take(
        self, children: list[dict[str, Any]], pulled: set[str], keep_from: float
    ) -> list[dict[str, Any]]:
        """The children to save: not yet saved in this pull, and changed since last saved.
        Those recent enough are remembered for the re-reads."""
        fresh = []
        for child in children:
            name = fullname(child)
            if name is not None:
                if name in pulled:
                    continue
                pulled.add(name)
                stamp, mark = created(child), digest(child)
                if self.items.get(name, [None, None])[1] == mark:
                    continue
                if stamp is not None and stamp >= keep_from:
                    self.items[name] = [stamp, mark]
            fresh.append(child)
        return fresh


# --- the pull -------------------------------------------------------------------------------------


def tombstone(name: str, created_utc: float, now: float) -> dict[str, Any]:
    """An item Reddit no longer returns: its fullname and creation time (so staging files
    it on the item's day, as the item's newest version) and when it was found gone."""

    def iso(t: float) -> str:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    return {"productops_tombstone": {"channel": "reddit", "key": name,
                                     "created_at": iso(created_utc), "deleted_at": iso(now)}}  # fmt: skip


@dataclass
class _Pull:
    """One pull's state, shared by the listing walks and the re-reads."""

    client: ApiClient
    state: RedditState
    since: float  # a feed never walked is read down to here
    overlap: float
    refresh_from: float
    keep_from: float
    now: float
    log: logging.Logger | logging.LoggerAdapter
    pulled: set[str] = field(default_factory=set)
    failure: ConnectorError | None = None

    def guarded(self, pages: Iterator[Page]) -> Iterator[Page]:
        """The pages until a request fails for good: the error is kept, so the pages
        already fetched are ingested and the cursor committed before it is raised."""
        try:
            yield from pages
        except ConnectorError as exc:
            self.failure = exc

    def listings(self, to_walk: list[Feed]) -> Iterator[Page]:
        for feed in to_walk:
            last = self.state.feeds.get(feed.key)
            walk = Walk(self.client, feed, last - self.overlap if last else self.since, self.log)
            for children, _ in walk.pages():
                if fresh := self.state.take(children, self.pulled, self.keep_from):
                    yield fresh, self.state.dump()
            if walk.complete:  # the next walk stops at this one's newest item, less the overlap
                self.state.feeds[feed.key] = max(last or 0.0, walk.newest or self.now)

    def rereads(self) -> Iterator[Page]:
        """Items of the refresh window not in this pull's listings, by fullname; those
        Reddit no longer returns at all become tombstones."""
        names = [n for n, (stamp, _) in self.state.items.items()
                 if stamp >= self.refresh_from and n not in self.pulled]  # fmt: skip
        for i in range(0, len(names), PAGE_SIZE):
            asked = names[i : i + PAGE_SIZE]
            children = info(self.client, asked)
            returned = {fullname(c) for c in children}
            fresh = self.state.take(children, self.pulled, self.keep_from)
            gone = [n for n in asked if n not in returned]
            if not children and len(asked) > 1 and info(self.client, asked[:1]):
                # An empty answer that one of its items contradicts: a bad answer, not
                # a hundred deletions. Those items are asked again next pull.
                self.log.warning(f"Reddit: /api/info returned none of {len(asked)} items")
                gone = []
            tombstones = [tombstone(n, self.state.items.pop(n)[0], self.now) for n in gone]
            if fresh:
                yield fresh, self.state.dump()
            if tombstones:  # a page of their own: a file's shape is its first record's
                yield tombstones, self.state.dump()


def _epoch(d: date) -> float:
    return datetime.combine(d, datetime.min.time(), UTC).timestamp()


def pull_reddit(
    paths: DataPaths,
    client: ApiClient,
    start: date,
    queries: Iterable[str],
    subreddits: Iterable[str] = (),
    *,
    refresh: timedelta = REFRESH,
    overlap: timedelta = OVERLAP,
    now: float | None = None,
    **kw: Any,
) -> list[PullResult]:
    """Walk every feed (each query's search, each subreddit's new posts and comments),
    then re-read the items of the last `refresh` by fullname, into `landing/social/api/`.

    A request that fails for good stops the pull, but what was fetched before it is
    ingested and the cursor committed first, then the error is raised.
    """
    log = kw.get("log", LOG)
    store = CursorStore(paths, CURSOR)
    now = time.time() if now is None else now
    keep_from = now - max(refresh, overlap).total_seconds()
    state = RedditState.load(store.load(), log)
    state.prune(keep_from)
    run = _Pull(client, state, _epoch(start), overlap.total_seconds(),
                now - refresh.total_seconds(), keep_from, now, log)  # fmt: skip
    results = []
    for prefix, pages in (("reddit_listing", lambda: run.listings(feeds(queries, subreddits))),
                          ("reddit_info", run.rereads)):  # fmt: skip
        if run.failure is None:  # no re-reads after a failed walk: the next pull starts over
            guarded = run.guarded(pages())
            results.append(
                pull_pages(paths, "social", guarded, cursor_name=CURSOR, prefix=prefix, **kw)
            )
    # Every page is in the raw lake now: the walks' ends (which yield no page) are kept too.
    state.prune(keep_from)
    store.save(state.dump())
    if run.failure is not None:
        raise run.failure
    return results
