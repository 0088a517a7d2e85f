"""The theme taxonomy (`config/themes.toml`) compiled into one DuckDB macro."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TAXONOMY = Path(__file__).resolve().parents[1] / "config" / "themes.toml"


@dataclass(frozen=True)
class Taxonomy:
    version: str  # the file's content hash: results change when it does
    themes: dict[str, tuple[str, ...]]

    def macro_sql(self) -> str:
        """`themes(text)`: the list of matching themes, `['other']` when none match."""
        cases = ", ".join(
            f"CASE WHEN regexp_matches(lower(t), '{_pattern(patterns)}') THEN '{name}' END"
            for name, patterns in self.themes.items()
        )
        return f"""
        CREATE OR REPLACE TEMP MACRO themes(t) AS
            CASE WHEN t IS NULL THEN ['other']
                 ELSE coalesce(nullif(list_filter([{cases}], lambda x: x IS NOT NULL), []), ['other'])
            END;
        """


def _pattern(patterns: tuple[str, ...]) -> str:
    joined = "|".join(p.lower() for p in patterns)
    return f"\\b({joined})\\b".replace("'", "''")


def load_taxonomy(path: Path | str | None = None) -> Taxonomy:
    path = Path(path or DEFAULT_TAXONOMY)
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
    return Taxonomy(version=hashlib.sha256(raw).hexdigest()[:12], themes=themes)
