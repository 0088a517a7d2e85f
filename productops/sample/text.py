"""Phrases customers write, per theme and tone.

The taxonomy in `config/themes.toml` must find these themes again from the words
alone, so each phrase uses the vocabulary a real customer would.
"""

from __future__ import annotations

import numpy as np
import polars as pl

PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "pricing": {
        "neg": (
            "The new pricing is way too expensive for a team our size, really disappointed.",
            "The price increase is unfair and the cost is hard to justify, angry.",
            "Your plan costs doubled, awful value, we are looking at cheaper alternatives.",
            "Billing went up again and the invoice is confusing.",
        ),
        "pos": (
            "Fair price for what we get, good value.",
            "The pricing is clear and the plan fits our budget.",
        ),
    },
    "onboarding": {
        "neg": (
            "Onboarding was painful, the setup took us weeks.",
            "Getting started is confusing, the first steps of setup are unclear.",
        ),
        "pos": (
            "Onboarding was smooth, the new setup wizard is great.",
            "Getting started took ten minutes, loved the onboarding checklist.",
        ),
    },
    "performance": {
        "neg": (
            "The dashboard is really slow and frustrating, pages take forever to load.",
            "Search is sluggish and the app lags with large projects.",
        ),
        "pos": ("Everything loads fast now, performance is much better.",),
    },
    "reliability": {
        "neg": (
            "The app was down again today, another outage. Annoying.",
            "We keep getting errors and crashes, the service is unreliable.",
            "Sync failed and we lost data during the outage.",
        ),
        "pos": ("Rock solid, no downtime in months, great job.",),
    },
    "integrations": {
        "neg": (
            "The Slack integration keeps disconnecting, so frustrating.",
            "The Jira sync is broken, the integration drops updates.",
        ),
        "pos": ("The Salesforce integration works perfectly, love the API.",),
    },
    "usability": {
        "neg": (
            "The interface is cluttered and hard to navigate.",
            "Too many clicks to do simple things, the UI is confusing.",
        ),
        "pos": (
            "Beautiful, intuitive interface, easy to use.",
            "Really easy to use, the UX is clean.",
        ),
    },
    "support": {
        "neg": (
            "Support took four days to answer my ticket, unacceptable.",
            "Customer support was useless and rude, closed my ticket without a fix.",
        ),
        "pos": (
            "Support was amazing, quick and friendly help.",
            "The support team answered in minutes, thank you!",
        ),
    },
    "documentation": {
        "neg": ("The docs are outdated and the API documentation is missing examples.",),
        "pos": ("Great documentation, the guides answered everything.",),
    },
    "security": {
        "neg": ("No SSO and no audit logs, security rejected it.",),
        "pos": ("SSO setup was easy and the security review went well.",),
    },
    "feature_request": {
        "neg": ("Still missing a way to export reports, disappointing.",),
        "pos": (
            "Would love a dark mode, otherwise great product.",
            "Feature request: bulk edit would be great.",
        ),
    },
}
THEMES = tuple(PHRASES)
NEUTRAL = ("It does the job.", "Works as expected.", "We use it every week.", "Nothing to add.")
EMOJI = (" 🙂", " 😡", " 🚀", " 👍", " — très bien", " 😤 ça ne marche pas")


def _table() -> pl.DataFrame:
    rows = [
        (theme, tone, i, text)
        for theme, tones in PHRASES.items()
        for tone, texts in tones.items()
        for i, text in enumerate(texts)
    ]
    return pl.DataFrame(rows, schema=["theme", "tone", "i", "text"], orient="row")


_PHRASE_TABLE = _table()


def pick_phrases(rng: np.random.Generator, themes: np.ndarray, negative: np.ndarray) -> pl.Series:
    """One phrase per row for the given theme and tone (vectorised lookup)."""
    n = len(themes)
    counts = _PHRASE_TABLE.group_by("theme", "tone").agg(pl.len().alias("k"))
    frame = pl.DataFrame(
        {"theme": themes, "tone": np.where(negative, "neg", "pos"), "r": rng.random(n)}
    ).with_row_index("row")
    frame = frame.join(counts, on=["theme", "tone"], how="left").with_columns(
        i=(pl.col("r") * pl.col("k")).floor().cast(pl.Int64)
    )
    picked = frame.join(_PHRASE_TABLE, on=["theme", "tone", "i"], how="left").sort("row")
    return picked["text"]


def pick_neutral(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice(np.array(NEUTRAL), n)


def add_emoji(rng: np.random.Generator, texts: pl.Series, rate: float) -> pl.Series:
    """Append emoji or accented text to a share of the texts, as real comments have."""
    extra = np.where(rng.random(len(texts)) < rate, rng.choice(np.array(EMOJI), len(texts)), "")
    return texts + pl.Series(extra)
