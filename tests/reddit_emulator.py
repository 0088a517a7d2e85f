"""An emulator of Reddit's API for the Reddit connector, served by pytest-httpserver.

What it serves (API_NOTES section 6): app-only OAuth at `/api/v1/access_token` (HTTP
Basic, `grant_type=client_credentials`, a bearer token with `expires_in`), and on the
same loopback host the `oauth.reddit.com` endpoints `/search`, `/r/{sr}/new`,
`/r/{sr}/comments` and `/api/info`, as Listings (`{"kind": "Listing", "data": {after,
before, dist, modhash, geo_filter, children}}`), newest first, `after` paging capped at
`listing_cap` items, and Reddit's rate-limit headers on every answer (`X-Ratelimit-Used`,
`X-Ratelimit-Remaining` as a float, `X-Ratelimit-Reset` in seconds) over a 600 s window.

Its time is `clock` (tests move it, and the client's sleeps with it). Switches: the
same item at the end of one page and the start of the next (`repeat_boundary`), an
`after` anchor removed right after it was served on a page the walk keeps
(`vanish_anchors`), edits, score changes, author deletions, moderator removals and
purges between pulls, Reddit's 429s (bare JSON without headers, and the HTML page with
`retry-after`) and 5xx (`inject`, `fault_every`), an over-spent window
(`window_limit`), tokens revoked early, a token request refused with a 200, an empty
`/api/info` answer (`blank_info`), and a run cut short (`fail_after`: every request
after that many is refused with a 401).
"""

from __future__ import annotations

import base64
import copy
import html
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

CLIENT_ID = "emu-client-Q1w2E3"
CLIENT_SECRET = "emu-s3cret-Zx9Yw8Vu7"
USER_AGENT = "linux:productops-tests:0.1 (by /u/productops)"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC).timestamp()
WINDOW_S = 600
SUBREDDIT = "beaconapp"
QUERY = "Beacon"

_UNAUTHORIZED = '{"message": "Unauthorized", "error": 401}'
_WHOA = (
    "<!doctype html><html><head><title>Too Many Requests</title></head><body>"
    "<h1>whoa there, pardner!</h1><p>we're sorry, but you appear to be a bot and we've "
    "seen too many requests from you lately.</p></body></html>"
)


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


@dataclass
class Item:
    """One post or comment, and what happened to it."""

    kind: str  # "t3" | "t1"
    data: dict
    state: str = "live"  # live | deleted (by its author) | removed (by a moderator) | purged


@dataclass
class RedditEmulator:
    server: HTTPServer
    clock: list[float] = field(default_factory=lambda: [NOW])  # shared with the client's sleep
    expires_in: int = 86400
    listing_cap: int = 1000
    max_limit: int = 100
    repeat_boundary: bool = False
    vanish_anchors: int = 0
    window_limit: int = 600
    fault_every: int = 0
    fail_after: int | None = None
    token_error: str | None = None  # a 200 with {"error": ...} from the token endpoint
    blank_info: int = 0  # this many /api/info answers empty ("bad params often answer 200 empty")
    items: dict[str, Item] = field(default_factory=dict)  # by fullname, in creation order
    calls: list[tuple[str, dict]] = field(default_factory=list)  # API requests answered 200
    requests: int = 0
    token_requests: int = 0
    user_agents: set[str] = field(default_factory=set)
    faults: list[str] = field(default_factory=list)
    _injected: list[str] = field(default_factory=list)
    _tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry
    _window_start: float = NOW
    _window_used: int = 0
    _ids: int = 1_000_000

    def __post_init__(self) -> None:
        self.server.expect_request(re.compile(r"^/.*")).respond_with_handler(self._handle)

    @property
    def now(self) -> float:
        return self.clock[0]

    def sleep(self, seconds: float) -> None:
        """The client's sleep: time passes for the emulator too."""
        self.clock[0] += seconds

    # --- content ----------------------------------------------------------------------------

    def populate(self, posts: int = 250, comments: int = 120, every_s: float = 600.0) -> None:
        """`posts` posts, one every `every_s` seconds back from now, four in five about
        Beacon, half of them in r/beaconapp; `comments` comments in r/beaconapp."""
        for i in reversed(range(posts)):
            sr = SUBREDDIT if i % 2 == 0 else "SaaS"
            title = f"Beacon Q&A #{i}: <sync> issues" if i % 5 != 4 else f"Weekly thread {i}"
            self.post(title, sr, self.now - (i + 1) * every_s, selftext=f"Post body {i} & more")
        on = [
            n
            for n, it in self.items.items()
            if it.kind == "t3" and it.data["subreddit"] == SUBREDDIT
        ]
        for j in reversed(range(comments)):
            self.comment(
                on[j % len(on)], f"Comment {j}: Beacon > others", self.now - (j + 1) * 900 - 37
            )

    def _next_id(self) -> str:
        self._ids += 7
        return _b36(self._ids)

    def post(self, title: str, subreddit: str, created_utc: float, selftext: str = "") -> str:
        id_ = self._next_id()
        slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:40]
        permalink = f"/r/{subreddit}/comments/{id_}/{slug}/"
        self.items[f"t3_{id_}"] = Item("t3", {
            "approved_at_utc": None, "subreddit": subreddit, "selftext": selftext,
            "author_fullname": f"t2_{_b36(self._ids * 3)}", "title": title,
            "subreddit_name_prefixed": f"r/{subreddit}", "name": f"t3_{id_}",
            "upvote_ratio": 0.96, "ups": 12, "score": 12, "domain": f"self.{subreddit}",
            "selftext_html": f"&lt;div class=\"md\"&gt;&lt;p&gt;{html.escape(selftext)}&lt;/p&gt;&lt;/div&gt;",
            "edited": False, "link_flair_text": None, "created_utc": float(created_utc),
            "over_18": False, "subreddit_id": "t5_2qh1i", "id": id_, "author": f"user_{id_}",
            "num_comments": 0, "permalink": permalink, "url": f"https://www.reddit.com{permalink}",
            "stickied": False, "locked": False, "distinguished": None, "removed_by_category": None,
            "is_self": True,
        })  # fmt: skip
        return f"t3_{id_}"

    def comment(self, link: str, body: str, created_utc: float) -> str:
        id_ = self._next_id()
        post = self.items[link].data
        post["num_comments"] += 1
        self.items[f"t1_{id_}"] = Item("t1", {
            "subreddit": post["subreddit"], "subreddit_id": post["subreddit_id"], "id": id_,
            "name": f"t1_{id_}", "author": f"user_{id_}", "author_fullname": f"t2_{_b36(self._ids * 5)}",
            "body": body, "body_html": f"&lt;div class=\"md\"&gt;&lt;p&gt;{html.escape(body)}&lt;/p&gt;&lt;/div&gt;",
            "link_id": link, "parent_id": link, "link_title": post["title"],
            "link_permalink": post["url"], "edited": False, "score": 3, "ups": 3,
            "created_utc": float(created_utc), "permalink": f"{post['permalink']}{id_}/",
            "distinguished": None, "stickied": False, "locked": False,
        })  # fmt: skip
        return f"t1_{id_}"

    # --- what changes between pulls --------------------------------------------------------

    def edit(self, name: str, text: str) -> None:
        data = self.items[name].data
        data["selftext" if name.startswith("t3_") else "body"] = text
        data["edited"] = float(self.now)

    def rescore(self, name: str, score: int) -> None:
        self.items[name].data.update(score=score, ups=score)

    def delete(self, name: str) -> None:
        """Deleted by its author: out of the listings, `[deleted]` in /api/info."""
        self.items[name].state = "deleted"

    def remove(self, name: str) -> None:
        """Removed by a moderator: out of the listings, `[removed]` in /api/info."""
        self.items[name].state = "removed"

    def purge(self, name: str) -> None:
        """Gone altogether: /api/info no longer returns it."""
        self.items[name].state = "purged"

    def inject(self, *kinds: str) -> None:
        """The next API requests answered with these: `429-json`, `429-html`, `500`, `503`."""
        self._injected.extend(kinds)

    def revoke_tokens(self) -> None:
        self._tokens.clear()

    def child(self, name: str) -> dict:
        """The item as a listing child, as served now."""
        item = self.items[name]
        data = copy.deepcopy(item.data)
        if item.state in ("deleted", "removed"):
            mark = f"[{item.state}]"
            if item.state == "deleted":  # the author goes with it; a removal keeps them
                data["author"] = "[deleted]"
                data.pop("author_fullname", None)
            if item.kind == "t3":
                data.update(selftext=mark, selftext_html=None, removed_by_category=(
                    "deleted" if item.state == "deleted" else "moderator"))  # fmt: skip
            else:
                data.update(
                    body=mark,
                    body_html=f'&lt;div class="md"&gt;&lt;p&gt;{mark}&lt;/p&gt;&lt;/div&gt;',
                )
        return {"kind": item.kind, "data": data}

    def live(self, kind: str | None = None, subreddit: str | None = None) -> list[str]:
        """Fullnames of the items listings show, newest first."""
        names = [n for n, it in self.items.items() if it.state == "live"
                 and (kind is None or it.kind == kind)
                 and (subreddit is None or it.data["subreddit"].lower() == subreddit.lower())]  # fmt: skip
        return sorted(names, key=lambda n: -self.items[n].data["created_utc"])

    # --- serving ------------------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        self.requests += 1
        self.user_agents.add(request.headers.get("User-Agent", ""))
        if self.fail_after is not None and self.requests > self.fail_after:
            return self._json_error(401)
        if request.path == "/api/v1/access_token":
            return self._token(request)
        if self._tokens.get(self._bearer(request), 0) <= self.now:
            return Response(_UNAUTHORIZED, 401, {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'},
                            content_type="application/json")  # fmt: skip
        if fault := self._fault():
            return fault
        if self.now >= self._window_start + WINDOW_S:
            self._window_start, self._window_used = self.now, 0
        self._window_used += 1
        if self._window_used > self.window_limit:  # spent anyway: Reddit's bare JSON 429
            self.faults.append("429-json")
            return self._json_error(429, "Too Many Requests")
        args = request.args.to_dict()
        path = request.path.removesuffix(".json")
        if path == "/search":
            matching = [n for n in self.live("t3") if args.get("q", "").lower() in
                        (self.items[n].data["title"] + " " + self.items[n].data["selftext"]).lower()]  # fmt: skip
            if args.get("sort") != "new":  # relevance: not the order a walk needs
                matching.sort(key=lambda n: -self.items[n].data["score"])
            answer = self._listing(matching, args)
        elif m := re.fullmatch(r"/r/([^/]+)/(new|comments)", path):
            answer = self._listing(self.live("t3" if m[2] == "new" else "t1", m[1]), args)
        elif path == "/api/info":
            asked = [n for n in args.get("id", "").split(",") if n]
            if len(asked) > 100:
                return self._json_error(400, "Bad Request")
            children = [
                self.child(n) for n in asked if n in self.items and self.items[n].state != "purged"
            ]
            if self.blank_info > 0:
                self.blank_info -= 1
                children = []
            answer = self._envelope(children, None, args)
        else:
            return self._json_error(404, "Not Found")
        self.calls.append((path, args))
        return self._json(answer)

    def _token(self, request: Request) -> Response:
        self.token_requests += 1
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.method != "POST" or request.headers.get("Authorization") != f"Basic {expected}":
            return self._json_error(401)
        if request.form.get("grant_type") != "client_credentials":
            return self._json({"error": "unsupported_grant_type"})
        if self.token_error:
            return self._json({"error": self.token_error})
        token = f"emu-token-{self.token_requests}-{int(self.now)}"
        self._tokens[token] = self.now + self.expires_in
        return self._json({"access_token": token, "token_type": "bearer",
                           "expires_in": self.expires_in, "scope": "*"})  # fmt: skip

    @staticmethod
    def _bearer(request: Request) -> str:
        value = request.headers.get("Authorization", "")
        return value[7:] if value.lower().startswith("bearer ") else ""

    def _fault(self) -> Response | None:
        kind = self._injected.pop(0) if self._injected else None
        if kind is None and self.fault_every and self.requests % self.fault_every == 0:
            kind = ("429-json", "503", "429-html", "500")[(self.requests // self.fault_every) % 4]
        if kind is None:
            return None
        self.faults.append(kind)
        if kind == "429-json":  # as prawcore's cassettes show it: no rate-limit headers
            return self._json_error(429, "Too Many Requests")
        if kind == "429-html":
            return Response(
                _WHOA, 429, {"retry-after": "7"}, content_type="text/html; charset=UTF-8"
            )
        return self._json_error(
            int(kind), "Internal Server Error" if kind == "500" else "Service Unavailable"
        )

    def _listing(self, names: list[str], args: dict) -> dict:
        names = names[: self.listing_cap]
        limit = min(int(args.get("limit", 25)), 100, self.max_limit)
        start, restarted = 0, False
        if after := args.get("after"):
            # An anchor no longer in the listing is ignored: the listing starts again.
            restarted = after not in names
            start = 0 if restarted else names.index(after) + 1
            if start and self.repeat_boundary:
                start -= 1  # the anchor comes again at the top of this page
        page = names[start : start + limit]
        more = start + limit < len(names)
        next_after = page[-1] if page and more else None
        children = [self.child(n) for n in page]
        if next_after and self.vanish_anchors > 0 and not restarted:
            self.vanish_anchors -= 1
            self.items[next_after].state = "removed"  # removed just after it was served
        return self._envelope(children, next_after, args)

    def _envelope(self, children: list[dict], after: str | None, args: dict) -> dict:
        if args.get("raw_json") != "1":  # Reddit escapes &, < and > in text without raw_json=1
            for child in children:
                for key in ("title", "selftext", "body"):
                    if isinstance(child["data"].get(key), str):
                        child["data"][key] = html.escape(child["data"][key], quote=False)
        return {"kind": "Listing", "data": {"after": after, "dist": len(children), "modhash": "",
                                            "geo_filter": "", "children": children, "before": None}}  # fmt: skip

    def _headers(self) -> dict[str, str]:
        used = self._window_used
        reset = max(0, int(self._window_start + WINDOW_S - self.now))
        return {"X-Ratelimit-Used": str(used), "X-Ratelimit-Remaining": f"{max(0, self.window_limit - used):.1f}",
                "X-Ratelimit-Reset": str(reset)}  # fmt: skip

    def _json(self, body: object) -> Response:
        return Response(
            json.dumps(body), 200, self._headers(), content_type="application/json; charset=UTF-8"
        )

    @staticmethod
    def _json_error(status: int, message: str = "Unauthorized") -> Response:
        return Response(json.dumps({"message": message, "error": status}), status,
                        content_type="application/json; charset=UTF-8")  # fmt: skip
