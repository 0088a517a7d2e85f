"""A Bluesky session from an app password, kept between runs.

`createSession` is limited to 30 per 5 minutes and 300 a day per account, so the
session is kept in the data folder (`lake/_sessions/bluesky.json`, its owner's only:
the one file a Bluesky token is written to) and reused by every run. It is refreshed
15 minutes before the access token's `exp`, and when the server says the token expired
(the PDS's 400 `ExpiredToken`, the AppView's 401); a failed refresh logs in again.
After login, requests go to the account's own PDS, named in its DID document.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import httpx

from productops.connectors.http import AuthError, ConnectorError
from productops.settings import DataPaths

LOG = logging.getLogger(__name__)
SETTINGS = "BLUESKY_HANDLE and BLUESKY_APP_PASSWORD"
CREATE_SESSION = "/xrpc/com.atproto.server.createSession"
REFRESH_SESSION = "/xrpc/com.atproto.server.refreshSession"
REFRESH_AHEAD_S = 15 * 60  # renew this long before the access token's `exp`, as the SDK does
# The answers that mean "renew the session and ask again": the PDS's own verifier says
# 400 ExpiredToken (InvalidToken for a token it cannot verify), the AppView's says 401.
_RENEW_ERRORS = {"ExpiredToken", "InvalidToken"}


def session_file(paths: DataPaths) -> Path:
    return paths.lake / "_sessions" / "bluesky.json"


def jwt_expiry(token: str) -> float | None:
    """The `exp` of a JWT's payload, read without verifying it (the server does that)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


class SessionStore:
    """The session's tokens in one file only its owner may read (0600), replaced
    atomically. The one place a Bluesky token is written; the password never is."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def load(self) -> dict[str, Any] | None:
        try:
            session = json.loads(self.file.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            LOG.warning(f"Bluesky: the stored session in {self.file} is unreadable; logging in")
            return None
        return session if isinstance(session, dict) else None

    def save(self, session: dict[str, Any]) -> None:
        self.file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.file.with_name(f".{self.file.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # a left-over temporary file keeps its old mode otherwise
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(session))
        os.replace(tmp, self.file)


def _pds_endpoint(did_doc: Any, service: httpx.URL) -> str | None:
    """The `#atproto_pds` service of the account's DID document, when it is usable: https,
    or plain http only when the configured service is plain http too (a local PDS)."""
    services = did_doc.get("service") if isinstance(did_doc, dict) else None
    for entry in services if isinstance(services, list) else []:
        if not isinstance(entry, dict) or not str(entry.get("id", "")).endswith("#atproto_pds"):
            continue
        endpoint = entry.get("serviceEndpoint")
        try:
            url = httpx.URL(endpoint) if isinstance(endpoint, str) else None
        except httpx.InvalidURL:
            url = None
        if url is not None and url.host and url.scheme in ("https", service.scheme):
            return str(endpoint).rstrip("/")
    return None


class BlueskySession(httpx.Auth):
    """Bearer auth from an app-password session, kept in a `SessionStore` between runs.

    Before a request: log in (or load the stored session), renew it when its access
    token expires within 15 minutes, and send the request to the account's own PDS.
    After an answer saying the token expired, renew and ask once more. Renewing tries
    `refreshSession` first and logs in again only when that fails. A refused login is an
    `AuthError` naming the settings; a login answered with a 429 or 5xx is handed back
    as the answer, so the `ApiClient` waits and retries it as any other request.
    """

    requires_response_body = True

    def __init__(
        self,
        service: str,
        identifier: str,
        password: str,
        store: SessionStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service = httpx.URL(service.rstrip("/"))
        self._identifier = identifier
        self._password = password
        self.store = store
        self.clock = clock
        self._session: dict[str, Any] | None = None

    def __repr__(self) -> str:  # never the password or the tokens
        return f"BlueskySession({str(self.service)!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        session = self._current()
        if session is not None and self._expiring(session):
            session = yield from self._renew(request, session)
        elif session is None:
            session = yield from self._login(request)
        if session is None:
            return  # the login's own 429 or 5xx is the answer: the client retries it
        response = yield self._authorised(request, session)
        if not _says_renew(response):
            return
        session = yield from self._renew(request, session)
        if session is not None:
            yield self._authorised(request, session)

    def _current(self) -> dict[str, Any] | None:
        if self._session is None and self.store is not None:
            stored = self.store.load()
            if (
                stored
                and stored.get("service") == str(self.service)
                and stored.get("identifier") == self._identifier
                and stored.get("accessJwt")
                and stored.get("refreshJwt")
            ):
                self._session = stored
        return self._session

    def _expiring(self, session: dict[str, Any]) -> bool:
        exp = jwt_expiry(str(session.get("accessJwt", "")))
        return exp is not None and self.clock() >= exp - REFRESH_AHEAD_S

    def _renew(
        self, request: httpx.Request, session: dict[str, Any]
    ) -> Generator[httpx.Request, httpx.Response, dict[str, Any] | None]:
        refresh = httpx.Request(
            "POST",
            self._origin(session).join(REFRESH_SESSION),
            headers={
                "Authorization": f"Bearer {session['refreshJwt']}",
                "Accept": "application/json",
            },
            extensions=request.extensions,
        )
        response = yield refresh
        status = response.status_code
        if status == 200:
            LOG.info("Bluesky: session refreshed")
            return self._keep(_json(response), session)
        if status == 429 or status >= 500:
            return None  # handed back: the client waits and retries, then refreshes again
        LOG.info(f"Bluesky: refreshing the session failed (HTTP {status}); logging in")
        return (yield from self._login(request))

    def _login(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, dict[str, Any] | None]:
        self._session = None
        login = httpx.Request(
            "POST",
            self.service.join(CREATE_SESSION),
            json={"identifier": self._identifier, "password": self._password},
            headers={"Accept": "application/json"},
            extensions=request.extensions,
        )
        response = yield login
        status = response.status_code
        if status == 200:
            LOG.info("Bluesky: logged in with the app password; the session is kept for later runs")
            return self._keep(_json(response), None)
        if status == 429 or status >= 500:
            return None
        error = _error_name(response)
        if status == 401 or error in ("AuthenticationRequired", "AuthFactorTokenRequired"):
            raise AuthError(
                f"Bluesky refused the login (HTTP {status} {error}) at {self.service}: "
                f"check {SETTINGS} (an app password, not the account's password)"
            )
        raise ConnectorError(f"Bluesky: the login at {self.service} failed: HTTP {status} {error}")

    def _keep(self, answer: Any, previous: dict[str, Any] | None) -> dict[str, Any]:
        if (
            not isinstance(answer, dict)
            or not answer.get("accessJwt")
            or not answer.get("refreshJwt")
        ):
            raise ConnectorError("Bluesky: the session answer has no tokens")
        pds = _pds_endpoint(answer.get("didDoc"), self.service) or (previous or {}).get("pds")
        self._session = {
            "service": str(self.service),
            "identifier": self._identifier,
            "did": answer.get("did"),
            "handle": answer.get("handle"),
            "pds": pds,
            "accessJwt": answer["accessJwt"],
            "refreshJwt": answer["refreshJwt"],
        }
        if self.store is not None:
            self.store.save(self._session)
        return self._session

    def _origin(self, session: dict[str, Any]) -> httpx.URL:
        return httpx.URL(session["pds"]) if session.get("pds") else self.service

    def _authorised(self, request: httpx.Request, session: dict[str, Any]) -> httpx.Request:
        """The request with the access token, addressed to the account's PDS."""
        origin = self._origin(session)
        url = request.url.copy_with(scheme=origin.scheme, host=origin.host, port=origin.port)
        if url != request.url:
            request.url = url
            request.headers["Host"] = url.netloc.decode("ascii")
        request.headers["Authorization"] = f"Bearer {session['accessJwt']}"
        return request


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_name(response: httpx.Response) -> str:
    """The XRPC error name of an answer (`{"error": Name, "message": text}`), or ""."""
    body = _json(response)
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def _says_renew(response: httpx.Response) -> bool:
    return response.status_code == 401 or (
        response.status_code == 400 and _error_name(response) in _RENEW_ERRORS
    )
