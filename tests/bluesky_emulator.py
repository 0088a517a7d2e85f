"""An emulator of Bluesky's XRPC API on loopback (pytest-httpserver): sessions, post search
and post look-ups, in the shapes of the lexicons and of API_NOTES section 7.

- `createSession` takes the handle and app password and answers JWT-shaped tokens (an
  access token living 2 hours, read by its `exp`) with a DID document whose
  `#atproto_pds` service is the account's PDS: this same server under another name
  (`127.0.0.1` where the entryway is `localhost`), so requests sent to the wrong host are
  counted. `refreshSession` takes the refresh token and rotates both.
- `searchPosts`: posts whose text holds `q`, newest `sortAt` first (the earlier of
  `indexedAt` and `record.createdAt`), `since` inclusive, `until` exclusive, offset
  cursors (`"25"`), a cursor only while more posts follow, `hitsTotal`.
- `getPosts`: at most 25 `uris`; deleted posts are left out.
- Errors are `{"error": Name, "message": text}`; every answer carries `RateLimit-Limit`,
  `-Remaining`, `-Reset` (epoch seconds) and `-Policy`; a spent window answers 429
  `RateLimitExceeded` with `Retry-After`.

Switches: `arrivals_per_page` (new posts arrive while a search is paged, so the next page
repeats posts: offsets shift), `like`/`delete` between pulls, `fault_every` (every n-th
request one of `fault_kinds` in turn: a 429 of Bluesky's kind, a 503, a 502), `fail_after` (every request after the
n-th refused: a run cut short), `expire_tokens` (the server says the access token expired,
as the PDS's 400 or the AppView's 401), `revoke_refresh_tokens`, a small `window_limit`.
Time is a shared `Clock`, so nothing here depends on the machine's speed.
"""

from __future__ import annotations

import base64
import json
import math
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

HANDLE = "beacon-ops.bsky.social"
APP_PASSWORD = "k3x9-p2lm-q8rt-v5wz"
DID = "did:plc:beaconops4z7q2"
START = datetime(2026, 3, 1, tzinfo=UTC)
QUERY = "Beacon"
ACCESS_LIFETIME_S = 2 * 3600


class Clock:
    """Fake time shared by the emulator and the client: `sleep` records and advances it."""

    def __init__(self, now: datetime) -> None:
        self.now = now.timestamp()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, delta: timedelta) -> None:
        self.now += delta.total_seconds()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def sort_at(post: dict) -> datetime:
    return min(_instant(post["indexedAt"]), _instant(post["record"]["createdAt"]))


@dataclass
class BlueskyEmulator:
    server: HTTPServer
    clock: Clock
    n_posts: int = 60
    arrivals_per_page: int = 0
    fault_every: int = 0
    fault_kinds: tuple[str, ...] = ("429", "503", "502")  # what the faults are, in turn
    fail_after: int | None = None
    expired_status: int = 400  # how an expired token is told: the PDS's 400, the AppView's 401
    window_limit: int = 3000  # requests per window, as the PDS's 3000 / 5 min
    window_s: int = 300
    login_limit: int = 30  # createSession per 5 minutes
    posts: dict[str, dict] = field(default_factory=dict)
    calls: Counter = field(default_factory=Counter)
    requests: list[tuple[str, dict[str, list[str]], str]] = field(default_factory=list)
    misdirected: int = 0  # data requests not sent to the PDS of the DID document
    faults: int = 0
    answered: Counter = field(default_factory=Counter)  # status codes sent
    served: Counter = field(default_factory=Counter)  # how often each post was on a search page
    issued: list[str] = field(default_factory=list)  # every token ever issued
    access: dict[str, float] = field(default_factory=dict)  # token -> expiry (epoch)
    refresh: set[str] = field(default_factory=set)
    logins: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _window_start: float = 0.0
    _window_used: int = 0
    _serial: int = 0

    def __post_init__(self) -> None:
        port = self.server.port
        self.entryway = f"http://localhost:{port}"
        self.pds = f"http://127.0.0.1:{port}"
        for i in range(self.n_posts):
            created = START + timedelta(minutes=20 * i)
            about = QUERY if i % 5 != 4 else "something else entirely"
            self._add(created, f"Post {i}: {about} #{['ops', 'feedback', 'ux'][i % 3]}", i)
        # A client with its clock ahead: `createdAt` after `indexedAt`, sorted by the latter.
        ahead = self.posts[self._uri(7)]
        ahead["record"]["createdAt"] = _iso(_instant(ahead["indexedAt"]) + timedelta(hours=5))
        for path, handler in {
            "/xrpc/com.atproto.server.createSession": self._create_session,
            "/xrpc/com.atproto.server.refreshSession": self._refresh_session,
            "/xrpc/app.bsky.feed.searchPosts": self._search_posts,
            "/xrpc/app.bsky.feed.getPosts": self._get_posts,
        }.items():
            self.server.expect_request(path).respond_with_handler(handler)

    # --- the posts ---------------------------------------------------------------------------

    @staticmethod
    def _uri(i: int) -> str:
        return f"at://did:plc:author{i % 7:02d}x/app.bsky.feed.post/3lbq{i:09d}"

    def _add(self, created: datetime, text: str, i: int) -> dict:
        author = i % 7
        post = {
            "uri": self._uri(i),
            "cid": f"bafyreib{i:052d}",
            "author": {
                "did": f"did:plc:author{author:02d}x",
                "handle": f"user{author}.bsky.social",
                **({"displayName": f"User {author}"} if author % 3 else {}),
                "avatar": f"https://cdn.bsky.app/img/avatar/plain/did:plc:author{author:02d}x/a@jpeg",
                "labels": [],
                "createdAt": "2024-11-02T10:00:00.000Z",
            },
            "record": {
                "$type": "app.bsky.feed.post",
                "text": text,
                "createdAt": _iso(created),
                **({"langs": ["en"]} if i % 4 else {"langs": ["de"]} if i % 8 else {}),
            },
            "replyCount": i % 3,
            "repostCount": i % 4,
            "likeCount": i % 9,
            "quoteCount": 0,
            "indexedAt": _iso(created + timedelta(seconds=3)),
            "labels": [],
            "viewer": {"threadMuted": False, "embeddingDisabled": False},
        }
        self.posts[post["uri"]] = post
        return post

    def matching(self, query: str = QUERY) -> dict[str, dict]:
        return {u: p for u, p in self.posts.items() if query.lower() in p["record"]["text"].lower()}

    def arrive(self, n: int) -> list[dict]:
        """New matching posts, each after the newest there is."""
        newest = max(sort_at(p) for p in self.posts.values())
        arrived = []
        for _ in range(n):
            newest = max(newest, datetime.fromtimestamp(self.clock(), UTC)) + timedelta(seconds=1)
            i = len(self.posts)
            arrived.append(self._add(newest - timedelta(seconds=3), f"Post {i}: {QUERY} is new", i))
        return arrived

    def like(self, uri: str, count: int) -> None:
        self.posts[uri]["likeCount"] = count

    def delete(self, uri: str) -> None:
        del self.posts[uri]

    # --- sessions ----------------------------------------------------------------------------

    def _jwt(self, scope: str, lifetime_s: float) -> str:
        now = self.clock()
        header = {"typ": "at+jwt" if scope != "refresh" else "refresh+jwt", "alg": "ES256K"}
        claims = {"scope": scope, "sub": DID, "aud": "did:web:bsky.social", "iat": int(now),
                  "exp": int(now + lifetime_s), "jti": secrets.token_hex(8)}  # fmt: skip
        parts = (json.dumps(header).encode(), json.dumps(claims).encode(), secrets.token_bytes(32))
        return ".".join(_b64(p) for p in parts)

    def _session(self) -> dict:
        access = self._jwt("com.atproto.appPass", ACCESS_LIFETIME_S)
        refresh = self._jwt("com.atproto.refresh", 90 * 86400)
        self.access[access] = self.clock() + ACCESS_LIFETIME_S
        self.refresh.add(refresh)
        self.issued += [access, refresh]
        return {
            "accessJwt": access, "refreshJwt": refresh, "handle": HANDLE, "did": DID,
            "didDoc": {
                "@context": ["https://www.w3.org/ns/did/v1"], "id": DID, "alsoKnownAs": [f"at://{HANDLE}"],
                "verificationMethod": [{"id": f"{DID}#atproto", "type": "Multikey", "controller": DID,
                                        "publicKeyMultibase": "zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF"}],
                "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer",
                             "serviceEndpoint": self.pds}],
            },
            "email": "ops@beacon.example", "emailConfirmed": True, "emailAuthFactor": False,
            "active": True,
        }  # fmt: skip

    def expire_tokens(self) -> None:
        """Every access token issued so far is expired, whatever its `exp` says."""
        for token in self.access:
            self.access[token] = self.clock() - 1

    def revoke_refresh_tokens(self) -> None:
        self.refresh.clear()

    # --- answers -----------------------------------------------------------------------------

    def _answer(self, status: int, body: Any, extra: dict[str, str] | None = None) -> Response:
        reset = int(self._window_start + self.window_s)
        headers = {
            "RateLimit-Limit": str(self.window_limit),
            "RateLimit-Remaining": str(max(0, self.window_limit - self._window_used)),
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": f"{self.window_limit};w={self.window_s}",
            **(extra or {}),
        }
        self.answered[status] += 1
        return Response(json.dumps(body), status, headers, content_type="application/json")

    def _error(self, status: int, name: str, message: str, extra: dict | None = None) -> Response:
        return self._answer(status, {"error": name, "message": message}, extra)

    def _gate(self, request: Request, endpoint: str) -> Response | None:
        """Counting, faults, the cut-off and the rate-limit window, for every request."""
        with self.lock:
            self._serial += 1
            n = self._serial
            self.calls[endpoint] += 1
            self.requests.append((endpoint, request.args.to_dict(flat=False), request.host))
            now = self.clock()
            if now >= self._window_start + self.window_s:
                self._window_start, self._window_used = now, 0
            self._window_used += 1
        if self.fail_after is not None and n > self.fail_after:
            return self._error(401, "AuthMissing", "Authentication Required")
        if self._window_used > self.window_limit:
            wait = math.ceil(self._window_start + self.window_s - now)
            return self._error(
                429, "RateLimitExceeded", "Rate Limit Exceeded", {"Retry-After": str(wait)}
            )
        if self.fault_every and n % self.fault_every == 0:
            kind = self.fault_kinds[self.faults % len(self.fault_kinds)]
            self.faults += 1
            if kind == "429":
                return self._error(429, "RateLimitExceeded", "Rate Limit Exceeded",
                                   {"Retry-After": "7", "RateLimit-Remaining": "0"})  # fmt: skip
            if kind == "503":
                return self._error(503, "NotEnoughResources", "Not Enough Resources")
            return self._error(502, "UpstreamFailure", "Upstream Failure")
        return None

    def _bearer(self, request: Request) -> str | None:
        value = request.headers.get("Authorization", "")
        return value.removeprefix("Bearer ") if value.startswith("Bearer ") else None

    def _authorised(self, request: Request) -> Response | None:
        """None when the access token is good; the verifier's answer otherwise."""
        if request.host != self.pds.removeprefix("http://"):
            self.misdirected += 1
        token = self._bearer(request)
        if token is None:
            return self._error(401, "AuthMissing", "Authentication Required")
        if token not in self.access:
            return self._error(400, "InvalidToken", "Token could not be verified")
        if self.clock() >= self.access[token]:
            return self._error(self.expired_status, "ExpiredToken", "Token has expired")
        return None

    def _create_session(self, request: Request) -> Response:
        if fault := self._gate(request, "createSession"):
            return fault
        recent = [t for t in self.logins if t > self.clock() - 300]
        if len(recent) >= self.login_limit:
            wait = math.ceil(recent[0] + 300 - self.clock())
            return self._error(429, "RateLimitExceeded", "Rate Limit Exceeded",
                               {"Retry-After": str(wait), "RateLimit-Policy": f"{self.login_limit};w=300"})  # fmt: skip
        body = request.get_json(silent=True) or {}
        if body.get("identifier") not in (HANDLE, DID) or body.get("password") != APP_PASSWORD:
            return self._error(401, "AuthenticationRequired", "Invalid identifier or password")
        self.logins.append(self.clock())
        return self._answer(200, self._session())

    def _refresh_session(self, request: Request) -> Response:
        if fault := self._gate(request, "refreshSession"):
            return fault
        if request.host != self.pds.removeprefix("http://"):
            self.misdirected += 1
        token = self._bearer(request)
        if token is None:
            return self._error(401, "AuthMissing", "Authentication Required")
        if token in self.access:
            return self._error(400, "InvalidToken", "Invalid token type")
        if token not in self.refresh:
            return self._error(400, "ExpiredToken", "Token has been revoked")
        self.refresh.discard(token)  # rotated
        session = self._session()
        del session["email"], session["emailConfirmed"], session["emailAuthFactor"]
        return self._answer(200, session)

    def _search_posts(self, request: Request) -> Response:
        if (fault := self._gate(request, "searchPosts")) or (fault := self._authorised(request)):
            return fault
        args = request.args
        query = args.get("q")
        if not query:
            return self._error(400, "InvalidRequest", 'Error: Params must have the property "q"')
        limit = int(args.get("limit", 25))
        if not 1 <= limit <= 100:
            return self._error(400, "InvalidRequest", "Error: limit must be between 1 and 100")
        since = _instant(args["since"]) if "since" in args else None
        until = _instant(args["until"]) if "until" in args else None
        hits = sorted(
            (p for p in self.matching(query).values()
             if (since is None or sort_at(p) >= since) and (until is None or sort_at(p) < until)),
            key=lambda p: (sort_at(p), p["uri"]), reverse=True,
        )  # fmt: skip
        offset = int(args.get("cursor", 0))
        page = hits[offset : offset + limit]
        self.served.update(p["uri"] for p in page)
        body: dict[str, Any] = {"posts": page, "hitsTotal": len(hits)}
        if offset + limit < len(hits):
            body["cursor"] = str(offset + limit)
            self.arrive(self.arrivals_per_page)  # before the next page is asked for
        return self._answer(200, body)

    def _get_posts(self, request: Request) -> Response:
        if (fault := self._gate(request, "getPosts")) or (fault := self._authorised(request)):
            return fault
        uris = request.args.getlist("uris")
        if len(uris) > 25:
            return self._error(
                400, "InvalidRequest", "Error: uris must not have more than 25 elements"
            )
        return self._answer(200, {"posts": [self.posts[u] for u in uris if u in self.posts]})
