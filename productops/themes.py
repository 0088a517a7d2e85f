"""The theme taxonomy (`config/themes.toml`) compiled into one DuckDB macro.

A theme's `patterns` are English; a key named by an ISO 639-1 code (`de = [...]`) holds
that language's patterns. An item is matched against its own language's patterns only:
"Rechnung falsch" is pricing in German and nothing in English. An item whose language
no theme has patterns for is `other` (the report counts them), and an item whose
language was not detected (too short, emoji) is read as English.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from productops import sql
from productops.config_files import config_file
from productops.quoting import literal

ENGLISH = "en"
_LANGUAGE_KEY = re.compile(r"[a-z]{2}")


@dataclass(frozen=True)
class Taxonomy:
    version: str  # the file's content hash: results change when it does
    themes: dict[str, tuple[str, ...]]  # English patterns per theme
    # Patterns per language (ISO 639-1), then per theme; English included.
    languages: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    def macro_sql(self) -> str:
        """`themes(text, lang)`: the themes matching `text` in its language's patterns,
        `['other']` when none match or no theme has patterns in that language; `lang`
        NULL (not detected) reads as English."""
        by_language = self.languages or {ENGLISH: self.themes}
        whens = " ".join(
            f"WHEN {literal(lang)} THEN [{_cases(themes)}]" for lang, themes in by_language.items()
        )
        return f"""
        CREATE OR REPLACE TEMP MACRO themes(t, lang := NULL) AS
            CASE WHEN t IS NULL THEN ['other']
                 ELSE coalesce(nullif(list_filter(
                          CASE coalesce(lang, {literal(ENGLISH)}) {whens} ELSE []::VARCHAR[] END,
                          lambda x: x IS NOT NULL), []), ['other'])
            END;
        CREATE OR REPLACE TEMP MACRO has_theme_patterns(lang) AS
            coalesce(lang, {literal(ENGLISH)}) IN ({", ".join(literal(x) for x in by_language)});
        """


def _cases(themes: dict[str, tuple[str, ...]]) -> str:
    return ", ".join(
        f"CASE WHEN regexp_matches(lower(t), {literal(_pattern(p))}) THEN {literal(name)} END"
        for name, p in themes.items()
    )


def _pattern(patterns: tuple[str, ...]) -> str:
    joined = "|".join(p.lower() for p in patterns)
    return f"\\b({joined})\\b"


def _check_patterns(path: Path, themes: dict[str, tuple[str, ...]], lang: str = ENGLISH) -> None:
    """Each theme's patterns compile in DuckDB's regex engine (RE2), or the file is named."""
    with sql.scratch() as con:
        for name, patterns in themes.items():
            bad = [p for p in patterns if not isinstance(p, str)]
            if bad or not isinstance(name, str) or not name.strip():
                raise ValueError(f"{path}: theme {name!r}: names and patterns must be text")
            try:
                con.execute("SELECT regexp_matches('', ?)", [_pattern(patterns)]).fetchall()
            except duckdb.Error as exc:
                where = "" if lang == ENGLISH else f" ({lang})"
                raise ValueError(
                    f"{path}: theme {name!r}{where}: a pattern is not a valid regex: {exc}"
                ) from exc


def load_taxonomy(path: Path | str | None = None) -> Taxonomy:
    path = Path(path or config_file("themes.toml"))
    raw = path.read_bytes()
    try:
        parsed = tomllib.loads(raw.decode())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    languages: dict[str, dict[str, tuple[str, ...]]] = {}
    for name, spec in parsed.get("themes", {}).items():
        if not isinstance(spec, dict):
            raise ValueError(f"{path}: theme {name!r} must be a table of patterns")
        for key, patterns in spec.items():
            lang = ENGLISH if key == "patterns" else key
            if not _LANGUAGE_KEY.fullmatch(lang):
                raise ValueError(
                    f"{path}: theme {name!r}: unknown key {key!r} (expected `patterns` for "
                    "English or a two-letter ISO 639-1 language code such as `de`)"
                )
            if not isinstance(patterns, list):
                raise ValueError(f"{path}: theme {name!r}: {key} must be a list of patterns")
            if patterns:
                languages.setdefault(lang, {})[name] = tuple(patterns)
    names = list(parsed.get("themes", {}))
    empty = [n for n in names if not any(n in themes for themes in languages.values())]
    if not names or empty:
        raise ValueError(f"{path}: every theme needs patterns (empty: {empty or 'all'})")
    for lang, themes in languages.items():
        _check_patterns(path, themes, lang)
    themes = languages.get(ENGLISH, {})
    return Taxonomy(
        version=hashlib.sha256(raw).hexdigest()[:12], themes=themes, languages=languages
    )
