"""The one SQL quoting helper: every value written into SQL text goes through it."""

from __future__ import annotations

from pathlib import Path


def literal(value: str | Path) -> str:
    """`value` as a SQL string literal.

    The one way a value from a file, a setting or the data folder's path is written
    into SQL text, for the few places a bound parameter cannot go: a macro body, a
    path in COPY or ATTACH, `read_parquet` inside a view. Everything else is bound as
    a parameter. DuckDB's standard strings have no escapes but the doubled quote, so
    `--`, `;`, backslashes, `$$` and newlines are inert inside one; NUL is refused.
    """
    text = str(value)
    if "\x00" in text:
        raise ValueError(f"a NUL character cannot be part of SQL text: {text[:40]!r}")
    return "'" + text.replace("'", "''") + "'"
