"""A Mastodon instance's API on loopback, served by pytest-httpserver.

What it serves, as Mastodon's docs and code describe it:
- `GET /api/v1/timelines/tag/:hashtag`: a bare array of Status, newest first; `limit`
  (20, at most 40), `max_id` (older), `since_id` (newer, newest first), `min_id` (the
  ones right after it); one `Link` line with `rel="next"` (`max_id`, only after a full
  page) and `rel="prev"` (`min_id`, unless empty). An unknown hashtag is a 404
  `{"error": "Record not found"}`; a disabled feed answers `[]`.
- `GET /api/v2/search?type=statuses`: `{"accounts": [], "statuses": [...], "hashtags": []}`,
  newest first, `offset`, `limit`, `min_id`, `max_id`; a user token is needed (without one,
  `offset` is refused with a 401, and no statuses are found).
- `GET /api/v1/statuses?id[]=`: the statuses that still exist, in no particular order;
  more than 20 ids is a 422.
- A bearer token, when sent, must be the right one: 401 `{"error": "The access token is
  invalid"}`. Every answer carries `X-RateLimit-Limit`, `-Remaining` and `-Reset` (an ISO
  8601 time with microseconds); a 429 is `{"error": "Too many requests"}` with
  Remaining 0, the window's reset, and no Retry-After.

Switches: `repeat_boundary` (a page's boundary status comes again on the next page),
`string_ids` (ids that are not numbers, as some non-Mastodon servers send), `fault_every`
(every n-th request a 429 or a 503), `fail_after` (every request after n refused: a run
cut short), `spent_after` (the n-th answer says the window is spent), `batch_endpoint`
(False: an instance older than 4.3, 404 on `GET /api/v1/statuses`).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TOKEN = "masto-USER-tok-5e4d3c2b1a"
DOMAIN = "social.example"
BASE = datetime(2026, 3, 1, tzinfo=UTC)
NOW = BASE + timedelta(days=4)  # the tests' "now": every status is within a week of it
WINDOW_S = 300  # the rate-limit window, 300 requests per 5 minutes
TAG_PATH = re.compile(r"^/api/v1/timelines/tag/(?P<tag>[^/]+)$")


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


@dataclass
class MastodonEmulator:
    server: HTTPServer
    clock: Callable[[], float] = time.time
    repeat_boundary: bool = False
    string_ids: bool = False
    fault_every: int = 0
    fail_after: int | None = None
    spent_after: int | None = None
    batch_endpoint: bool = True
    disabled_tags: set[str] = field(default_factory=set)
    known_tags: set[str] = field(default_factory=lambda: {"beacon", "beaconapp"})
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    seq: dict[str, int] = field(default_factory=dict)  # id -> arrival order, kept after deletion
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    faults: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for i in range(130):
            tags = ["beacon", "beaconapp"] if i % 3 == 0 else ["beacon"]
            self.post(BASE + timedelta(hours=0.5 + i * 0.5), tags, f"Trying Beacon, day note {i}")
        # Delivered late by its server: an old created_at, the id of its arrival.
        self.post(BASE + timedelta(hours=3), ["beacon"], "Beacon from afar", remote=True)
        self.server.expect_request(TAG_PATH).respond_with_handler(self._tag)
        self.server.expect_request("/api/v2/search").respond_with_handler(self._search)
        self.server.expect_request("/api/v1/statuses").respond_with_handler(self._lookup)

    # --- the instance's content -----------------------------------------------------------

    def post(
        self, created: datetime, tags: list[str], text: str, *, remote: bool = False
    ) -> dict[str, Any]:
        n = len(self.seq) + 1
        arrival = created if not self.seq else max(created, self._latest() + timedelta(seconds=1))
        id_ = (
            f"AbQx{n:05d}zK"
            if self.string_ids
            else str((int(arrival.timestamp() * 1000) << 16) + n)
        )
        user, host = (f"user{n % 17}", "other.example") if remote else (f"user{n % 23}", DOMAIN)
        account = {
            "id": str(1000 + n % 23), "username": user, "acct": f"{user}@{host}" if remote else user,
            "display_name": f"User {n % 23}", "locked": False, "bot": False, "discoverable": True,
            "indexable": True, "group": False, "created_at": "2022-11-05T00:00:00.000Z", "note": "",
            "url": f"https://{host}/@{user}", "uri": f"https://{host}/users/{user}",
            "avatar": f"https://{DOMAIN}/avatars/{n}.png", "avatar_static": f"https://{DOMAIN}/avatars/{n}.png",
            "header": "", "header_static": "", "followers_count": 10 + n, "following_count": 5,
            "statuses_count": 100 + n, "last_status_at": created.date().isoformat(), "emojis": [], "fields": [],
        }  # fmt: skip
        links = " ".join(
            f'<a href="https://{DOMAIN}/tags/{t}" class="mention hashtag" rel="tag">#<span>{t}</span></a>'
            for t in tags
        )
        status = {
            "id": id_, "created_at": iso(created), "in_reply_to_id": None, "in_reply_to_account_id": None,
            "sensitive": False, "spoiler_text": "", "visibility": "public", "language": "en",
            "uri": f"https://{host}/users/{user}/statuses/{id_}", "url": f"https://{host}/@{user}/{id_}",
            "replies_count": n % 4, "reblogs_count": n % 3, "favourites_count": n % 7, "quotes_count": 0,
            "edited_at": None, "content": f"<p>{text} {links}</p>", "reblog": None,
            "application": None if remote else {"name": "Web", "website": None},
            "account": account, "media_attachments": [], "mentions": [],
            "tags": [{"name": t, "url": f"https://{DOMAIN}/tags/{t}"} for t in tags],
            "emojis": [], "card": None, "poll": None, "quote": None,
        }  # fmt: skip
        self.statuses[id_] = status
        self.seq[id_] = n
        return status

    def _latest(self) -> datetime:
        last = max(self.seq, key=self.seq.__getitem__)
        return datetime.fromisoformat(self.statuses[last]["created_at"].replace("Z", "+00:00"))

    def by_seq(self, n: int) -> dict[str, Any]:
        """The n-th status posted (1-based)."""
        return self.statuses[next(i for i, s in self.seq.items() if s == n)]

    def edit(self, n: int, text: str, at: datetime) -> dict[str, Any]:
        status = self.by_seq(n)
        status["content"] = f"<p>{text}</p>"
        status["edited_at"] = iso(at)
        return status

    def favourite(self, n: int) -> dict[str, Any]:
        status = self.by_seq(n)
        status["favourites_count"] += 1
        return status

    def delete(self, n: int) -> dict[str, Any]:
        return self.statuses.pop(self.by_seq(n)["id"])

    def churn(self) -> None:
        """Authors post elsewhere and gain followers: their profiles change, not the statuses."""
        for status in self.statuses.values():
            status["account"]["followers_count"] += 1
            status["account"]["statuses_count"] += 3
            status["account"]["last_status_at"] = NOW.date().isoformat()

    # --- serving ------------------------------------------------------------------------------

    def _headers(self, remaining: int) -> list[tuple[str, str]]:
        reset = datetime.fromtimestamp(self.clock(), UTC) + timedelta(seconds=7.25)
        return [
            ("X-RateLimit-Limit", str(WINDOW_S)),
            ("X-RateLimit-Remaining", str(remaining)),
            ("X-RateLimit-Reset", reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
        ]

    def _refusal(self, request: Request) -> Response | None:
        """Auth, a run cut short, 429s and 503s; None when the request is to be answered."""
        with self.lock:
            self.requests.append((request.path, request.args.to_dict(flat=False)))
            n = len(self.requests)
        auth = request.headers.get("Authorization")
        if auth is not None and auth != f"Bearer {TOKEN}":
            return self._error(401, "The access token is invalid")
        if self.fail_after is not None and n > self.fail_after:
            return self._error(401, "The access token is invalid")
        if self.fault_every and n % self.fault_every == 0:
            self.faults += 1
            if (n // self.fault_every) % 2:
                return Response(json.dumps({"error": "Too many requests"}), 429, self._headers(0),
                                content_type="application/json")  # fmt: skip
            return Response("<html><body><h1>503 Service Unavailable</h1></body></html>", 503,
                            content_type="text/html")  # fmt: skip
        return None

    def _answer(self, body: Any, links: list[str] | None = None) -> Response:
        n = len(self.requests)
        remaining = 0 if n == self.spent_after else max(0, WINDOW_S - n)
        headers = self._headers(remaining)
        if links:
            headers.append(("Link", ", ".join(links)))
        return Response(json.dumps(body), 200, headers, content_type="application/json")

    @staticmethod
    def _error(status: int, text: str) -> Response:
        return Response(json.dumps({"error": text}), status, content_type="application/json")

    def _order(self, id_: str) -> int:
        """Where an id sorts: as a number on Mastodon, by arrival for string ids."""
        if id_ in self.seq:
            return self.seq[id_] if self.string_ids else int(id_)
        return int(id_) if id_.isdigit() else 0

    def _page(
        self, rows: list[dict], limit: int, max_id: str | None, min_id: str | None,
        since_id: str | None,
    ) -> list[dict]:  # fmt: skip
        """Mastodon's id paging over `rows` (newest first); bounds are strict unless
        `repeat_boundary`, which lets the boundary status come again."""
        inclusive = self.repeat_boundary

        def above(s: dict, bound: str) -> bool:
            k, b = self._order(s["id"]), self._order(bound)
            return k >= b if inclusive else k > b

        def below(s: dict, bound: str) -> bool:
            k, b = self._order(s["id"]), self._order(bound)
            return k <= b if inclusive else k < b

        rows = [s for s in rows if (max_id is None or below(s, max_id))]
        if min_id is not None:  # the ones right after min_id, still served newest first
            after = [s for s in reversed(rows) if above(s, min_id)]
            return list(reversed(after[:limit]))
        rows = [s for s in rows if since_id is None or above(s, since_id)]
        return rows[:limit]

    def _newest_first(self) -> list[dict]:
        return sorted(self.statuses.values(), key=lambda s: -self._order(s["id"]))

    def _tag(self, request: Request) -> Response:
        if refused := self._refusal(request):
            return refused
        tag = unquote(TAG_PATH.match(request.path)["tag"]).lower()
        if tag in self.disabled_tags:
            return self._answer([])
        if tag not in self.known_tags:
            return self._error(404, "Record not found")
        args = request.args
        limit = min(int(args.get("limit", 20)), 40)
        rows = [s for s in self._newest_first() if tag in {t["name"] for t in s["tags"]}]
        page = self._page(rows, limit, args.get("max_id"), args.get("min_id"), args.get("since_id"))
        base = self.server.url_for(f"/api/v1/timelines/tag/{tag}")
        links = []
        if len(page) == limit:
            links.append(f'<{base}?limit={limit}&max_id={page[-1]["id"]}>; rel="next"')
        if page:
            links.append(f'<{base}?limit={limit}&min_id={page[0]["id"]}>; rel="prev"')
        return self._answer(page, links)

    def _search(self, request: Request) -> Response:
        if refused := self._refusal(request):
            return refused
        args = request.args
        authed = request.headers.get("Authorization") is not None
        if not authed and ("offset" in args or "resolve" in args):
            return self._error(
                401, "Search queries pagination is not supported without authentication"
            )
        if args.get("type") not in (None, "statuses") or not authed:
            return self._answer({"accounts": [], "statuses": [], "hashtags": []})
        q = args["q"].lower()
        limit = min(int(args.get("limit", 20)), 40)
        offset = int(args.get("offset", 0))
        rows = [s for s in self._newest_first() if q in re.sub("<[^>]+>", "", s["content"]).lower()]
        rows = self._page(rows, len(rows), args.get("max_id"), None, None)
        if args.get("min_id"):
            rows = [s for s in rows if self._order(s["id"]) > self._order(args["min_id"])]
        if self.repeat_boundary and offset:  # a live index: one result slid down a place
            offset -= 1
        return self._answer(
            {"accounts": [], "statuses": rows[offset : offset + limit], "hashtags": []}
        )

    def _lookup(self, request: Request) -> Response:
        if refused := self._refusal(request):
            return refused
        if not self.batch_endpoint:
            return self._error(404, "Record not found")
        ids = request.args.getlist("id[]")
        if len(ids) > 20:
            return self._error(422, "Validation failed: too many ids")
        found = [self.statuses[i] for i in dict.fromkeys(ids) if i in self.statuses]
        return self._answer(list(reversed(found)))  # Mastodon keeps no order here
