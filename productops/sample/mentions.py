"""What the public says about the product, shared by the social channels' generators.

Every channel draws its mentions the same way: a Poisson count per day (never none, so
each channel lands a file every day), a spike of mostly negative reliability posts on
the incident day, a tone and a theme per mention and a language drawn apart from both,
so the stories read the same in every language. Each channel then writes its vendor's
record shape around these.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from productops.sample import languages
from productops.sample.company import (
    FIRST_NAMES,
    LAST_NAMES,
    Company,
    daily_counts,
    seconds_in_day,
)
from productops.sample.text import THEMES

PRODUCT = "Beacon"
TONES = ("pos", "neg", "neu")
TONE_WEIGHTS = (0.45, 0.2, 0.35)
INCIDENT_NEGATIVE = 0.85  # of the incident day's mentions
INCIDENT_RELIABILITY = 0.9  # of those negative ones


@dataclass(frozen=True)
class Channel:
    """A channel's volume at scale 1 and its share of texts not in English."""

    stream: int  # the channel's random stream (`Company.rng`)
    weekday: float
    weekend: float
    spike: tuple[float, float]  # the incident day: a times a weekday's mentions, and b more
    non_english: float


def outage_count(rng: np.random.Generator, spike: tuple[float, float], weekday: float) -> int:
    """The incident day's mentions: `a` times a usual weekday's and `b` more. Drawn from
    the weekday's rate, not from that day's own count, so a quiet draw cannot hide the
    spike; `b` keeps it a spike at the smallest scales."""
    a, b = spike
    return int(rng.poisson(a * weekday)) + int(b)


def themes_for(rng: np.random.Generator, tone: np.ndarray, incident: np.ndarray) -> np.ndarray:
    """A theme per mention; on the incident day the negative ones are about reliability."""
    n = len(tone)
    theme = rng.choice(np.array(THEMES), n)
    outage = incident & (tone == "neg") & (rng.random(n) < INCIDENT_RELIABILITY)
    return np.where(outage, "reliability", theme)


def texts(
    rng: np.random.Generator, langs: np.ndarray, themes: np.ndarray, tones: np.ndarray
) -> pl.Series:
    """A public post per row in its language: the product named, a phrase, a context."""
    phrase = languages.phrases(rng, langs, themes, tones)
    opener = languages.choose(rng, languages.part("mentions", PRODUCT), langs)
    return languages.compose(rng, phrase, langs, opener)


def draw(company: Company, channel: Channel) -> pl.DataFrame:
    """One row per mention of this chunk: its day index, creation time (epoch seconds),
    tone, theme, language, text, whether it is on the incident day, and a serial number
    unique across chunks."""
    rng = company.rng(channel.stream)
    days = company.days
    s = company.scale
    counts = np.maximum(daily_counts(rng, days, channel.weekday * s, channel.weekend * s), 1)
    incident_idx = company.day_of(company.stories.incident)
    if 0 <= incident_idx < len(days):
        counts[incident_idx] = outage_count(rng, channel.spike, channel.weekday * s)
    n = int(counts.sum())
    day_idx = np.repeat(np.arange(len(days)), counts)
    incident = day_idx == incident_idx
    tone = rng.choice(np.array(TONES), n, p=TONE_WEIGHTS)
    tone = np.where(incident & (rng.random(n) < INCIDENT_NEGATIVE), "neg", tone)
    theme = themes_for(rng, tone, incident)
    lang = languages.draw(rng, n, channel.non_english)
    return pl.DataFrame(
        {
            "day_idx": day_idx,
            "created": company.day0 + day_idx * 86400 + seconds_in_day(rng, n),
            "tone": tone,
            "theme": theme,
            "lang": lang,
            "text": texts(rng, lang, theme, tone),
            "incident": incident,
            "serial": company.serial(n),
        }
    )


def html_escape(column: pl.Expr, apostrophe: str) -> pl.Expr:
    """Text as HTML: `&`, `<`, `>`, `"` as entities, `'` as the vendor writes it."""
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        column = column.str.replace_all(raw, entity, literal=True)
    return column.str.replace_all("'", apostrophe, literal=True)


def iso(column: str | pl.Expr) -> pl.Expr:
    """Epoch milliseconds as ISO 8601 UTC with milliseconds and `Z`."""
    col = pl.col(column) if isinstance(column, str) else column
    return pl.from_epoch(col, time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")


def day_of(column: str, unit: str = "s") -> pl.Expr:
    """The UTC day of an epoch time: the day whose landing file holds the record."""
    return pl.from_epoch(column, time_unit=unit).dt.date().alias("day")


def people(numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last names of the public's members numbered `numbers` (the same person
    under the same number, whatever the chunk)."""
    first, last = np.array(FIRST_NAMES), np.array(LAST_NAMES)
    return first[numbers % len(first)], last[(numbers // len(first)) % len(last)]
