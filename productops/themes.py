"""The theme taxonomy (`config/themes.toml`) compiled into one DuckDB macro."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from productops import sql
from productops.config_files import config_file
from productops.quoting import literal


@dataclass(frozen=True)
class Taxonomy:
    version: str  # the file's content hash: results change when it does
    themes: dict[str, tuple[str, ...]]

    def macro_sql(self) -> str:
        """`themes(text)`: the list of matching themes, `['other']` when none match."""
        cases = ", ".join(
            f"CASE WHEN regexp_matches(lower(t), {literal(_pattern(p))}) THEN {literal(name)} END"
            for name, p in self.themes.items()
        )
        return f"""
        CREATE OR REPLACE TEMP MACRO themes(t) AS
            CASE WHEN t IS NULL THEN ['other']
                 ELSE coalesce(nullif(list_filter([{cases}], lambda x: x IS NOT NULL), []), ['other'])
            END;
        """


def _pattern(patterns: tuple[str, ...]) -> str:
    joined = "|".join(p.lower() for p in patterns)
    return f"\\b({joined})\\b"


def _check_patterns(path: Path, themes: dict[str, tuple[str, ...]]) -> None:
    """Each theme's patterns compile in DuckDB's regex engine (RE2), or the file is named."""
    with sql.scratch() as con:
        for name, patterns in themes.items():
            bad = [p for p in patterns if not isinstance(p, str)]
            if bad or not isinstance(name, str) or not name.strip():
                raise ValueError(f"{path}: theme {name!r}: names and patterns must be text")
            try:
                con.execute("SELECT regexp_matches('', ?)", [_pattern(patterns)]).fetchall()
            except duckdb.Error as exc:
                raise ValueError(
                    f"{path}: theme {name!r}: a pattern is not a valid regex: {exc}"
                ) from exc


def load_taxonomy(path: Path | str | None = None) -> Taxonomy:
    path = Path(path or config_file("themes.toml"))
    raw = path.read_bytes()
    try:
        parsed = tomllib.loads(raw.decode())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    themes = {
        name: tuple(spec.get("patterns", ())) for name, spec in parsed.get("themes", {}).items()
    }
    empty = [name for name, patterns in themes.items() if not patterns]
    if not themes or empty:
        raise ValueError(f"{path}: every theme needs patterns (empty: {empty or 'all'})")
    _check_patterns(path, themes)
    return Taxonomy(version=hashlib.sha256(raw).hexdigest()[:12], themes=themes)
