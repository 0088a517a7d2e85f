"""Pull a source's new records from its API into the landing folder, then into raw.

Each API page is saved, exactly as the records came, as one JSON file under
`landing/<source>/api/`, and ingested by the same code as a file drop: a page is a
batch named by its content hash, so a page fetched twice lands once. The source's
cursor is stored (`lake/_cursors/<source>.json`) only after the pages it covers are in
the raw lake: a run that dies half-way resumes from the last committed cursor, and
whatever it fetches again is either the same bytes (skipped) or a newer version of a
record (kept, and staging keeps the latest).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from productops.connectors import apis
from productops.connectors.http import ApiClient
from productops.ingest import IngestReport, ingest_source
from productops.settings import DataPaths
from productops.sources import SOURCES

LOG = logging.getLogger(__name__)
# Late edits: re-read this far behind the stored update-time cursor on every pull.
LOOKBACK = timedelta(days=2)
INGEST_EVERY_PAGES = 20  # commit (ingest + advance the cursor) at least this often


class CursorStore:
    """A source's incremental cursor, one small JSON file, replaced atomically."""

    def __init__(self, paths: DataPaths, name: str) -> None:
        self.file = paths.lake / "_cursors" / f"{name}.json"

    def load(self) -> str | None:
        if not self.file.exists():
            return None
        return json.loads(self.file.read_text()).get("cursor")

    def save(self, cursor: str) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_name(f".{self.file.name}.tmp")
        tmp.write_text(json.dumps({"cursor": cursor, "saved_at": datetime.now(UTC).isoformat()}))
        os.replace(tmp, self.file)


@dataclass
class PullResult:
    source: str
    pages: int = 0
    records: int = 0
    cursor: str | None = None
    reports: list[IngestReport] | None = None


def _save_page(folder: Path, prefix: str, records: list[dict[str, Any]]) -> Path:
    body = json.dumps(records, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(body.encode()).hexdigest()[:16]
    path = folder / f"{prefix}_{datetime.now(UTC):%Y%m%dT%H%M%S}_{digest}.json"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(body)
    os.replace(tmp, path)
    return path


def pull_pages(
    paths: DataPaths,
    source: str,
    pages: Iterator[apis.Page],
    *,
    cursor_name: str,
    prefix: str,
    log: logging.Logger | logging.LoggerAdapter = LOG,
) -> PullResult:
    """Save pages to landing; every few pages and at the end, ingest them and commit the cursor."""
    store = CursorStore(paths, cursor_name)
    folder = paths.landing_dir(source) / "api"
    result = PullResult(source, reports=[])
    pending: str | None = None

    def commit() -> None:
        result.reports.append(ingest_source(paths, SOURCES[source], log=log))
        if pending is not None:
            store.save(pending)
            result.cursor = pending

    for records, cursor in pages:
        if records:  # a page without records only moves the cursor: nothing to land
            _save_page(folder, prefix, records)
        result.pages += 1
        result.records += len(records)
        pending = cursor if cursor is not None else pending
        if result.pages % INGEST_EVERY_PAGES == 0:
            commit()
            log.info(f"{source}: {result.pages} pages, {result.records} records pulled so far")
    commit()
    return result


def _epoch(d: date) -> int:
    return int(datetime.combine(d, datetime.min.time(), UTC).timestamp())


def _later(cursor: str | None, fallback: int, look_back: timedelta = LOOKBACK) -> int:
    """The cursor minus the look-back, or the window's start."""
    if cursor is None:
        return fallback
    return max(0, int(float(cursor)) - int(look_back.total_seconds()))


def pull_delighted(paths: DataPaths, client: ApiClient, start: date, **kw: Any) -> PullResult:
    since = _later(CursorStore(paths, "nps").load(), _epoch(start))
    pages = apis.delighted_responses(client, updated_since=since)
    return pull_pages(
        paths, "nps", pages, cursor_name="nps", prefix="delighted_survey_responses", **kw
    )


def pull_zendesk(paths: DataPaths, client: ApiClient, start: date, **kw: Any) -> PullResult:
    cursor = CursorStore(paths, "feedback").load()
    now_minus = int(datetime.now(UTC).timestamp()) - 120  # the export refuses the last minute
    pages = apis.zendesk_tickets(
        client, cursor=cursor, start_time=None if cursor else min(_epoch(start), now_minus)
    )
    return pull_pages(
        paths, "feedback", pages, cursor_name="feedback", prefix="zendesk_tickets", **kw
    )


def pull_okta(paths: DataPaths, client: ApiClient, start: date, **kw: Any) -> PullResult:
    cursor = CursorStore(paths, "tool_usage").load()
    pages = apis.okta_sso_events(client, since=f"{start.isoformat()}T00:00:00.000Z", after=cursor)
    return pull_pages(
        paths, "tool_usage", pages, cursor_name="tool_usage", prefix="okta_system_log", **kw
    )


def pull_hacker_news(
    paths: DataPaths,
    client: ApiClient,
    start: date,
    queries: list[str],
    refresh: timedelta = timedelta(days=30),
    **kw: Any,
) -> list[PullResult]:
    """Hits per query since the creation-time cursor minus `refresh`: Algolia cannot filter
    on update time, so later points and comments are seen only for items that recent.
    Re-read pages are the same batch (skipped) unless something changed."""
    results = []
    now = int(datetime.now(UTC).timestamp())
    for query in queries:
        name = f"social_{hashlib.sha256(query.encode()).hexdigest()[:8]}"
        since = _later(CursorStore(paths, name).load(), _epoch(start), refresh)
        pages = apis.hn_search(client, query=query, since_i=since, until_i=now)
        results.append(
            pull_pages(paths, "social", pages, cursor_name=name, prefix="hn_search_by_date", **kw)
        )
    return results


PULLERS: dict[str, Callable[..., Any]] = {
    "nps": pull_delighted,
    "feedback": pull_zendesk,
    "tool_usage": pull_okta,
    "social": pull_hacker_news,
}
