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

from productops.sample import feedback, nps, social, tool_usage
from productops.sample.company import Stories, build_company, stories_for
from productops.settings import DataPaths

__all__ = ["SampleSummary", "Stories", "stories_for", "write_sample"]


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


def _write_jsonl_by_day(lines: pl.DataFrame, folder: Path, prefix: str) -> int:
    files = 0
    for (day,), part in lines.partition_by("day", as_dict=True, maintain_order=True).items():
        text = "\n".join(part["line"].to_list()) + "\n"
        _atomic_write(
            folder / f"{prefix}_{day.isoformat()}.jsonl", lambda p, t=text: p.write_text(t)
        )
        files += 1
    return files


def _write_csv_by_day(rows: pl.DataFrame, folder: Path, prefix: str) -> int:
    files = 0
    for (day,), part in rows.partition_by("day", as_dict=True, maintain_order=True).items():
        rows_of_day = part.drop("day")
        _atomic_write(folder / f"{prefix}_{day.isoformat()}.csv", rows_of_day.write_csv)
        files += 1
    return files


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
    files: dict[str, int] = {}
    records: dict[str, int] = {}

    nps_lines = nps.export_lines(company)
    files["nps"] = _write_jsonl_by_day(nps_lines, land / "nps", "delighted_survey_responses")
    records["nps"] = nps_lines.height

    tickets = feedback.ticket_lines(company)
    widget = feedback.widget_rows(company)
    files["feedback"] = _write_jsonl_by_day(tickets, land / "feedback", "zendesk_tickets")
    files["feedback"] += _write_csv_by_day(widget, land / "feedback", "feedback_widget")
    records["feedback"] = tickets.height + widget.height

    hits = social.hit_lines(company)
    files["social"] = _write_jsonl_by_day(hits, land / "social", "hn_search_by_date")
    records["social"] = hits.height

    events = tool_usage.event_lines(company)
    files["tool_usage"] = _write_jsonl_by_day(events, land / "tool_usage", "okta_system_log")
    records["tool_usage"] = events.height

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
