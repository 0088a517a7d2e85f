"""The vendor API clients against a real HTTP server on loopback (pytest-httpserver)."""

from __future__ import annotations

import json
import socket

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from productops.connectors import apis
from productops.connectors.http import ApiClient, AuthError, ConnectorError, RetryPolicy
from tests.helpers import Sleeps

TOKEN = "tok-s3cret-value"


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def client(server: HTTPServer, sleeps: Sleeps, **kw) -> ApiClient:
    return ApiClient("Vendor", server.url_for("/"), "VENDOR_TOKEN", sleep=sleeps,
                     headers={"Authorization": f"SSWS {TOKEN}"}, **kw)  # fmt: skip


def test_429_waits_as_retry_after_says(httpserver: HTTPServer, sleeps: Sleeps) -> None:
    httpserver.expect_ordered_request("/x").respond_with_response(
        Response("{}", 429, {"Retry-After": "7"})
    )
    httpserver.expect_ordered_request("/x").respond_with_json({"ok": True})
    with client(httpserver, sleeps) as c:
        assert c.get("/x")[0] == {"ok": True}
    assert sleeps == [7.0]


def test_okta_429_waits_until_the_reset_time(httpserver: HTTPServer, sleeps: Sleeps) -> None:
    httpserver.expect_ordered_request("/x").respond_with_response(
        Response('{"errorCode":"E0000047"}', 429, {"X-Rate-Limit-Reset": "1800000010"})
    )
    httpserver.expect_ordered_request("/x").respond_with_json([])
    with client(httpserver, sleeps, clock=lambda: 1_800_000_000.0) as c:
        c.get("/x")
    assert sleeps == [11.0]  # until the reset, plus a second for clock skew


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {"X-Ratelimit-Reset": "42", "X-Ratelimit-Remaining": "0.0"},
            43.0,
        ),  # Reddit: seconds to go
        ({"RateLimit-Reset": "1800000020", "RateLimit-Remaining": "0"}, 21.0),  # Bluesky: epoch
        ({"X-RateLimit-Reset": "2027-01-15T08:01:40.000000Z"}, 101.0),  # Mastodon: ISO time
        ({"X-RateLimit-Reset": "soon"}, None),  # unreadable: backs off instead
    ],
)
def test_429_waits_for_each_vendors_window_reset(
    httpserver: HTTPServer, sleeps: Sleeps, headers: dict, expected: float | None
) -> None:
    httpserver.expect_ordered_request("/x").respond_with_response(
        Response('{"error":"Too many requests"}', 429, headers)
    )
    httpserver.expect_ordered_request("/x").respond_with_json({"ok": True})
    with client(httpserver, sleeps, clock=lambda: 1_800_000_000.0) as c:
        assert c.get("/x")[0] == {"ok": True}
    assert len(sleeps) == 1
    if expected is None:
        assert 0 <= sleeps[0] <= 60
    else:
        assert sleeps[0] == pytest.approx(expected)


def test_a_spent_window_waits_for_its_reset_before_the_next_request(
    httpserver: HTTPServer, sleeps: Sleeps
) -> None:
    """Reddit says `X-Ratelimit-Remaining: 0.0` on a good answer: the next request waits
    for the reset instead of spending itself on a 429."""
    httpserver.expect_ordered_request("/a").respond_with_response(
        Response(
            "{}",
            200,
            {
                "X-Ratelimit-Remaining": "0.0",
                "X-Ratelimit-Reset": "9",
                "Content-Type": "application/json",
            },
        )
    )
    httpserver.expect_ordered_request("/b").respond_with_json({"n": 2})
    with client(httpserver, sleeps, clock=lambda: 1_000_000.0) as c:
        c.get("/a")
        assert sleeps == []
        assert c.get("/b")[0] == {"n": 2}
    assert sleeps == [10.0]


def test_bare_429_and_server_errors_back_off_then_succeed(
    httpserver: HTTPServer, sleeps: Sleeps
) -> None:
    for status in (429, 503, 502):
        httpserver.expect_ordered_request("/x").respond_with_data("busy", status=status)
    httpserver.expect_ordered_request("/x").respond_with_json({"n": 1})
    with client(httpserver, sleeps, retry=RetryPolicy(base_s=1.0)) as c:
        assert c.get("/x")[0] == {"n": 1}
    assert len(sleeps) == 3 and all(0 <= s <= 8 for s in sleeps)


def test_persistent_failure_gives_up_within_bounded_time(
    httpserver: HTTPServer, sleeps: Sleeps
) -> None:
    httpserver.expect_request("/x").respond_with_data("down", status=500)
    policy = RetryPolicy(max_attempts=50, max_wait_s=30.0, base_s=4.0, cap_s=10.0)
    with (
        client(httpserver, sleeps, retry=policy) as c,
        pytest.raises(ConnectorError, match="gave up on GET /x"),
    ):
        c.get("/x")
    assert sum(sleeps) <= 30.0


def test_auth_failure_stops_at_once_naming_the_variable_not_the_token(
    httpserver: HTTPServer, sleeps: Sleeps
) -> None:
    httpserver.expect_request("/x").respond_with_data("nope", status=401)
    with client(httpserver, sleeps) as c, pytest.raises(AuthError) as err:
        c.get("/x", {"page": 1})
    assert "VENDOR_TOKEN" in str(err.value) and TOKEN not in str(err.value)
    assert sleeps == []


def test_truncated_json_is_a_clear_error_naming_the_request(
    httpserver: HTTPServer, sleeps: Sleeps
) -> None:
    httpserver.expect_request("/v1/survey_responses.json").respond_with_data('[{"id": "1", "sco')
    with (
        client(httpserver, sleeps) as c,
        pytest.raises(ConnectorError, match=r"malformed JSON.*survey_responses"),
    ):
        c.get("/v1/survey_responses.json", {"page": 3})


def test_connection_refused_is_retried_then_reported(sleeps: Sleeps) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    c = ApiClient(
        "Vendor", f"http://127.0.0.1:{port}", "X", sleep=sleeps, retry=RetryPolicy(max_attempts=3)
    )
    with c, pytest.raises(ConnectorError, match="ConnectError"):
        c.get("/x")
    assert len(sleeps) == 2


def test_delighted_pages_until_a_short_page(httpserver: HTTPServer, sleeps: Sleeps) -> None:
    pages = {1: [{"id": str(i), "updated_at": 100 + i} for i in range(3)],
             2: [{"id": str(i), "updated_at": 100 + i} for i in range(2, 5)],  # id 2 again: a live set
             3: [{"id": "9", "updated_at": 200}]}  # fmt: skip
    for n, rows in pages.items():
        httpserver.expect_ordered_request(
            "/v1/survey_responses.json",
            query_string={
                "per_page": "3",
                "page": str(n),
                "updated_since": "50",
                "expand[]": "person",
            },
            headers={"Authorization": "Basic a2V5Og=="},  # "key:" in base64
        ).respond_with_json(rows)
    with apis.delighted_client(httpserver.url_for("/"), "key", sleep=sleeps) as c:
        got = list(apis.delighted_responses(c, updated_since=50, per_page=3))
    assert [len(rows) for rows, _ in got] == [3, 3, 1]
    assert [cursor for _, cursor in got] == ["102", "104", "200"]


def test_zendesk_follows_the_cursor_to_the_end_of_the_stream(
    httpserver: HTTPServer, sleeps: Sleeps
) -> None:
    httpserver.expect_ordered_request(
        "/api/v2/incremental/tickets/cursor.json", query_string={"start_time": "1700000000"}
    ).respond_with_json({"tickets": [{"id": 1}], "after_cursor": "c1", "end_of_stream": False})
    httpserver.expect_ordered_request(
        "/api/v2/incremental/tickets/cursor.json", query_string={"cursor": "c1"}
    ).respond_with_json({"tickets": [{"id": 1, "status": "deleted"}, {"id": 2}], "after_cursor": "c2",
                         "end_of_stream": True})  # fmt: skip
    with apis.zendesk_client(httpserver.url_for("/"), "a@b.co", "t", sleep=sleeps) as c:
        got = list(apis.zendesk_tickets(c, start_time=1700000000))
    assert got == [([{"id": 1}], "c1"), ([{"id": 1, "status": "deleted"}, {"id": 2}], "c2")]


def test_okta_follows_link_headers(httpserver: HTTPServer, sleeps: Sleeps) -> None:
    base = httpserver.url_for("/api/v1/logs")
    httpserver.expect_ordered_request("/api/v1/logs", query_string={
        "since": "2026-03-01T00:00:00Z", "until": "2026-03-02T00:00:00Z", "limit": "2",
        "sortOrder": "ASCENDING", "filter": 'eventType eq "user.authentication.sso"',
    }).respond_with_response(Response(json.dumps([{"uuid": "a"}, {"uuid": "b"}]), headers=[
        ("Link", f'<{base}?limit=2>; rel="self"'), ("Link", f'<{base}?limit=2&after=1741_1>; rel="next"'),
        ("Content-Type", "application/json")]))  # fmt: skip
    httpserver.expect_ordered_request("/api/v1/logs", query_string={"limit": "2", "after": "1741_1"}
                                      ).respond_with_json([{"uuid": "c"}])  # fmt: skip
    with apis.okta_client(httpserver.url_for("/"), TOKEN, sleep=sleeps) as c:
        got = list(
            apis.okta_sso_events(
                c, since="2026-03-01T00:00:00Z", until="2026-03-02T00:00:00Z", limit=2
            )
        )
    assert got == [([{"uuid": "a"}, {"uuid": "b"}], "1741_1"), ([{"uuid": "c"}], None)]
    assert httpserver.log[0][0].headers["Authorization"] == f"SSWS {TOKEN}"


def test_algolia_fetches_pages_then_walks_the_window_down(
    httpserver: HTTPServer, sleeps: Sleeps
) -> None:
    def hits(lo: int, hi: int) -> list[dict]:
        return [{"objectID": str(i), "created_at_i": i} for i in range(hi, lo, -1)]

    def answer(request) -> Response:
        args = request.args
        upper = int(args["numericFilters"].split("<=")[1])
        page, per = int(args["page"]), int(args["hitsPerPage"])
        # 500 hits exist in (0, 500]; like Algolia, at most 4 pages (cap) per query.
        available = hits(0, upper)
        chunk = available[page * per : (page + 1) * per] if page < 4 else []
        return Response(json.dumps({"hits": chunk, "nbHits": len(available), "page": page,
                                    "nbPages": min(4, -(-len(available) // per))}),
                        content_type="application/json")  # fmt: skip

    httpserver.expect_request("/api/v1/search_by_date").respond_with_handler(answer)
    with apis.algolia_client(httpserver.url_for("/"), sleep=sleeps) as c:
        got = list(apis.hn_search(c, query="Beacon", since_i=0, until_i=500, hits_per_page=50))
    ids = [h["objectID"] for rows, _ in got for h in rows]
    assert len(got) == 3  # 200 + 200 + the last 100 (boundary hits come twice)
    assert {str(i) for i in range(1, 501)} == set(ids)
