"""The four vendor APIs' pagination, each a generator of pages of raw records.

Each yields `(records, cursor)`: the page's records exactly as the API sent them, and
the cursor to resume after that page (None where the API has none), so the caller can
store the cursor only once the page is safely in the raw lake.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from productops.connectors.http import ApiClient, ConnectorError

Page = tuple[list[dict[str, Any]], str | None]


def delighted_client(base_url: str, api_key: str, **kw: Any) -> ApiClient:
    return ApiClient(
        "Delighted", base_url, "DELIGHTED_API_KEY", auth=httpx.BasicAuth(api_key, ""), **kw
    )


def delighted_responses(
    client: ApiClient, *, updated_since: int, updated_until: int | None = None, per_page: int = 100
) -> Iterator[Page]:
    """`GET /v1/survey_responses.json`, page by page, with the person expanded.

    A bare array with no total: a short page is the last one. The cursor is the page's
    latest `updated_at` (bounds are inclusive, so the boundary record comes again and
    staging keeps one version).
    """
    page = 1
    while True:
        params: dict[str, Any] = {"per_page": per_page, "page": page, "updated_since": updated_since,
                                  "expand[]": "person"}  # fmt: skip
        if updated_until is not None:
            params["updated_until"] = updated_until
        data, _ = client.get("/v1/survey_responses.json", params)
        if not isinstance(data, list):
            raise ConnectorError(
                f"Delighted: expected a JSON array for page {page}, got {type(data).__name__}"
            )
        if data:
            stamps = [r.get("updated_at") or r.get("created_at") or 0 for r in data]
            yield data, str(max(stamps))
        if len(data) < per_page:
            return
        page += 1


def zendesk_client(base_url: str, email: str, api_token: str, **kw: Any) -> ApiClient:
    return ApiClient("Zendesk", base_url, "ZENDESK_EMAIL and ZENDESK_API_TOKEN",
                     auth=httpx.BasicAuth(f"{email}/token", api_token), **kw)  # fmt: skip


def zendesk_tickets(
    client: ApiClient, *, start_time: int | None = None, cursor: str | None = None
) -> Iterator[Page]:
    """The cursor-based incremental ticket export: `start_time` first, then `cursor` until
    `end_of_stream`. Deleted tickets come with status `deleted`."""
    if cursor is None and start_time is None:
        raise ValueError("zendesk_tickets needs a start_time or a cursor")
    params: dict[str, Any] = {"cursor": cursor} if cursor else {"start_time": start_time}
    while True:
        data, _ = client.get("/api/v2/incremental/tickets/cursor.json", params)
        try:
            tickets, after, end = (
                data["tickets"],
                data.get("after_cursor"),
                bool(data.get("end_of_stream")),
            )
        except (TypeError, KeyError) as exc:
            raise ConnectorError(f"Zendesk: the export page has no tickets ({exc})") from exc
        yield tickets, after
        if end or not after:
            return
        params = {"cursor": after}


def okta_client(base_url: str, api_token: str, **kw: Any) -> ApiClient:
    return ApiClient(
        "Okta", base_url, "OKTA_API_TOKEN", headers={"Authorization": f"SSWS {api_token}"}, **kw
    )


def okta_sso_events(
    client: ApiClient,
    *,
    since: str,
    until: str | None = None,
    after: str | None = None,
    limit: int = 1000,
) -> Iterator[Page]:
    """`GET /api/v1/logs` for SSO events, following the `Link: rel="next"` header.

    A bounded query (with `until`) ends without a next link; a polling one always has
    one, so an empty page ends it too. The cursor is the next link's `after` value.
    """
    # Resuming from a stored `after` cursor replaces `since`; the filter must stay the same.
    params: dict[str, Any] | None = {
        **({"after": after} if after else {"since": since}), "limit": limit, "sortOrder": "ASCENDING",
        "filter": 'eventType eq "user.authentication.sso"',
        **({"until": until} if until else {}),
    }  # fmt: skip
    url = "/api/v1/logs"
    while True:
        data, response = client.get(url, params)
        if not isinstance(data, list):
            raise ConnectorError(f"Okta: expected a JSON array from {url}")
        next_url = response.links.get("next", {}).get("url")
        after = httpx.URL(next_url).params.get("after") if next_url else None
        if data:
            yield data, after
        if not data or not next_url:
            return
        url, params = next_url, None


def algolia_client(base_url: str, **kw: Any) -> ApiClient:
    return ApiClient("Hacker News (Algolia)", base_url, "HN_BASE_URL", **kw)


def hn_search(
    client: ApiClient, *, query: str, since_i: int, until_i: int, hits_per_page: int = 100,
    workers: int = 4,
) -> Iterator[Page]:  # fmt: skip
    """`search_by_date` for one query, newest first, over `since_i < created_at_i <= until_i`.

    Algolia returns at most about 1,000 hits per query, so the window is walked down:
    after each query, the next one ends at the oldest hit seen. The pages of one query
    are fetched concurrently. The cursor is the newest `created_at_i` of the page.
    """
    upper = until_i
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        while upper > since_i:
            params = {"query": query, "tags": "(story,comment)", "hitsPerPage": hits_per_page,
                      "numericFilters": f"created_at_i>{since_i},created_at_i<={upper}"}  # fmt: skip
            first, _ = client.get("/api/v1/search_by_date", {**params, "page": 0})
            pages = [first]
            n_pages = int(first.get("nbPages") or 0)
            if n_pages > 1:
                pages.extend(pool.map(lambda p, q=params: client.get("/api/v1/search_by_date",
                                                                      {**q, "page": p})[0],
                                      range(1, n_pages)))  # fmt: skip
            hits = [h for p in pages for h in p.get("hits", [])]
            if not hits:
                return
            yield hits, str(max(int(h.get("created_at_i") or 0) for h in hits))
            if int(first.get("nbHits") or 0) <= len(hits):
                return  # everything in the window was returned
            oldest = min(int(h.get("created_at_i") or 0) for h in hits)
            upper = oldest if oldest < upper else upper - 1  # never ask for the same window twice
    finally:
        pool.shutdown()
