"""The language of each text: an ISO 639-1 code (`en`, `de`, ...), or None where a text
says too little to tell (emoji, numbers, a word or two of fewer than three letters).

lingua (`lingua-language-detector`) decides, among the languages customers of a B2B
product write in (`LANGUAGES`: the main European and Asian ones). Its models ship in
the wheel, so nothing is fetched at run time. The detector is built once per process,
on first use, and detects a batch on every core (its Rust thread pool).

Why **low-accuracy mode** (trigrams only), measured by `python -m bench.sentiment_accuracy`
on the 416 hand-labelled customer texts of `bench/sentiment/labelled.csv` (8 languages,
mostly one sentence), with these 38 languages, each mode in a fresh process on the
2-core machine:

- high accuracy (1- to 5-grams) is right on 99.5 % of the set, low accuracy on 98.3 %;
- high accuracy adds 870 to 950 MiB of RSS once built, low accuracy 52 to 54 MiB;
- high accuracy detects ~1,300 short texts/s, low accuracy ~10,000/s: a batch of
  100 k distinct texts takes 75 s against 10 s.

Near a gigabyte for a point of accuracy does not fit a detector's budget (well under
1 GiB, beside DuckDB in the same process). What low accuracy gets wrong is mostly short
text, and the worst of that is mended by `_MARKERS` below.

Why a word vote for short texts: lingua's n-grams do not see word boundaries, so in
"Beacon ist super 👍" the `ist` reads like the `ist` inside Italian `lista` or Spanish
`existe`, and an English product name pulls the rest (lingua says Spanish, Catalan or
English, in either mode). For a text of at most `SHORT_WORDS` words, a word only one of
the main languages uses (`ist`, `muy`, `não`, ...) decides when the text holds such
words of one language only; otherwise lingua does.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

# ISO 639-1. Catalan, Galician and the like are left out on purpose: each one added takes
# short Spanish, Portuguese or Italian texts away from their language (measured:
# "Beacon ist super" comes out Catalan when Catalan is in), and customers who write
# them are read as the closest language here.
LANGUAGES = (
    "en", "de", "fr", "es", "pt", "it", "nl", "pl", "sv", "da", "nb", "fi", "el", "uk",
    "ru", "tr", "cs", "sk", "hu", "ro", "bg", "hr", "sl", "lt", "lv", "et",
    "ja", "ko", "zh", "ar", "he", "hi", "fa", "ur", "bn", "id", "vi", "th",
)  # fmt: skip
# Fewer letters than this (after links, handles and e-mail addresses go) say nothing.
MIN_LETTERS = 3
SHORT_WORDS = 5
# lingua answers None when its two best languages are closer than this (0 to 1): an
# ambiguous word ("Super", "Beacon") gets no language rather than a guess.
MIN_RELATIVE_DISTANCE = 0.1

_NOISE = re.compile(r"https?://\S+|www\.\S+|[\w.+-]+@[\w-]+\.[\w.-]+|@\w+|#\w*\d\w*", re.IGNORECASE)
# Apostrophes, typed (') or typographic (U+2019), stay inside a word: c'est, doesn't.
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")

# Frequent words of one language that no other language in LANGUAGES spells the same
# way: not "la" (French, Spanish, Italian), "der" (German; Danish "there"), "des" (French;
# German), "mais" (French; Portuguese), "nie" (Polish; German), "ale" (Polish; Czech).
# A word listed for two languages counts for neither (`_marker_language` drops it).
_MARKERS = {
    "en": "the and this that with very but you are has does doesn't don't can't "
    "won't isn't it's my our your they would should just really great love thanks "
    "awesome nice good works slow terrible",
    "de": "ist nicht und ich wir sehr auch noch schon kein keine mit für ein eine "
    "einen auf aber wird sind läuft geht danke bitte gut toll immer wieder leider seit "
    "kann funktioniert endlich einfach",
    "fr": "est pas très les une avec pour nous c'est ça vraiment merci rien trop toujours génial",
    "es": "muy pero los las siempre hay mucho gracias también buena bueno el",
    "pt": "não muito muita obrigado obrigada também você vocês ótimo ótima ainda tudo uma "
    "são é bom boa",
    "it": "è molto sono della che grazie anche gli ottimo ottima funziona troppo più ancora perché",
    "nl": "het niet een zijn ik heel erg maar ook geen werkt goed bedankt",
    "pl": "jest się bardzo że dla już działa dziękuję dzięki",
}


def _marker_language() -> dict[str, str]:
    owners: dict[str, set[str]] = {}
    for language, words in _MARKERS.items():
        for word in words.split():
            owners.setdefault(word, set()).add(language)
    return {word: langs.pop() for word, langs in owners.items() if len(langs) == 1}


_MARKER_LANGUAGE = _marker_language()


def build_detector(low_accuracy: bool = True):
    """A lingua detector of LANGUAGES with every model loaded now, not on first use (the
    first batch would otherwise pay for it, and a worker's memory would grow mid-run)."""
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    builder = LanguageDetectorBuilder.from_iso_codes_639_1(
        *[getattr(IsoCode639_1, code.upper()) for code in LANGUAGES]
    )
    if low_accuracy:
        builder = builder.with_low_accuracy_mode()
    return (
        builder.with_minimum_relative_distance(MIN_RELATIVE_DISTANCE)
        .with_preloaded_language_models()
        .build()
    )


@cache
def detector():
    """The detector `detect` uses: built on first use, kept for the process."""
    return build_detector()


def _by_markers(words: list[str]) -> str | None:
    """The one language whose marker words a short text holds, if exactly one."""
    found = Counter(_MARKER_LANGUAGE[w] for w in words if w in _MARKER_LANGUAGE)
    return next(iter(found)) if len(found) == 1 else None


def detect(texts: list[str]) -> list[str | None]:
    """The ISO 639-1 code of each text's language, in order; None where a text is too
    short or too ambiguous to tell."""
    codes: list[str | None] = [None] * len(texts)
    ask: list[int] = []
    cleaned: list[str] = []
    for i, text in enumerate(texts):
        clean = _NOISE.sub(" ", text or "")
        if sum(c.isalpha() for c in clean) < MIN_LETTERS:
            continue
        words = _WORD.findall(clean.lower().replace("\u2019", "'"))
        if len(words) <= SHORT_WORDS and (code := _by_markers(words)):
            codes[i] = code
            continue
        ask.append(i)
        cleaned.append(clean)
    if cleaned:
        for i, found in zip(ask, detector().detect_languages_in_parallel_of(cleaned), strict=True):
            codes[i] = found.iso_code_639_1.name.lower() if found else None
    return codes
