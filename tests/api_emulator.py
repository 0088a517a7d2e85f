"""A small emulator of the four vendor APIs, served by pytest-httpserver on loopback.

It serves their documented shapes and pagination, with what live APIs do: the same
record on two pages, edits between runs, and (when `fault_every` is set) every n-th
request answered with a 429 (each vendor's kind) or a 5xx.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TOKENS = {"delighted": "dl-KEY-9f8e7d", "zendesk": "zd-TOKEN-1a2b3c", "okta": "okta-SSWS-4d5e6f"}
START = datetime(2026, 3, 1, tzinfo=UTC)


def _ts(hours: float) -> datetime:
    return START + timedelta(hours=hours)


@dataclass
class Emulator:
    server: HTTPServer
    fault_every: int = 0
    fail_after: int | None = None  # every request after this many is refused: a run cut short
    requests: int = 0
    faults: int = 0
    responses: dict[str, dict] = field(default_factory=dict)
    tickets: list[dict] = field(default_factory=list)  # versions, in export order
    hits: dict[str, dict] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for i in range(230):  # three pages of Delighted's 100
            created = _ts(1 + i * 0.3)
            self.responses[str(5000 + i)] = {
                "id": str(5000 + i), "survey_type": "nps", "score": i % 11,
                "comment": "Great support" if i % 3 else None,
                "created_at": int(created.timestamp()), "updated_at": int(created.timestamp()) + 30,
                "person": {"id": f"p{i}", "email": f"person{i}@example.com", "name": f"Person {i}"},
                "person_properties": {"Plan": "Pro", "Region": "EMEA", "Delighted Source": "Email",
                                      "Account ID": f"ACC-{i % 40}"},
                "notes": [], "tags": [], "additional_answers": [],
            }  # fmt: skip
        for i in range(60):
            created = _ts(2 + i)
            for n, status in enumerate(("new", "open", "solved")[: 1 + i % 3]):
                updated = created + timedelta(hours=n)
                self.tickets.append(self._ticket(7000 + i, created, updated, status))
        for i in range(130):
            created = _ts(0.5 + i * 0.5)
            self.hits[str(9000 + i)] = {
                "objectID": str(9000 + i), "author": f"user{i}", "created_at_i": int(created.timestamp()),
                "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "updated_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "_tags": ["comment", f"author_user{i}", "story_1"], "comment_text": "Beacon is great",
                "story_id": 1, "parent_id": 1,
            }  # fmt: skip
        for i in range(140):
            published = _ts(0.2 + i * 0.45)
            self.events.append({
                "uuid": f"e-{i:05d}", "published": published.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "eventType": "user.authentication.sso", "severity": "INFO",
                "actor": {"id": f"00u{i % 12}", "type": "User", "alternateId": f"emp{i % 12}@corp.com",
                          "displayName": f"Employee {i % 12}"},
                "outcome": {"result": "SUCCESS" if i % 17 else "FAILURE"},
                "target": [{"id": "0oa1", "type": "AppInstance", "displayName": ["Slack", "Figma"][i % 2]}],
            })  # fmt: skip
        self.server.expect_request("/v1/survey_responses.json").respond_with_handler(
            self._delighted
        )
        self.server.expect_request("/api/v2/incremental/tickets/cursor.json").respond_with_handler(
            self._zendesk
        )
        self.server.expect_request("/api/v1/search_by_date").respond_with_handler(self._algolia)
        self.server.expect_request("/api/v1/logs").respond_with_handler(self._okta)

    @staticmethod
    def _ticket(id_: int, created: datetime, updated: datetime, status: str) -> dict:
        return {
            "id": id_, "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "updated_at": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "generated_timestamp": int(updated.timestamp()), "status": status, "subject": "Billing question",
            "description": "The invoice is wrong", "priority": "normal", "type": "question",
            "via": {"channel": "email", "source": {"from": {"address": f"c{id_}@x.com", "name": "C X"}}},
            "custom_fields": [{"id": 360000001, "value": f"ACC-{id_ % 40}"}], "tags": ["billing"],
        }  # fmt: skip

    # --- what changes between runs ---------------------------------------------------------

    def edit(self) -> None:
        """Edits after the first pull: a Delighted score, a ticket reopened, more HN points."""
        now = datetime.now(UTC)  # an edit is stamped with the time it happens
        self.responses["5003"].update(score=10, updated_at=int(now.timestamp()))
        last = self.tickets[-1]
        self.tickets.append({**last, "status": "closed", "generated_timestamp": int(now.timestamp()),
                             "updated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ")})  # fmt: skip
        self.hits["9129"] = {
            **self.hits["9129"],
            "points": 42,
            "updated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def edit_oldest(self) -> None:
        """Edits to the first records created (days before the newest): what a daily pull
        meets all the time. Algolia re-indexes the hit; nothing about it is newer but that."""
        now = datetime.now(UTC)
        self.responses["5000"].update(score=9, updated_at=int(now.timestamp()))
        first = self.tickets[0]
        self.tickets.append({**first, "status": "solved", "generated_timestamp": int(now.timestamp()),
                             "updated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ")})  # fmt: skip
        self.hits["9000"] = {**self.hits["9000"], "points": 77,
                             "updated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip

    def final_tickets(self) -> dict[int, dict]:
        final: dict[int, dict] = {}
        for t in self.tickets:
            final[t["id"]] = t
        return final

    # --- faults and auth ----------------------------------------------------------------------

    def _fault(self, vendor: str) -> Response | None:
        with self.lock:
            self.requests += 1
            n = self.requests
        if self.fail_after is not None and n > self.fail_after:
            return Response('{"status":401}', 401)
        if not self.fault_every or n % self.fault_every:
            return None
        self.faults += 1
        kind = (n // self.fault_every) % 3
        if kind == 0:
            return Response("busy", 502)
        if vendor == "okta":  # Okta: no Retry-After, a reset time instead
            reset = int(datetime.now(UTC).timestamp()) + 1
            return Response('{"errorCode":"E0000047"}', 429, {"X-Rate-Limit-Reset": str(reset)})
        if vendor == "algolia":  # a bare 429
            return Response('{"message":"Too many requests","status":429}', 429)
        return Response('{"status":429}', 429, {"Retry-After": "1"})

    @staticmethod
    def _json(body: object, headers: list | None = None) -> Response:
        return Response(json.dumps(body), 200, headers or [], content_type="application/json")

    def _delighted(self, request: Request) -> Response:
        if request.authorization is None or request.authorization.username != TOKENS["delighted"]:
            return Response('{"status":401}', 401)
        if fault := self._fault("delighted"):
            return fault
        since = int(request.args.get("updated_since", 0))
        per, page = int(request.args["per_page"]), int(request.args["page"])
        rows = sorted((r for r in self.responses.values() if r["updated_at"] >= since),
                      key=lambda r: r["created_at"])  # fmt: skip
        chunk = rows[(page - 1) * per : page * per]
        if page > 1 and chunk:  # a live set: one record slid down from the previous page
            chunk = [rows[(page - 1) * per - 1], *chunk]
        return self._json(chunk)

    def _zendesk(self, request: Request) -> Response:
        if request.authorization is None or request.authorization.password != TOKENS["zendesk"]:
            return Response('{"error":"Couldn\'t authenticate you"}', 401)
        if fault := self._fault("zendesk"):
            return fault
        ordered = sorted(self.tickets, key=lambda t: t["generated_timestamp"])
        if "cursor" in request.args:
            pos = int(request.args["cursor"])
        else:
            start = int(request.args["start_time"])
            pos = next(
                (i for i, t in enumerate(ordered) if t["generated_timestamp"] >= start),
                len(ordered),
            )
        chunk = ordered[pos : pos + 50]
        end = pos + len(chunk)
        return self._json({"tickets": chunk, "after_cursor": str(end), "before_cursor": str(pos),
                           "end_of_stream": end >= len(ordered)})  # fmt: skip

    def _algolia(self, request: Request) -> Response:
        if fault := self._fault("algolia"):
            return fault
        lo = hi = None
        for part in request.args["numericFilters"].split(","):
            if part.startswith("created_at_i>"):
                lo = int(part.split(">")[1])
            elif part.startswith("created_at_i<="):
                hi = int(part.split("<=")[1])
        hits = sorted((h for h in self.hits.values() if lo < h["created_at_i"] <= hi),
                      key=lambda h: -h["created_at_i"])  # fmt: skip
        per, page = min(int(request.args["hitsPerPage"]), 25), int(request.args["page"])
        return self._json({"hits": hits[page * per : (page + 1) * per], "nbHits": len(hits), "page": page,
                           "nbPages": -(-len(hits) // per), "hitsPerPage": per})  # fmt: skip

    def _okta(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"SSWS {TOKENS['okta']}":
            return Response('{"errorCode":"E0000011"}', 401)
        if fault := self._fault("okta"):
            return fault
        if "after" in request.args:
            pos = int(request.args["after"])
        else:
            since = request.args["since"]
            pos = next(
                (i for i, e in enumerate(self.events) if e["published"] >= since), len(self.events)
            )
        chunk = self.events[pos : pos + 40]
        base = self.server.url_for("/api/v1/logs")
        link = f'<{base}?limit=1000&after={pos + len(chunk)}>; rel="next"'  # polling: always a next link
        return self._json(chunk, [("Link", f'<{base}>; rel="self"'), ("Link", link)])
