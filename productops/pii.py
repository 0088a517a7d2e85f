"""Personal data in free text: found by Google's libphonenumber, not by a few regexes.

Phone numbers are written in as many ways as there are countries (`+44 20 7946 0958`,
`020 7946 0958`, `06 12 34 56 78`, `(030) 1234-5678`); the `phonenumbers` package (a
port of libphonenumber) knows each country's numbering plan. `PhoneNumberMatcher` scans
the text once per region, with `VALID` leniency: a digit run counts only when it is a
number that region really issues, so order numbers, prices and timestamps stay.

Staging's `redact()` macro and the `no_personal_data` check call the same functions
(registered in DuckDB by `productops.sql.prepare`), so what redaction misses the check
cannot pass. Only text with at least seven digits reaches Python: the rest cannot hold
a phone number, and this keeps the per-row cost off most text.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from functools import lru_cache

import phonenumbers

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Where a record gives no country: the countries most vendor exports come from.
DEFAULT_REGIONS = ("US", "GB", "DE", "FR", "NL", "ES", "IT", "IE", "SE", "PL", "IN", "BR", "AU",
                   "CA", "MX", "JP", "SG", "ZA")  # fmt: skip
MIN_DIGITS = 7
_DIGITS = re.compile(r"\d")
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}")
_SEPARATED = re.compile(r"\d[\s().\-/]+\d")


def _written_as_phone(raw: str) -> bool:
    """A bare digit run (`1772409600`, `123456789`) is a valid number in some country but
    far more often an id, an order number or a timestamp: it counts only when written
    like a phone number: with `+`, with separators, or national with a leading 0. A
    date (`2026-02-30 25`, `02/03/2026`) never does."""
    if _DATE.match(raw):  # libphonenumber's own timestamp guard needs a valid `:MM` after
        return False
    if raw.startswith("+") or _SEPARATED.search(raw):
        return True
    return raw.startswith("0") and len(raw) >= 9


@lru_cache(maxsize=65536)
def region_hint(value: str | None) -> str | None:
    """The country a record points to, for reading its local phone numbers: the region of
    an international number (`+33 6 12 34 56 78` -> FR), or an ISO country code (`de`).

    Remembered: people answer many surveys, and parsing a number costs 20 us (35 k NPS
    responses at scale 10 give 2.6 k numbers: 0.71 s -> 0.06 s)."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.startswith("+"):
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(text, None))
        except phonenumbers.NumberParseException:
            return None
        return region if region in phonenumbers.SUPPORTED_REGIONS else None
    code = text.upper()
    return code if len(code) == 2 and code in phonenumbers.SUPPORTED_REGIONS else None


def _regions(hint: str | None) -> tuple[str, ...]:
    """The record's own country first, then the default list."""
    if hint is None or hint not in phonenumbers.SUPPORTED_REGIONS:
        return DEFAULT_REGIONS
    return (hint, *(r for r in DEFAULT_REGIONS if r != hint))


def phone_spans(text: str, region: str | None = None) -> list[tuple[int, int]]:
    """Where phone numbers are in `text`, merged across regions, in order. `region` (a
    record's country, see `region_hint`) is read before the default list."""
    if len(_DIGITS.findall(text)) < MIN_DIGITS:
        return []
    spans: list[tuple[int, int]] = []
    for code in _regions(region):
        for match in phonenumbers.PhoneNumberMatcher(text, code, phonenumbers.Leniency.VALID):
            if _written_as_phone(match.raw_string):
                spans.append((match.start, match.end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


@lru_cache(maxsize=65536)
def redact_phones(text: str | None, region: str | None = None) -> str | None:
    """`text` with every phone number replaced by `[phone]`."""
    if text is None:
        return None
    out, last = [], 0
    for start, end in phone_spans(text, region):
        out += [text[last:start], "[phone]"]
        last = end
    return "".join(out) + text[last:]


def has_personal_data(text: str | None, region: str | None = None) -> bool:
    """True when `text` holds an e-mail address or a phone number."""
    return bool(text) and bool(EMAIL.search(text) or phone_spans(text, region))


_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")


_POSSESSIVE = ("'s", "\u2019s")


def _name_end(words: tuple[str, ...], known: set[tuple[str, ...]]) -> int | None:
    """None when `words` are no known name; else how many characters at their end are
    not the name: 2 for a possessive ("Rosa Petrov's" keeps its "'s"), else 0."""
    if words in known:
        return 0
    if words[-1].endswith(_POSSESSIVE) and (*words[:-1], words[-1][:-2]) in known:
        return 2
    return None


def name_redactor(names: Iterable[str]) -> Callable[[str | None], str | None]:
    """A function that replaces every known full name (two words or more) in a text.

    Names are matched as whole words, case-insensitively, by looking word n-grams up in a
    set: linear in the text whatever the number of names (a regex alternation of
    thousands of names is not). A single first name is never redacted: "Will" and "May"
    are words too. A possessive keeps its "'s": "[name]'s ticket".
    """
    known = {tuple(w.lower() for w in _WORD.findall(n)) for n in names if n}
    known = {k for k in known if len(k) >= 2 and all(len(w) >= 2 for w in k)}
    sizes = sorted({len(k) for k in known}, reverse=True)
    # Nearly every text names nobody: one look for a word that starts a known name (in
    # C: the regex, lower, the set) settles those, where the word-by-word walk below
    # took five times as long (121 k ticket texts and 624 names: 4.3 s -> 0.9 s).
    first_words = {k[0] for k in known}

    def redact(text: str | None) -> str | None:
        if not text or first_words.isdisjoint(map(str.lower, _WORD.findall(text))):
            return text
        words = list(_WORD.finditer(text))
        out, last, i = [], 0, 0
        while i < len(words):
            for n in sizes:
                run = words[i : i + n]
                if len(run) < n or not all(
                    text[a.end() : b.start()].isspace() for a, b in itertools.pairwise(run)
                ):
                    continue
                found = _name_end(tuple(w.group().lower() for w in run), known)
                if found is not None:
                    out += [text[last : run[0].start()], "[name]"]
                    last, i = run[-1].end() - found, i + n
                    break
            else:
                i += 1
        return "".join(out) + text[last:]

    return redact
