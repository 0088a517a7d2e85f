"""Phrases customers write, per theme and tone, and the parts that make each text unique.

The taxonomy in `config/themes.toml` must find these themes again from the words
alone, so each phrase uses the vocabulary a real customer would. Real feedback is
almost never written twice, so `compose` wraps a phrase in a greeting, a context clause
with its own numbers and names, and a sign-off; those parts carry no theme word and no
sentiment (VADER scores them 0), so the planted stories keep their themes and tone
while sentiment costs what it costs on real data: one score per distinct text.
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


# Parts that make a text unique without changing its theme or tone (tested: no theme
# pattern matches them and VADER scores each 0).
OPENERS = ("", "", "Hi team, ", "Hello, ", "Hey, ", "Quick note: ", "Context: ", "Re our account: ")
CITIES = (
    "Austin", "Berlin", "Bogota", "Cape Town", "Dublin", "Lagos", "Lisbon", "Lyon",
    "Melbourne", "Montreal", "Mumbai", "Osaka", "Oslo", "Porto", "Seoul", "Seattle",
    "Taipei", "Toronto", "Utrecht", "Vienna",
)  # fmt: skip
GROUPS = ("finance", "marketing", "sales", "design", "research", "hr", "ops", "data")
CONTEXTS = (
    "We are {k} people in {city}.",
    "Noticed this at {hh}:{mm} our time.",
    "Workspace {code}, project {proj}.",
    "Our {group} group of {k} uses it every day.",
    "This is from the {city} office, account tier {tier}.",
    "Version {a}.{b}.{c} on {os}.",
    "We have {k} boards and {k2} members.",
    "Writing on behalf of our {group} group in {city}.",
)
CLOSERS = ("", "", "", " Regards.", " Sent from my phone.", " -- {group} lead", " Ref {code}.")
SLANG_NUMBERS = (86, 143, 182, 187, 1337, 1432)  # in VADER's lexicon, with a sentiment
OPERATING_SYSTEMS = ("macOS 14", "Windows 11", "Ubuntu 24.04", "iOS 18", "Android 15")


def _parts(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Random names and small numbers for n templates' placeholders.

    Numbers stay under five digits so no filler looks like a phone number to the PII
    detector, and skip the few that VADER's lexicon scores as slang ("86", "143", ...).
    """

    def number(low: int, high: int) -> np.ndarray:
        values = rng.integers(low, high, n)
        return np.where(np.isin(values, SLANG_NUMBERS), values + 1, values).astype(str)

    return {
        "k": number(3, 900),
        "k2": number(2, 4000),
        "city": rng.choice(np.array(CITIES), n),
        "group": rng.choice(np.array(GROUPS), n),
        "hh": rng.integers(100, 124, n).astype(str),  # "1hh": its last two digits are used
        "mm": rng.integers(100, 160, n).astype(str),
        "code": np.char.add("ws-", rng.integers(100, 9999, n).astype(str)),
        "proj": np.char.add("p", rng.integers(10, 999, n).astype(str)),
        "tier": rng.integers(1, 5, n).astype(str),
        "a": rng.integers(1, 9, n).astype(str),
        "b": rng.integers(0, 40, n).astype(str),
        "c": rng.integers(0, 20, n).astype(str),
        "os": rng.choice(np.array(OPERATING_SYSTEMS), n),
    }


def _substitute(parts: dict[str, np.ndarray], templates: np.ndarray) -> pl.Series:
    frame = pl.DataFrame(parts, schema=dict.fromkeys(parts, pl.String)).with_columns(
        pl.col("hh", "mm").str.slice(1), t=pl.Series(templates, dtype=pl.String)
    )
    expr = pl.col("t")
    for key in parts:
        expr = expr.str.replace_all("{" + key + "}", pl.col(key), literal=True)
    return frame.select(expr).to_series()


def _fill(rng: np.random.Generator, templates: tuple[str, ...], n: int) -> pl.Series:
    """One template per row, its placeholders filled with random names and small numbers."""
    parts = _parts(rng, n)
    return _substitute(parts, np.array(templates)[rng.integers(0, len(templates), n)])


def fill(rng: np.random.Generator, templates: np.ndarray) -> pl.Series:
    """The given template of each row, its placeholders filled (see `_fill`)."""
    return _substitute(_parts(rng, len(templates)), templates)


def compose(
    rng: np.random.Generator,
    phrases: pl.Series | np.ndarray,
    openers: tuple[str, ...] = OPENERS,
    closers: tuple[str, ...] = CLOSERS,
) -> pl.Series:
    """Each phrase as a customer writes it: greeting, phrase, context, sign-off."""
    n = len(phrases)
    opener = pl.Series(rng.choice(np.array(openers), n))
    context = _fill(rng, CONTEXTS, n)
    closer = _fill(rng, closers, n)
    return opener + pl.Series(phrases, dtype=pl.String) + " " + context + closer
