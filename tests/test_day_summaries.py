"""Per-day summaries of raw files: read again only when a day's files, or the summary's
query, change."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from productops import day_summaries
from productops.quoting import literal

D1, D2 = date(2026, 3, 2), date(2026, 3, 3)


def _file(tmp_path: Path, name: str, n: int) -> str:
    path = tmp_path / f"{name}.parquet"
    duckdb.execute(f"COPY (SELECT range AS x FROM range({n})) TO {literal(path)} (FORMAT parquet)")
    return str(path)


def test_a_day_is_read_again_only_when_its_files_or_the_query_change(tmp_path: Path) -> None:
    con = duckdb.connect()
    read: list[list[str]] = []

    def counting(files: list[str], what: str = "count(*)") -> str:
        if files:
            read.append(files)
        days = " UNION ALL ".join(
            f"SELECT DATE '{D1 if 'd1' in f else D2}' AS day, * FROM read_parquet({literal(f)})"
            for f in files
        )
        return (
            f"SELECT day, {what} FROM ({days or 'SELECT NULL::DATE AS day, 1 AS x'}) GROUP BY day"
        )

    files = {D1: [_file(tmp_path, "d1a", 3)], D2: [_file(tmp_path, "d2a", 5)]}
    summary = day_summaries.per_day(con, "nps", "n", files, counting, remember=True)
    assert summary == {D1: [[3]], D2: [[5]]} and len(read) == 1

    assert day_summaries.per_day(con, "nps", "n", files, counting, remember=True) == summary
    assert len(read) == 1  # nothing read: every day's files are as they were

    files[D2].append(_file(tmp_path, "d2b", 2))  # a late batch lands on D2
    summary = day_summaries.per_day(con, "nps", "n", files, counting, remember=True)
    assert summary == {D1: [[3]], D2: [[7]]} and read[-1] == files[D2]

    def summing(files: list[str]) -> str:
        return counting(files, "sum(x)")

    # Another query (a new productops) reads every day again, and a reader stores nothing.
    assert day_summaries.per_day(con, "nps", "n", files, summing, remember=False) == {
        D1: [[3]], D2: [[11]]
    }  # fmt: skip
    assert len(read) == 3
    assert day_summaries.per_day(con, "nps", "n", files, counting, remember=False) == summary
    assert len(read) == 3

    def stored() -> list[tuple]:
        return con.execute(
            "SELECT day, files FROM ops.raw_day_summaries WHERE source = 'nps' ORDER BY day"
        ).fetchall()

    # A day whose files are gone is forgotten; the others' rows stay, one per day.
    hashes = dict(stored())
    del files[D2]
    assert day_summaries.per_day(con, "nps", "n", files, counting, remember=True) == {D1: [[3]]}
    assert stored() == [(D1, hashes[D1])] and len(read) == 3


def test_a_source_without_days_is_one_day_kept_once(tmp_path: Path) -> None:
    con = duckdb.connect()

    def counting(files: list[str]) -> str:
        listed = ", ".join(literal(f) for f in files)
        rows = f"SELECT * FROM read_parquet([{listed}])" if files else "SELECT 1 AS x WHERE false"
        return f"SELECT NULL::DATE AS day, count(*) FROM ({rows})"

    files: dict[date | None, list[str]] = {None: [_file(tmp_path, "inv1", 4)]}
    assert day_summaries.per_day(con, "licences", "n", files, counting, remember=True) == {
        None: [[4]]
    }
    files[None].append(_file(tmp_path, "inv2", 2))
    for _ in range(2):
        got = day_summaries.per_day(con, "licences", "n", files, counting, remember=True)
        assert got == {None: [[6]]}
    assert con.execute("SELECT count(*) FROM ops.raw_day_summaries").fetchone()[0] == 1
