"""One HTTP client per run, with the retry policy real vendor APIs need.

- 429: wait as the API says (`Retry-After` in seconds or as a date, else the window's
  reset: Okta's `X-Rate-Limit-Reset` and Bluesky's `RateLimit-Reset` as epoch seconds,
  Reddit's `X-Ratelimit-Reset` as seconds to go, Mastodon's as an ISO 8601 time), else
  back off exponentially with jitter;
- a response that says the window is spent (`X-Ratelimit-Remaining` or
  `RateLimit-Remaining` below 1): wait for its reset before the next request, instead
  of spending a request on a 429;
- 500/502/503/504, connection resets and timeouts: back off and retry, within a bounded
  total wait;
- 401/403: stop at once, naming the setting to fix; except a status the vendor uses to
  throttle (`throttle_status`: the App Store feed's CDN answers 403), waited out like a 429;
- malformed or truncated JSON: a clear error naming the request.

Errors never include credentials: only the method, the path and the query parameters.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

LOG = logging.getLogger(__name__)
RETRY_STATUS = {500, 502, 503, 504}
# A reset header's number below this is seconds to go (Reddit); above, an epoch time.
_EPOCH_FROM = 1_000_000_000
# The window-reset headers, in the order they are believed (names are case-insensitive:
# Reddit's `X-Ratelimit-Reset` and Mastodon's `X-RateLimit-Reset` are one header).
_RESET_HEADERS = ("X-Rate-Limit-Reset", "X-RateLimit-Reset", "RateLimit-Reset")
_REMAINING_HEADERS = ("X-Rate-Limit-Remaining", "X-RateLimit-Remaining", "RateLimit-Remaining")


class ConnectorError(RuntimeError):
    """A request that failed for good; the message names the request, never a secret.

    `status` is the HTTP status of the answer that ended it (None for a network or JSON
    error), for callers to whom one status means something of their own: a 404 for an
    unknown hashtag, a 400 past the App Store feed's last page.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(ConnectorError):
    """The API refused the credentials: retrying will not help."""


@dataclass
class RetryPolicy:
    max_attempts: int = 8
    max_wait_s: float = 300.0  # total time spent waiting between attempts
    base_s: float = 0.5
    cap_s: float = 60.0

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, min(self.cap_s, self.base_s * 2**attempt))


@dataclass
class ApiClient:
    """An httpx client for one vendor: keep-alive, timeouts, retries."""

    vendor: str
    base_url: str
    credentials_hint: str  # the variables to fix when the API says 401/403
    auth: httpx.Auth | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    # Statuses this vendor answers to mean "slow down", waited out like a 429 (not 401/403
    # for the others, whose 403 is a refusal of the credentials).
    throttle_status: frozenset[int] = frozenset()
    _client: httpx.Client | None = None
    _spent_until: float = 0.0  # the rate-limit window is spent until then (epoch seconds)
    _window_ends: float = 0.0  # when the window the last answer announced ends (epoch seconds)

    def __post_init__(self) -> None:
        self._client = httpx.Client(
            base_url=self.base_url.rstrip("/"),
            auth=self.auth,
            headers={"Accept": "application/json", **self.headers},
            timeout=httpx.Timeout(self.timeout_s, connect=10.0),
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str, params: Mapping[str, Any] | None = None) -> tuple[Any, httpx.Response]:
        """GET and decode JSON, retrying what is worth retrying. Returns (json, response)."""
        what = f"GET {url}" + (f" {dict(params)}" if params else "")
        response = self._send("GET", url, what, params=params)
        try:
            return response.json(), response
        except ValueError as exc:
            raise ConnectorError(
                f"{self.vendor}: malformed JSON in the answer to {what} "
                f"({len(response.content)} bytes): {exc}"
            ) from exc

    def post(self, url: str, payload: Any, what: str) -> httpx.Response:
        """POST JSON with the same retries; `what` names the request in errors and logs
        (a webhook's URL is its secret, so it is never used for that)."""
        return self._send("POST", url, what, json=payload)

    def _send(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        assert self._client is not None
        waited = 0.0
        for attempt in range(self.retry.max_attempts):
            pause = self._spent_until - self.clock()
            if pause > 0:
                LOG.info(f"{self.vendor}: rate-limit window spent; waiting {pause:.1f} s")
                self.sleep(pause)
                self._spent_until = 0.0
            try:
                response = self._client.request(method, url, **kwargs)
            except httpx.TransportError as exc:  # resets, refused connections, timeouts
                delay, reason = self.retry.backoff(attempt), f"{type(exc).__name__}"
            else:
                status = response.status_code
                if status in (401, 403) and status not in self.throttle_status:
                    raise AuthError(
                        f"{self.vendor} refused the credentials (HTTP {status}) for {what}: "
                        f"check {self.credentials_hint}",
                        status,
                    )
                if status == 429 or status in self.throttle_status:
                    delay, reason = self._rate_limit_wait(response, attempt), f"HTTP {status}"
                elif status in RETRY_STATUS:
                    delay, reason = self.retry.backoff(attempt), f"HTTP {status}"
                elif status >= 400:
                    raise ConnectorError(
                        f"{self.vendor}: HTTP {status} for {what}: {response.text[:200]}", status
                    )
                else:
                    self._note_window(response)
                    return response
            if attempt + 1 >= self.retry.max_attempts or waited + delay > self.retry.max_wait_s:
                raise ConnectorError(
                    f"{self.vendor}: gave up on {what} after {attempt + 1} attempts "
                    f"and {waited:.0f} s of waiting (last: {reason})"
                )
            LOG.warning(f"{self.vendor}: {reason} for {what}; retrying in {delay:.1f} s")
            self.sleep(delay)
            waited += delay
        raise AssertionError("unreachable")

    def _rate_limit_wait(self, response: httpx.Response, attempt: int) -> float:
        retry_after = response.headers.get("Retry-After")
        if retry_after:
            if retry_after.strip().isdigit():
                return float(retry_after)
            try:
                when = email.utils.parsedate_to_datetime(retry_after)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return max(0.0, when.timestamp() - self.clock())
        reset = self._reset_in(response)
        if reset is not None:
            return reset + 1.0
        # A 429 that says nothing (Reddit's bare JSON one): the end of the window the
        # last good answer announced, when there is one, else back off.
        left = self._window_ends - self.clock()
        return left + 1.0 if left > 0 else self.retry.backoff(attempt)

    def _reset_in(self, response: httpx.Response) -> float | None:
        """Seconds until the rate-limit window resets, from whichever header the vendor
        sends; None when none is readable. One second is added for clock skew by callers."""
        for name in _RESET_HEADERS:
            value = (response.headers.get(name) or "").strip()
            if not value:
                continue
            try:
                number = float(value)
            except ValueError:
                try:  # Mastodon: an ISO 8601 time
                    number = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
                except ValueError:
                    continue
            if not math.isfinite(number):
                continue
            if number < _EPOCH_FROM:
                return max(0.0, number)
            return max(0.0, number - self.clock())
        return None

    def _note_window(self, response: httpx.Response) -> None:
        """Remember when the announced window ends, and a spent window (remaining below
        one request) until its reset."""
        announced = self._reset_in(response)
        if announced is not None:
            self._window_ends = self.clock() + announced
        for name in _REMAINING_HEADERS:
            value = response.headers.get(name)
            if value is None:
                continue
            try:
                spent = float(value) < 1
            except ValueError:
                return
            reset = self._reset_in(response) if spent else None
            if reset is not None:
                self._spent_until = self.clock() + min(reset + 1.0, self.retry.cap_s * 10)
            return
