"""Configuration is data: hostile values from files and settings never execute as SQL."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from productops.quoting import literal
from productops.themes import load_taxonomy

HOSTILE = [
    "it's",
    "x' THEN 'y' END; DROP TABLE victim; --",
    "'); DROP TABLE victim; CREATE TABLE pwned AS SELECT 1; --",
    "back\\slash \\' \\\\",
    "$$ dollar $$; DROP TABLE victim; $$",
    "new\nline'; DROP TABLE victim; --",
    "-- comment",
    "/* block */ ; SELECT 1",
    "ünïcødé — “quotes” 名前 🙂",
    '"double" quotes',
    "",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_literal_reads_back_as_exactly_the_value(value: str) -> None:
    with duckdb.connect() as con:
        con.execute("CREATE TABLE victim AS SELECT 1 AS x")
        assert con.execute(f"SELECT {literal(value)}").fetchall() == [(value,)]
        assert con.execute("SELECT count(*) FROM victim").fetchall() == [(1,)]
        tables = con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        assert tables == [("victim",)]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")))
def test_any_text_is_a_literal_of_itself(value: str) -> None:
    with duckdb.connect() as con:
        assert con.execute(f"SELECT {literal(value)}").fetchall() == [(value,)]


def test_nul_is_refused() -> None:
    with pytest.raises(ValueError, match="NUL"):
        literal("a\x00b")


def _toml_string(value: str) -> str:
    """A TOML basic string (escapes per the TOML spec)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def test_hostile_theme_names_and_patterns_are_only_data(tmp_path: Path) -> None:
    names = [n for n in HOSTILE if n]
    toml = "".join(
        f'[themes.{_toml_string(name)}]\npatterns = ["refund", "invoice"]\n' for name in names
    )
    path = tmp_path / "themes.toml"
    path.write_text(toml)
    taxonomy = load_taxonomy(path)
    assert set(taxonomy.themes) == set(names)
    with duckdb.connect() as con:
        con.execute("CREATE TABLE victim AS SELECT 1 AS x")
        con.execute(taxonomy.macro_sql())
        found = con.execute("SELECT themes('I want a refund')").fetchall()[0][0]
        assert sorted(found) == sorted(names)
        assert con.execute("SELECT themes('nothing here')").fetchall()[0][0] == ["other"]
        assert con.execute("SELECT table_name FROM duckdb_tables()").fetchall() == [("victim",)]


def test_hostile_patterns_match_literally_or_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "themes.toml"
    path.write_text('[themes.quoted]\npatterns = ["it\'s broken", "\'; DROP TABLE victim; --"]\n')
    taxonomy = load_taxonomy(path)
    with duckdb.connect() as con:
        con.execute("CREATE TABLE victim AS SELECT 1 AS x")
        con.execute(taxonomy.macro_sql())
        assert con.execute("SELECT themes('well, it''s broken')").fetchall()[0][0] == ["quoted"]
        assert con.execute("SELECT count(*) FROM victim").fetchall() == [(1,)]
    path.write_text('[themes.bad]\npatterns = ["(unclosed"]\n')
    with pytest.raises(ValueError, match=r"theme 'bad': a pattern is not a valid regex"):
        load_taxonomy(path)
