"""The ~1 % of mess that real exports carry, applied to encoded JSON lines.

Every helper is vectorised over a polars frame with a `line` column and a `day`
column (the export file the line lands in).
"""

from __future__ import annotations

import numpy as np
import polars as pl

# What a generator returns for a chunk of days with no records (tiny scales).
NO_LINES = pl.DataFrame(schema={"day": pl.Date, "line": pl.String})


def mask(rng: np.random.Generator, n: int, rate: float) -> pl.Series:
    """A random share `rate` of n rows, never none: every sample shows every kind of mess."""
    hit = rng.random(n) < rate
    if n and rate > 0 and not hit.any():
        hit[rng.integers(0, n)] = True
    return pl.Series(hit)


def duplicate_lines(rng: np.random.Generator, lines: pl.DataFrame, rate: float) -> pl.DataFrame:
    """Exact duplicates of some records, as exports re-send them."""
    dup = lines.filter(mask(rng, lines.height, rate))
    return pl.concat([lines, dup]).sort("day", maintain_order=True)


def truncate_lines(rng: np.random.Generator, lines: pl.DataFrame, rate: float) -> pl.DataFrame:
    """Cut some lines in half: what a crashed export leaves behind."""
    cut = mask(rng, lines.height, rate)
    return lines.with_columns(
        line=pl.when(cut)
        .then(pl.col("line").str.slice(0, pl.col("line").str.len_chars() // 2))
        .otherwise(pl.col("line"))
    )


def break_field(
    rng: np.random.Generator, lines: pl.DataFrame, pattern: str, replacement: str, rate: float
) -> pl.DataFrame:
    """Replace a field's encoded value in some lines, e.g. an unparseable timestamp."""
    hit = mask(rng, lines.height, rate)
    return lines.with_columns(
        line=pl.when(hit)
        .then(pl.col("line").str.replace(pattern, replacement))
        .otherwise(pl.col("line"))
    )


def leak_pii(
    rng: np.random.Generator, texts: pl.Series, people: pl.DataFrame, rate: float
) -> pl.Series:
    """Append the writer's own e-mail, phone or name to some free texts.

    `people` is aligned with `texts` and has `name`, `email` and `phone`.
    """
    n = len(texts)
    hit = rng.random(n) < rate
    kind = rng.integers(0, 3, n)
    suffix = (
        pl.DataFrame({"kind": kind, "hit": hit})
        .hstack(people.select("name", "email", "phone"))
        .select(
            pl.when(~pl.col("hit"))
            .then(pl.lit(""))
            .when(pl.col("kind") == 0)
            .then(pl.lit(" Reach me at ") + pl.col("email"))
            .when(pl.col("kind") == 1)
            .then(pl.lit(" Call me on ") + pl.col("phone"))
            .otherwise(pl.lit(" Thanks, ") + pl.col("name"))
        )
        .to_series()
    )
    return (
        pl.DataFrame({"text": texts, "suffix": suffix, "hit": hit})
        .select(
            pl.when(pl.col("hit"))
            .then(pl.col("text").fill_null("") + pl.col("suffix"))
            .otherwise(pl.col("text"))
        )
        .to_series()
        .alias(texts.name)
    )
