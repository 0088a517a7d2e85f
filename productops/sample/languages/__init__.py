"""Customers who write in German, French, Spanish and Portuguese.

About a fifth of every source's texts are in one of these four, evenly, at the same
share every day: a language is drawn per record, apart from its theme, tone and time,
so the non-English texts repeat the English ones' themes and stories and start no wave
of their own. They are drawn from a stream of their own (`localise`), so the English
records of a company are the ones it had before it spoke other languages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from productops.sample import text
from productops.sample.languages import de, en, es, fr, pt
from productops.sample.languages.bank import Bank

__all__ = [
    "BANKS",
    "LANGUAGES",
    "NON_ENGLISH",
    "Bank",
    "choose",
    "compose",
    "draw",
    "localise",
    "part",
    "phrases",
]

LANGUAGES = ("de", "fr", "es", "pt")  # ISO 639-1, the keys of config/themes.toml
BANKS: dict[str, Bank] = {"en": en.BANK, "de": de.BANK, "fr": fr.BANK, "es": es.BANK, "pt": pt.BANK}
NON_ENGLISH = 0.2  # the share of a source's texts not in English
EMOJI = (" 🙂", " 😡", " 🚀", " 👍")


def draw(rng: np.random.Generator, n: int, share: float = NON_ENGLISH) -> np.ndarray:
    """A language per record: English, or (with probability `share`) one of the four."""
    other = rng.choice(np.array(LANGUAGES), n)
    return np.where(rng.random(n) < share, other, "en")


def choose(
    rng: np.random.Generator, options: Mapping[str, Sequence[str]], keys: np.ndarray
) -> np.ndarray:
    """One option per row from the options its key names (a loop over keys, not rows)."""
    out = np.full(len(keys), "", dtype=object)
    for key in np.unique(keys):
        rows = np.flatnonzero(keys == key)
        picked = np.array(options[key], dtype=object)
        out[rows] = picked[rng.integers(0, len(picked), len(rows))]
    return out


def _phrase_options() -> dict[str, tuple[str, ...]]:
    options = {f"{lang}|neu": bank.neutral for lang, bank in BANKS.items()}
    for lang, bank in BANKS.items():
        for theme, tones in bank.phrases.items():
            options.update({f"{lang}|{theme}|{tone}": ps for tone, ps in tones.items()})
    return options


_PHRASES = _phrase_options()


def phrases(
    rng: np.random.Generator, langs: np.ndarray, themes: np.ndarray, tones: np.ndarray
) -> np.ndarray:
    """A phrase per row in its language for its theme and tone (`neu`: no theme)."""
    langs, themes, tones = (np.asarray(a).astype(str) for a in (langs, themes, tones))
    themed = np.char.add(np.char.add(np.char.add(langs, "|"), themes), np.char.add("|", tones))
    keys = np.where(tones == "neu", np.char.add(langs, "|neu"), themed)
    return choose(rng, _PHRASES, keys)


def part(name: str, product: str | None = None) -> dict[str, tuple[str, ...]]:
    """One of the banks' parts (`mentions`, `post_titles`, ...) per language."""
    parts = {lang: getattr(bank, name) for lang, bank in BANKS.items()}
    if product is None:
        return parts
    return {lang: tuple(p.format(p=product) for p in ps) for lang, ps in parts.items()}


def compose(
    rng: np.random.Generator,
    phrase: np.ndarray,
    langs: np.ndarray,
    opener: np.ndarray | None = None,
) -> pl.Series:
    """Each phrase as its writer puts it, in its language: opener (a greeting, or what is
    given, e.g. how a post names the product), phrase, context, sign-off."""
    langs = np.asarray(langs).astype(str)
    if opener is None:
        opener = choose(rng, part("openers"), langs)
    # Context and sign-off filled as one template: one pass over the placeholders.
    after = np.char.add(
        choose(rng, part("contexts"), langs).astype(str),
        choose(rng, part("closers"), langs).astype(str),
    )
    return (
        pl.Series(opener, dtype=pl.String)
        + pl.Series(phrase, dtype=pl.String)
        + " "
        + text.fill(rng, after)
    )


def localise(
    rng: np.random.Generator,
    phrase: pl.Series,
    texts: pl.Series,
    themes: np.ndarray,
    tones: np.ndarray,
    langs: np.ndarray,
    emoji: float = 0.0,
) -> tuple[pl.Series, pl.Series]:
    """`(phrase, texts)` with the rows not in English written anew in their language, for
    the same theme and tone (`neg`, `pos`, `neu`); a share `emoji` ends with an emoji."""
    rows = np.flatnonzero(langs != "en")
    if not len(rows):
        return phrase, texts
    local = phrases(rng, langs[rows], themes[rows], tones[rows])
    composed = compose(rng, local, langs[rows])
    extra = np.where(rng.random(len(rows)) < emoji, rng.choice(np.array(EMOJI), len(rows)), "")
    phrase, texts = phrase.cast(pl.String).clone(), texts.cast(pl.String).clone()
    phrase.scatter(rows, pl.Series(local, dtype=pl.String))
    texts.scatter(rows, composed + pl.Series(extra))
    return phrase, texts
