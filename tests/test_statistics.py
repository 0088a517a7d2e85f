"""The statistics of the contract, run as the marts run them (the SQL macros), against
simulated truth: interval coverage, and how often a quiet source trips an alarm."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl
import pytest

from productops.marts import STAT_MACROS

# True NPS mixes (promoter share, detractor share), from unanimous-ish to split.
MIXES = [(0.2, 0.2), (0.5, 0.1), (0.7, 0.1), (0.85, 0.05), (0.1, 0.6), (0.3, 0.3), (0.6, 0.3)]
SIZES = [2, 3, 5, 8, 13, 20, 50, 200]
DRAWS = 4000


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute(STAT_MACROS)
    return c


def _coverage(con, draws: pl.DataFrame, truth: float) -> float:
    return con.execute(
        "SELECT avg((? BETWEEN nps_low(p, d, n) AND nps_high(p, d, n))::INTEGER) FROM draws",
        [truth],
    ).fetchall()[0][0]


def test_nps_intervals_cover_the_truth_at_their_stated_rate(con) -> None:
    rng = np.random.default_rng(2016)
    cells = {}
    for p, d in MIXES:
        for n in SIZES:
            x = rng.multinomial(n, [p, 1 - p - d, d], size=DRAWS)
            draws = pl.DataFrame({"p": x[:, 0], "d": x[:, 2], "n": np.full(DRAWS, n)})
            cells[(p, d, n)] = _coverage(con, draws, 100 * (p - d))
    mean = float(np.mean(list(cells.values())))
    assert 0.935 <= mean <= 0.965, mean  # 95 % on average over mixes and sizes
    # Small samples are discrete: a few cells miss, none by much from n = 3 on.
    assert min(c for (_, _, n), c in cells.items() if n >= 3) >= 0.85, cells
    assert min(c for (_, _, n), c in cells.items() if n >= 20) >= 0.925, cells
    assert min(cells.values()) >= 0.7, cells  # n = 2, an extreme mix


def test_the_margin_is_never_zero_for_a_unanimous_small_sample(con) -> None:
    moe = con.execute("SELECT nps_moe(3, 0, 3), nps_moe(0, 0, 2), nps_moe(1, 0, 1)").fetchall()[0]
    assert moe[0] > 30 and moe[1] > 30 and moe[2] is None


def _quiet_days(rng: np.random.Generator, days: int, weekday: float, weekend: float,
                dispersion: float | None) -> np.ndarray:  # fmt: skip
    lam = np.where(np.arange(days) % 7 < 5, weekday, weekend)
    if dispersion is not None:  # overdispersed: a gamma-Poisson (negative binomial) day
        lam = rng.gamma(dispersion, lam / dispersion)
    return rng.poisson(lam)


SPIKE_SQL = """
    SELECT count(*) FILTER (is_spike(x, med, mad, days)) AS alarms, count(*) FILTER (days = 28) AS days
    FROM (SELECT x, median(x) OVER w AS med, mad(x) OVER w AS mad, count(*) OVER w AS days
          FROM series WINDOW w AS (PARTITION BY s ORDER BY t ROWS BETWEEN 28 PRECEDING AND 1 PRECEDING))
"""


def test_a_quiet_source_trips_the_spike_rule_less_than_once_in_a_thousand_days(con) -> None:
    """Quiet periods at the volumes a source has (0.5 to 400 mentions a day), with
    weekday seasonality, Poisson and overdispersed: under 1 alarm per 1,000 days."""
    rng = np.random.default_rng(28)
    frames = []
    for s, (weekday, ratio, dispersion) in enumerate(
        (w, r, k) for w in (0.5, 3, 14, 40, 140, 400) for r in (0.64, 0.3) for k in (None, 20.0)
    ):
        x = _quiet_days(rng, 2000, weekday, weekday * ratio, dispersion)
        frames.append(pl.DataFrame({"s": s, "t": np.arange(x.size), "x": x}))
    series = pl.concat(frames)  # noqa: F841 (read by DuckDB)
    alarms, days = con.execute(SPIKE_SQL).fetchall()[0]
    assert days > 40_000
    assert alarms / days < 0.001, (alarms, days)


def test_an_incident_is_a_spike_at_every_volume(con) -> None:
    """The sample company's incident (ten times the day, plus 40) and a tenth of it
    (twice the day plus 10) are found whatever the source's volume."""
    rng = np.random.default_rng(9)
    found = []
    for weekday in (0.5, 3, 14, 140, 400):
        for surge in (lambda v: v * 10 + 40, lambda v: v * 2.5 + 15):
            x = _quiet_days(rng, 60, weekday, weekday * 0.64, None)
            x[45] = int(surge(x[45]))
            series = pl.DataFrame({"s": 0, "t": np.arange(x.size), "x": x})  # noqa: F841
            hits = con.execute(
                "SELECT list(t) FILTER (is_spike(x, med, mad, days)) FROM (SELECT t, x, "
                "median(x) OVER w AS med, mad(x) OVER w AS mad, count(*) OVER w AS days "
                "FROM series WINDOW w AS (ORDER BY t ROWS BETWEEN 28 PRECEDING AND 1 PRECEDING))"
            ).fetchall()[0][0]
            found.append((weekday, hits))
    assert all(hits == [45] for _, hits in found), found


def test_a_steady_theme_rarely_emerges(con) -> None:
    """Weekly counts of a steady theme (0.5 to 200 a week, Poisson): the emerging rule
    fires on under 0.5 % of full weeks."""
    rng = np.random.default_rng(4)
    frames = []
    for s, mean in enumerate((0.5, 2, 5, 10, 30, 80, 200)):
        x = rng.poisson(mean, 1500)
        frames.append(pl.DataFrame({"s": s, "t": np.arange(x.size), "x": x, "total": 40.0 * mean}))
    series = pl.concat(frames)  # noqa: F841
    alarms, weeks = con.execute(
        """SELECT count(*) FILTER (is_emerging(x, m, total, k, false)), count(*) FILTER (k = 4)
           FROM (SELECT x, total, avg(x) OVER w AS m, count(*) OVER w AS k FROM series
                 WINDOW w AS (PARTITION BY s ORDER BY t ROWS BETWEEN 4 PRECEDING AND 1 PRECEDING))"""
    ).fetchall()[0]
    assert alarms / weeks < 0.005, (alarms, weeks)
