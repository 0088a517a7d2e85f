"""A deterministic sample company, written as landing files in each vendor's real shape.

The same parsers that read these files read real exports, so the sample doubles as
the parsers' fixture. `write_sample` is what `productops sample` runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import polars as pl

from productops.sample import (
    appstore,
    bluesky,
    feedback,
    mastodon,
    nps,
    reddit,
    social,
    tool_usage,
)
from productops.sample.company import Stories, build_company, stories_for
from productops.settings import DataPaths

__all__ = ["SampleSummary", "Stories", "stories_for", "write_sample"]

# The social source's channels beside Hacker News, each its own file per day in landing/social.
SOCIAL_CHANNELS = ("reddit", "bluesky", "mastodon", "appstore")


@dataclass(frozen=True)
class SampleSummary:
    stories: Stories
    files: dict[str, int]  # source -> files written
    records: dict[str, int]  # source -> lines or rows written


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write beside the target under a dot-name and rename, so no reader sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


class _DayFiles:
    """One landing file per day for one export, fed a chunk of days at a time.

    A chunk may hold versions for days after its own (a ticket solved three days after it
    was opened); those wait here until the chunk that owns their day arrives, so each
    file is written once, whole, and memory holds one chunk, not the window.
    """

    def __init__(self, folder: Path, prefix: str, suffix: str) -> None:
        self.folder, self.prefix, self.suffix = folder, prefix, suffix
        self.waiting: pl.DataFrame | None = None
        self.files = self.records = 0

    def add(self, rows: pl.DataFrame, through: date | None = None) -> None:
        """Write the days up to `through` (None: every day left)."""
        if rows.is_empty():  # a chunk without records (tiny scales): only what waits
            rows = self.waiting if self.waiting is not None else rows
        elif self.waiting is not None and not self.waiting.is_empty():
            rows = pl.concat([self.waiting, rows]).sort("day", maintain_order=True)
        if through is not None:
            self.waiting = rows.filter(pl.col("day") > through)
            rows = rows.filter(pl.col("day") <= through)
        parts = rows.partition_by("day", as_dict=True, maintain_order=True)
        for (day,), part in parts.items():
            path = self.folder / f"{self.prefix}_{day.isoformat()}.{self.suffix}"
            _atomic_write(path, lambda p, part=part: self._write(p, part.drop("day")))
            self.files += 1
            self.records += part.height

    def close(self) -> _DayFiles:
        """Write what still waits (nothing, unless versions fall after the window)."""
        if self.waiting is not None and self.waiting.height:
            self.add(self.waiting.clear(), through=None)
        return self

    def _write(self, path: Path, part: pl.DataFrame) -> None:
        if self.suffix == "csv":
            part.write_csv(path)
        else:
            path.write_text("\n".join(part["line"].to_list()) + "\n")


def write_sample(
    paths: DataPaths, *, seed: int = 7, scale: float = 1.0, days: int = 90, end: date
) -> SampleSummary:
    """Write the sample company's landing files for the `days` ending on `end`."""
    if days < 14:
        raise ValueError(f"--days must be at least 14 to hold the planted stories, got {days}")
    if scale <= 0:
        raise ValueError(f"--scale must be positive, got {scale}")
    company = build_company(seed, scale, end, days)
    land = paths.landing
    exports = {
        "nps": (_DayFiles(land / "nps", "delighted_survey_responses", "jsonl"), nps.export_lines),
        "tickets": (
            _DayFiles(land / "feedback", "zendesk_tickets", "jsonl"),
            feedback.ticket_lines,
        ),
        "widget": (_DayFiles(land / "feedback", "feedback_widget", "csv"), feedback.widget_rows),
        "social": (_DayFiles(land / "social", "hn_search_by_date", "jsonl"), social.hit_lines),
        "reddit": (_DayFiles(land / "social", "reddit", "jsonl"), reddit.listing_lines),
        "bluesky": (_DayFiles(land / "social", "bluesky", "jsonl"), bluesky.post_lines),
        "mastodon": (_DayFiles(land / "social", "mastodon", "jsonl"), mastodon.status_lines),
        "appstore": (
            _DayFiles(land / "social", "appstore_reviews", "jsonl"),
            appstore.review_lines,
        ),
        "appstore_rewrites": (
            _DayFiles(land / "social", "appstore_rewrites", "jsonl"),
            appstore.rewrite_lines,
        ),
        "tool_usage": (
            _DayFiles(land / "tool_usage", "okta_system_log", "jsonl"),
            tool_usage.event_lines,
        ),
    }
    for chunk in company.chunks():
        for out, generate in exports.values():
            out.add(generate(chunk), through=chunk.days[-1])
    written = {name: out.close() for name, (out, _) in exports.items()}
    sources = {
        "nps": ("nps",),
        "feedback": ("tickets", "widget"),
        "social": ("social", *SOCIAL_CHANNELS, "appstore_rewrites"),
        "tool_usage": ("tool_usage",),
    }
    files = {s: sum(written[e].files for e in names) for s, names in sources.items()}
    records = {s: sum(written[e].records for e in names) for s, names in sources.items()}

    licences = tool_usage.licence_rows(company)
    _atomic_write(
        land / "licences" / f"licence_inventory_{end.isoformat()}.csv", licences.write_csv
    )
    files["licences"] = 1
    records["licences"] = licences.height

    story_file = paths.root / "sample_stories.json"
    _atomic_write(
        story_file,
        lambda p: p.write_text(json.dumps(asdict(company.stories), default=str, indent=2) + "\n"),
    )
    return SampleSummary(stories=company.stories, files=files, records=records)
