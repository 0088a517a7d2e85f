"""Hacker News hits as Algolia's `search_by_date` returns them (one hit per line)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

from productops.sample import languages, mentions, messy
from productops.sample.company import Company, daily_counts, seconds_in_day
from productops.sample.mentions import PRODUCT
from productops.sample.text import compose

NON_ENGLISH = 0.1  # Hacker News is read and written mostly in English
POSITIVE = (
    "I&#x27;ve been using {p} for a year and it&#x27;s genuinely great for product teams.",
    "<p>{p} is the best tool we adopted this year, the roadmap views are excellent.",
    "Switched to {p} from spreadsheets, love it &amp; the team is happy.",
    "Impressive launch from {p}, nice work &quot;shipping fast&quot;.",
)
NEGATIVE = (
    "{p} is down again?? This outage is terrible, nothing loads.",
    "<p>Another {p} outage, we lost a whole afternoon. Really disappointing &amp; frustrating.",
    "{p} raised prices again, awful value now. Cancelling.",
    "Is anyone else seeing {p} errors? Broken for us since this morning, horrible.",
)
NEUTRAL = (
    "Has anyone compared {p} with Lighthouse for roadmap planning?",
    "<p>We use {p} at work. It&#x27;s fine, does what it says.",
    "Ask HN: how do you run product ops? We use {p} and Jira.",
)
TITLES = (
    "Show HN: {p} templates for product ops",
    "{p} raises Series B",
    "Ask HN: Alternatives to {p}?",
)
# What makes each comment unique (VADER-neutral, no theme word; see sample.text).
OPENERS = ("", "", "", "Data point: ", "Context: ", "Anecdata: ")
CLOSERS = ("", "", " (throwaway account)", " Edit: formatting.", " Disclosure: a customer.")
INCIDENT_TITLES = ("{p} outage: status page shows major incident", "{p} is down")
ISO = "%Y-%m-%dT%H:%M:%SZ"


def _pick(rng: np.random.Generator, bank: tuple[str, ...], n: int) -> np.ndarray:
    return np.array([t.format(p=PRODUCT) for t in bank])[rng.integers(0, len(bank), n)]


def _localised(
    company: Company, text: pl.Series, tone: np.ndarray, incident: np.ndarray
) -> pl.Series:
    """A share of the comments written in another language, in HN's HTML (own stream)."""
    rng = company.rng(10)
    lang = languages.draw(rng, len(text), NON_ENGLISH)
    rows = np.flatnonzero(lang != "en")
    if not len(rows):
        return text
    theme = mentions.themes_for(rng, tone[rows], incident[rows])
    local = mentions.texts(rng, lang[rows], theme, tone[rows]).to_frame("t")
    text = text.clone()
    text.scatter(rows, local.select(mentions.html_escape(pl.col("t"), "&#x27;")).to_series())
    return text


def hit_lines(company: Company) -> pl.DataFrame:
    rng = company.rng(5)
    days = company.days
    counts = daily_counts(rng, days, 14 * company.scale, 9 * company.scale)
    incident_idx = company.day_of(company.stories.incident)
    if 0 <= incident_idx < len(days):
        counts[incident_idx] = counts[incident_idx] * 10 + 40
    n = int(counts.sum())
    if n == 0:
        return messy.NO_LINES
    day_idx = np.repeat(np.arange(len(days)), counts)
    created = company.day0 + day_idx * 86400 + seconds_in_day(rng, n)
    incident = day_idx == incident_idx
    tone = rng.choice(np.array(["pos", "neg", "neu"]), n, p=[0.45, 0.2, 0.35])
    tone = np.where(incident & (rng.random(n) < 0.85), "neg", tone)
    text = np.select(
        [tone == "pos", tone == "neg"],
        [_pick(rng, POSITIVE, n), _pick(rng, NEGATIVE, n)],
        _pick(rng, NEUTRAL, n),
    )
    text = compose(rng, text, OPENERS, CLOSERS)
    text = _localised(company, text, tone, incident)
    is_story = rng.random(n) < 0.25
    title = np.where(incident, _pick(rng, INCIDENT_TITLES, n), _pick(rng, TITLES, n))
    object_id = company.seed * 10**11 + 41 * 10**9 + company.serial(n)
    story_id = np.where(is_story, object_id, object_id - rng.integers(1, 500, n))
    frame = pl.DataFrame(
        {
            "objectID": object_id.astype(str),
            "author": np.char.add(
                "hn_user", rng.integers(1, 5000 * max(1, int(company.scale)), n).astype(str)
            ),
            "created_at_i": created,
            "updated_at_i": created + rng.integers(60, 7200, n),
            "is_story": is_story,
            "title": title,
            "text": text,
            "points": rng.geometric(0.08, n),
            "num_comments": rng.geometric(0.1, n) - 1,
            "story_id": story_id,
            "parent_id": story_id,
        }
    )
    # Algolia re-indexes hits: some come again later with more points.
    again = frame.filter(messy.mask(rng, n, 0.03)).with_columns(
        updated_at_i=pl.col("updated_at_i") + 86400, points=pl.col("points") * 3
    )
    frame = pl.concat([frame, again])
    iso = lambda c: pl.from_epoch(c, time_unit="s").dt.strftime(ISO)  # noqa: E731
    story = pl.struct(
        objectID=pl.col("objectID"),
        author=pl.col("author"),
        created_at=iso("created_at_i"),
        created_at_i=pl.col("created_at_i"),
        updated_at=iso("updated_at_i"),
        _tags=pl.concat_list(
            pl.lit("story"),
            pl.lit("author_") + pl.col("author"),
            pl.lit("story_") + pl.col("objectID"),
        ),
        title=pl.col("title"),
        url=pl.lit("https://beacon.example/blog/") + pl.col("objectID"),
        points=pl.col("points"),
        num_comments=pl.col("num_comments"),
        story_id=pl.col("story_id"),
        children=pl.lit([], dtype=pl.List(pl.Int64)),
    )
    comment = pl.struct(
        objectID=pl.col("objectID"),
        author=pl.col("author"),
        created_at=iso("created_at_i"),
        created_at_i=pl.col("created_at_i"),
        updated_at=iso("updated_at_i"),
        _tags=pl.concat_list(
            pl.lit("comment"),
            pl.lit("author_") + pl.col("author"),
            pl.lit("story_") + pl.col("story_id").cast(pl.String),
        ),
        comment_text=pl.col("text"),
        parent_id=pl.col("parent_id"),
        story_id=pl.col("story_id"),
        story_title=pl.col("title"),
        children=pl.lit([], dtype=pl.List(pl.Int64)),
    )
    lines = frame.sort("updated_at_i").select(
        day=pl.from_epoch("updated_at_i", time_unit="s").dt.date(),
        line=pl.when(pl.col("is_story"))
        .then(story.struct.json_encode())
        .otherwise(comment.struct.json_encode()),
    )
    end = datetime.fromtimestamp(company.window_end, UTC).date()
    lines = lines.filter(pl.col("day") < end)
    lines = messy.break_field(rng, lines, r'"objectID":"\d+",', "", 0.002)
    return messy.duplicate_lines(rng, lines, 0.004)
