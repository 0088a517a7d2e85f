"""App Store customer reviews from Apple's public RSS feed (JSON), one storefront at a time.

`GET /{country}/rss/customerreviews/page={n}/id={appId}/sortby=mostrecent/json`, newest
first, about 50 reviews a page, pages 1 to 10 only: the feed holds at most the ~500 newest
reviews of a storefront, so busy storefronts must be pulled at least daily. No auth and
no rate-limit headers; the feed's CDN throttles with 403, 429 or 503, which the client
waits out (`throttle_status`), and a pull pauses between requests.

What is saved: each review entry exactly as the feed gives it, with one field added,
`"productops_storefront": "<country>"` (the lower-case code of the URL it came from: the
feed has no territory field). Entries without `im:rating` are not reviews (old feeds put
the app's own metadata first) and are dropped. What staging reads, every value a string
under `label`:

- key `id.label` (the review id); `productops_storefront`;
- `updated.label`, ISO 8601 with a Pacific offset (`-08:00`/`-07:00`): the only time the
  feed has, so it is both the creation time and the version (an edit gets a new one);
- `im:rating.label` "1".."5"; `title.label`, `content.label` (plain text, `\\n`);
  `im:version.label` (the app version reviewed);
- `author.name.label`, `author.uri.label` (`.../reviews/id<userId>`, the stable reviewer key);
- `im:voteSum.label`, `im:voteCount.label` (helpful votes); `link.attributes.href`.
  No language field, no developer response.

A review gone from the feed (deleted by its author, or removed by Apple) is saved as
`{"productops_tombstone": {"channel": "app_store", "key": "appstore:<id>@<UTC day>",
"created_at": "<updated>", "deleted_at": "<UTC>"}}` (the version's staging key and day);
a review rewritten on a later day tombstones its earlier day's version the same way
once it is missing from the part of the feed read on two pulls in a row (a CDN-cached
page, or an edit that moved a review to the top while the pages were read, hides a
review from one pull).

The cursor, one per app and storefront (`social_appstore_<appId>_<country>`), is JSON:
`{"reviews": {"<id>": ["<updated>", "<sha256 of the saved record, 16 hex>", <pulls missing>]}}`
for the 500 newest reviews saved. A pull reads from page 1 and stops at the page that
holds a review whose (`id`, `updated`) an earlier pull saved, once past the refresh
window (re-read for deletions), or at a page without reviews, or at page 10.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from productops.connectors.apis import Page
from productops.connectors.http import ApiClient, ConnectorError, RetryPolicy
from productops.connectors.pull import CursorStore, PullResult, pull_pages
from productops.settings import DataPaths

LOG = logging.getLogger(__name__)
CHANNEL = "app_store"
STOREFRONT = "productops_storefront"
MAX_PAGES = 10  # the feed refuses deeper pages (HTTP 400)
MAX_HELD = 500  # reviews kept in the cursor: as many as the feed can show
PAUSE_S = 1.0  # between two requests: the feed has no published limit, so stay gentle
REFRESH = timedelta(days=7)  # re-read this far back on every pull to notice deletions
MISSING_PULLS = 2  # pulls in a row a review must be missing before it is tombstoned
_COUNTRY = re.compile(r"[a-z]{2}")


def appstore_client(base_url: str, **kw: Any) -> ApiClient:
    """No credentials; 403 and 503 are the CDN's throttling, waited out like a 429
    (honouring a `Retry-After` when one comes), with slower backoff than the default."""
    kw.setdefault("retry", RetryPolicy(base_s=2.0, cap_s=120.0))
    return ApiClient(
        "App Store", base_url, "APPSTORE_RSS_BASE_URL and APPSTORE_APP_ID",
        headers={"User-Agent": "productops (App Store customer reviews)"},
        throttle_status=frozenset({403, 503}), **kw,
    )  # fmt: skip


def reviews_path(country: str, app_id: str, page: int) -> str:
    return f"/{country}/rss/customerreviews/page={page}/id={app_id}/sortby=mostrecent/json"


def parse_countries(text: str | None) -> list[str]:
    """`APPSTORE_COUNTRIES` ("us,de,fr") as storefront codes, in order, once each; "us" when
    unset. They end up in URLs and cursor names, so anything but two letters is refused."""
    codes = [c.strip().lower() for c in (text or "").split(",") if c.strip()] or ["us"]
    bad = [c for c in codes if not _COUNTRY.fullmatch(c)]
    if bad:
        raise ValueError(f"APPSTORE_COUNTRIES: {bad} are not two-letter storefront codes")
    return list(dict.fromkeys(codes))


def feed_reviews(data: Any, what: str) -> list[dict[str, Any]]:
    """The page's review entries: `feed.entry` is a list, an object (one review) or absent
    (none); entries without `im:rating` (the app itself, in old feeds) are not reviews."""
    feed = data.get("feed") if isinstance(data, dict) else None
    if not isinstance(feed, dict):
        raise ConnectorError(f"App Store: no feed object in the answer to {what}")
    entries = feed.get("entry") or []
    entries = [entries] if isinstance(entries, dict) else entries
    if not isinstance(entries, list):
        raise ConnectorError(f"App Store: feed.entry is neither a list nor an object in {what}")
    return [e for e in entries if isinstance(e, dict) and "im:rating" in e]


def _label(entry: dict[str, Any], name: str) -> str | None:
    value = entry.get(name)
    label = value.get("label") if isinstance(value, dict) else None
    return label if isinstance(label, str) else None


def _when(text: str | None) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return stamp if stamp is None or stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _digest(record: dict[str, Any]) -> str:
    body = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:16]


@dataclass
class Held:
    """A storefront's reviews already saved: id -> [updated, digest, pulls missing]."""

    reviews: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    def loads(cls, cursor: str | None) -> Held:
        return cls(dict(json.loads(cursor)["reviews"])) if cursor else cls()

    def dumps(self) -> str:
        return json.dumps({"reviews": self.reviews}, sort_keys=True, separators=(",", ":"))

    def prune(self) -> None:
        """Keep the newest MAX_HELD: older ones have left the feed for good."""
        floor = datetime.min.replace(tzinfo=UTC)
        newest = sorted(self.reviews.items(), key=lambda kv: _when(kv[1][0]) or floor)
        self.reviews = dict(newest[-MAX_HELD:])


def storefront_reviews(
    client: ApiClient,
    *,
    app_id: str,
    country: str,
    held: Held,
    since: datetime | None,
    refresh_from: datetime,
    pause_s: float = PAUSE_S,
    log: logging.Logger | logging.LoggerAdapter = LOG,
) -> Iterator[Page]:
    """One storefront's new and changed reviews, page by page, then its tombstones.

    Each page yields only the records not saved before (same bytes are never saved
    twice, also when a review slides onto the next page as new ones arrive), with the
    cursor that includes them; `held` is updated as pages are read. The stop rule reads
    only what earlier pulls saved. `since` bounds a first pull (no cursor yet).
    """
    before = {k: v[0] for k, v in held.reviews.items()}  # id -> updated, as committed
    last = held.dumps()  # the cursor as committed, then as last yielded
    seen: set[str] = set()
    oldest: datetime | None = None  # everything newer than this was read
    to_the_end = False  # the feed ran out before page 10: every held review was looked for
    for page in range(1, MAX_PAGES + 1):
        if page > 1:
            client.sleep(pause_s)
        path = reviews_path(country, app_id, page)
        try:
            data, _ = client.get(path)
        except ConnectorError as exc:
            if exc.status == 400 and page > 1:  # "page depth is limited": as deep as it goes
                log.warning(f"App Store {country}: page {page} refused (HTTP 400); stopped there")
                break
            raise
        entries = feed_reviews(data, f"GET {path}")
        if not entries:
            to_the_end = True
            break
        fresh, rewritten, met = [], [], False
        for entry in entries:
            record = {**entry, STOREFRONT: country}
            key, updated = _label(entry, "id"), _label(entry, "updated") or ""
            digest = _digest(record)
            if key is None:  # nothing to track it by: saved, and staging says what is wrong
                fresh.append(record)
                continue
            met = met or before.get(key) == updated
            seen.add(key)
            was = held.reviews.get(key, [None, None])
            if was[1] != digest:
                fresh.append(record)
                if was[0] and _day(was[0]) != _day(updated):  # rewritten on another day
                    rewritten.append(tombstone(key, was[0], client.clock()))
            held.reviews[key] = [updated, digest, 0]
            stamp = _when(updated)
            if stamp is not None and (oldest is None or stamp < oldest):
                oldest = stamp
        if fresh:
            last = held.dumps()
            yield fresh, last
        if rewritten:  # a page of their own: a file's shape is its first record's
            yield rewritten, last
        past_refresh = oldest is not None and oldest < refresh_from
        if (met and past_refresh) or (since is not None and oldest is not None and oldest < since):
            break
    tombstones = _missing(
        held, seen, oldest, to_the_end, datetime.fromtimestamp(client.clock(), UTC)
    )
    held.prune()
    cursor = held.dumps()
    if tombstones or cursor != last:  # also when only the missing counts changed (an empty page)
        yield tombstones, cursor


def _missing(
    held: Held, seen: set[str], oldest: datetime | None, to_the_end: bool, now: datetime
) -> list[dict[str, Any]]:
    """Count a pull's misses of held reviews in the part of the feed it read; tombstones for
    those missing `MISSING_PULLS` times in a row (dropped from `held`)."""
    tombstones = []
    for key, entry in list(held.reviews.items()):
        stamp = _when(entry[0])
        covered = to_the_end or (oldest is not None and stamp is not None and stamp > oldest)
        if key in seen or not covered:
            continue
        entry[2] += 1
        if entry[2] >= MISSING_PULLS:
            del held.reviews[key]
            tombstones.append(tombstone(key, entry[0], now.timestamp()))
    return tombstones


def _day(updated: str) -> str | None:
    """The UTC day of a feed time (`2026-03-19T22:00:00-07:00` is 2026-03-20)."""
    stamp = _when(updated)
    return stamp.astimezone(UTC).date().isoformat() if stamp is not None else None


def tombstone(review_id: str, updated: str, now: float) -> dict[str, Any]:
    """The version of a review that `updated` dated, gone (deleted, or rewritten on a later
    day): its staging key (`appstore:<id>@<UTC day>`) and time, so that staging keeps it
    as that version's newest record, on the same day."""
    at = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"productops_tombstone": {"channel": CHANNEL, "key": f"appstore:{review_id}@{_day(updated)}",
                                     "created_at": updated, "deleted_at": at}}  # fmt: skip


def cursor_name(app_id: str, country: str) -> str:
    return f"social_appstore_{app_id}_{country}"


def pull_appstore(
    paths: DataPaths,
    client: ApiClient,
    start: date,
    *,
    app_id: str,
    countries: Sequence[str],
    refresh: timedelta = REFRESH,
    pause_s: float = PAUSE_S,
    **kw: Any,
) -> list[PullResult]:
    """Each storefront's new reviews into `landing/social/api/`, a cursor per storefront.

    A first pull reads back to `start` (within the feed's 500). Storefronts are pulled
    in order; one that fails stops the pull (the next storefronts would meet the same
    throttling), and those done keep their committed cursors.
    """
    if not app_id.isdigit():
        raise ConnectorError("App Store: APPSTORE_APP_ID must be the app's numeric id")
    log = kw.get("log", LOG)
    now = datetime.fromtimestamp(client.clock(), UTC)
    first_day = datetime.combine(start, clock_time.min, UTC)
    results = []
    for n, country in enumerate(countries):
        if not _COUNTRY.fullmatch(country):
            raise ConnectorError(f"App Store: {country!r} is not a two-letter storefront code")
        if n:
            client.sleep(pause_s)
        name = cursor_name(app_id, country)
        held = Held.loads(CursorStore(paths, name).load())
        pages = storefront_reviews(
            client, app_id=app_id, country=country, held=held, pause_s=pause_s, log=log,
            since=None if held.reviews else first_day, refresh_from=now - refresh,
        )  # fmt: skip
        results.append(
            pull_pages(paths, "social", pages, cursor_name=name, prefix=f"appstore_{country}", **kw)
        )
    return results
