"""An emulator of Apple's customer-reviews RSS feed (JSON), served by pytest-httpserver.

`GET /{country}/rss/customerreviews/page={n}/id={appId}/sortby=mostrecent/json`: the
envelope `{"feed": {author, entry, updated, rights, title, icon, link[], id}}`, 50 reviews
a page, newest first, pages 1 to 10 (deeper: HTTP 400, as Apple answers); `entry` is an
object when a page holds one review and absent when it holds none; an "old feed"
storefront puts the app's own metadata first on every page. Every value is a string
under `label`; `updated` carries a Pacific offset.

Switches for what the live feed does: reviews arriving between two page requests (the
same review on two pages), edits (the review jumps to the top with a new `updated`) and
deletions between pulls, throttling (403, 429, 503: bare, as the CDN answers, or a 429
with `Retry-After`), a shallower depth limit, and a run cut short (every request after
`fail_after` refused with 403, as a CDN blocks a client).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

APP_ID = "1404176564"
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # the pulling client's clock
PER_PAGE = 50
PACIFIC = ZoneInfo("America/Los_Angeles")
_PATH = re.compile(r"^/([a-z]{2})/rss/customerreviews/page=(\d+)/id=(\d+)/sortby=mostrecent/json$")
# Storefronts: reviews each and the hours between two of them (us spans the DST change).
STOREFRONTS = {"us": (620, 1.0), "de": (101, 3.0), "fr": (30, 10.0), "gb": (0, 1.0)}


def pacific(moment: datetime) -> str:
    return moment.astimezone(PACIFIC).isoformat()


@dataclass
class AppStoreEmulator:
    server: HTTPServer
    old_feed: set[str] = field(default_factory=lambda: {"fr"})  # app metadata first
    depth: int = 10  # pages served; deeper ones answer 400
    throttle: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # next answers
    fail_after: int | None = None  # requests after this many are refused: a run cut short
    # What happens once a page is answered, before the next request: (country, page) -> change
    after_page: dict[tuple[str, int], Callable[[], object]] = field(default_factory=dict)
    reviews: dict[str, list[dict]] = field(default_factory=dict)  # newest first
    log: list[tuple[str, int]] = field(default_factory=list)  # (country, page) answered 200
    requests: int = 0
    _serial: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for country, (count, hours) in STOREFRONTS.items():
            self.reviews[country] = [
                self._review(country, NOW - timedelta(hours=1 + i * hours)) for i in range(count)
            ]
        self.server.expect_request(_PATH).respond_with_handler(self._answer)

    def _review(self, country: str, updated: datetime, rating: int | None = None) -> dict:
        self._serial += 1
        n = self._serial
        user = 500_000 + n * 7
        return {
            "author": {"uri": {"label": f"https://itunes.apple.com/{country}/reviews/id{user}"},
                       "name": {"label": f"reviewer {n} ✨"}, "label": ""},
            "updated": {"label": pacific(updated)},
            "im:rating": {"label": str(rating or 1 + n % 5)},
            "im:version": {"label": f"3.{n % 4}.{n % 7}"},
            "id": {"label": str(6_200_000_000 + n)},
            "title": {"label": f"Review {n}"},
            "content": {"label": f"Line one of {n}\nline two: syncing is slow", "attributes": {"type": "text"}},
            "link": {"attributes": {"rel": "related",
                                    "href": f"https://itunes.apple.com/{country}/review?id={APP_ID}&type=Purple%20Software"}},
            "im:voteSum": {"label": str(n % 3)},
            "im:contentType": {"attributes": {"term": "Application", "label": "Application"}},
            "im:voteCount": {"label": str(n % 4)},
        }  # fmt: skip

    def _app_entry(self, country: str) -> dict:
        """What old feeds put first: the app itself, no rating."""
        return {
            "im:name": {"label": "Beacon"}, "rights": {"label": "© Beacon Inc."},
            "im:price": {"label": "Get", "attributes": {"amount": "0.00000", "currency": "EUR"}},
            "im:image": [{"label": "https://is1-ssl.mzstatic.com/beacon.png", "attributes": {"height": "53"}}],
            "im:artist": {"label": "Beacon Inc."}, "title": {"label": "Beacon - Beacon Inc."},
            "link": {"attributes": {"rel": "alternate", "type": "text/html",
                                    "href": f"https://apps.apple.com/{country}/app/beacon/id{APP_ID}"}},
            "id": {"label": f"https://apps.apple.com/{country}/app/beacon/id{APP_ID}",
                   "attributes": {"im:id": APP_ID}},
            "im:contentType": {"attributes": {"term": "Application", "label": "Application"}},
            "category": {"attributes": {"im:id": "6007", "term": "Productivity"}},
            "im:releaseDate": {"label": "2019-05-02T00:00:00-07:00"},
        }  # fmt: skip

    # --- what changes between (or during) pulls --------------------------------------------

    def add(self, country: str, n: int = 1, at: datetime | None = None) -> list[dict]:
        new = [self._review(country, (at or NOW) + timedelta(seconds=i)) for i in range(n)]
        self.reviews[country][:0] = reversed(new)
        return new

    def edit(self, country: str, key: str, at: datetime) -> dict:
        """The author rewrites a review: new text, new `updated`, back at the top."""
        old = self.find(country, key)
        self.reviews[country].remove(old)
        new = {**old, "updated": {"label": pacific(at)}, "im:rating": {"label": "5"},
               "content": {"label": "Fixed in the last update, thanks", "attributes": {"type": "text"}}}  # fmt: skip
        self.reviews[country].insert(0, new)
        return new

    def delete(self, country: str, key: str) -> None:
        self.reviews[country].remove(self.find(country, key))

    def find(self, country: str, key: str) -> dict:
        return next(r for r in self.reviews[country] if r["id"]["label"] == key)

    def reachable(self, country: str) -> list[dict]:
        """What the feed can show: the newest `depth` pages."""
        return self.reviews[country][: PER_PAGE * min(self.depth, 10)]

    # --- the feed ----------------------------------------------------------------------------

    def _answer(self, request: Request) -> Response:
        country, page, app_id = _PATH.match(request.path).groups()  # type: ignore[union-attr]
        page = int(page)
        with self.lock:
            self.requests += 1
            n = self.requests
            fault = self.throttle.pop(0) if self.throttle else None
        if self.fail_after is not None and n > self.fail_after:
            return Response("<html><body>Forbidden</body></html>", 403, content_type="text/html")
        if fault:
            status, headers = fault
            return Response("", status, headers)
        if page > self.depth or page > 10:
            return Response("CustomerReviews RSS page depth is limited to 10", 400,
                            content_type="text/plain")  # fmt: skip
        chunk = (
            self.reviews[country][(page - 1) * PER_PAGE : page * PER_PAGE]
            if app_id == APP_ID
            else []
        )
        self.log.append((country, page))
        if change := self.after_page.pop((country, page), None):
            change()
        return Response(json.dumps(self._feed(country, page, chunk)), 200,
                        content_type="application/json; charset=utf-8")  # fmt: skip

    def _feed(self, country: str, page: int, reviews: list[dict]) -> dict:
        entries = ([self._app_entry(country)] if country in self.old_feed else []) + reviews
        base = f"https://itunes.apple.com/{country}/rss/customerreviews"
        last = max(1, min(10, -(-len(self.reviews[country]) // PER_PAGE)))

        def link(rel: str, n: int) -> dict:
            return {"attributes": {"rel": rel, "href": f"{base}/page={n}/id={APP_ID}/sortby=mostrecent/xml"
                                   f"?urlDesc=/customerreviews/id={APP_ID}/sortBy=mostRecent/json"}}  # fmt: skip

        feed = {
            "author": {"name": {"label": "iTunes Store"}, "uri": {"label": "http://www.apple.com/us/itunes/"}},
            "updated": {"label": pacific(NOW)}, "rights": {"label": "Copyright 2008 Apple Inc."},
            "title": {"label": "iTunes Store: Customer Reviews"},
            "icon": {"label": "http://itunes.apple.com/favicon.ico"},
            "link": [{"attributes": {"rel": "alternate", "type": "text/html",
                                     "href": f"https://music.apple.com/WebObjects/MZStore.woa/wa/viewGrouping?cc={country}&id=1000"}},
                     {"attributes": {"rel": "self", "href": f"{base}/id={APP_ID}/sortBy=mostRecent/page={page}/json"}},
                     link("first", 1), link("last", last), link("previous", max(1, page - 1)),
                     link("next", min(last, page + 1))],
            "id": {"label": f"{base}/id={APP_ID}/sortBy=mostRecent/page={page}/json"},
        }  # fmt: skip
        if len(entries) == 1:
            feed["entry"] = entries[0]  # one entry: an object, not a list
        elif entries:
            feed["entry"] = entries
        return {"feed": feed}
