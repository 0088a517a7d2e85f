"""What the data folder holds now: rows per layer, quarantine, reconciliation."""

from __future__ import annotations

from dataclasses import dataclass, field

from productops import lakehouse, sql
from productops.held import Held
from productops.held import published as held_sources
from productops.settings import DataPaths, pii_salt
from productops.sources import SOURCES
from productops.staging import parquet_row_count, raw_files, reconcile


@dataclass(frozen=True)
class SourceCounts:
    source: str
    raw_rows: int
    raw_keys: int
    staged: int
    quarantined: int
    mismatched_days: int = 0

    @property
    def reconciled(self) -> bool:
        return self.mismatched_days == 0


def source_counts(paths: DataPaths) -> list[SourceCounts]:
    """Counts over everything the lake and warehouse hold (read-only)."""
    out = []
    if not lakehouse.warehouse_exists(paths):
        return out
    with lakehouse.open_warehouse(paths, read_only=True, salt=pii_salt(paths)) as con:
        tables = {
            f"{s}.{t}" for s, t in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables"
            ).fetchall()
        }  # fmt: skip
        for source in SOURCES.values():
            staging = f"staging.{source.table}"
            if staging not in tables or f"quarantine.{source.name}" not in tables:
                continue
            found = reconcile(con, paths, source)
            out.append(
                SourceCounts(
                    source=source.name,
                    raw_rows=parquet_row_count(raw_files(paths, source, None, None)),
                    raw_keys=found.raw_keys,
                    staged=found.staged,
                    quarantined=found.quarantined,
                    mismatched_days=len(found.mismatched),
                )
            )
    return out


@dataclass(frozen=True)
class Headline:
    """The latest published day, as BI sees it in the serving file."""

    day: str
    figures: dict[str, object]
    untrusted: list[tuple[str, str]]  # (source, notes) not trusted on that day
    silent: list[str]  # daily sources with no records that day
    published: str = ""  # when and by which run the serving file was last published
    held: list[Held] = field(default_factory=list)  # sources whose marts are held back


def headline(paths: DataPaths) -> Headline | None:
    """The latest day of `marts.kpi_daily` and `marts.data_trust` in the serving file."""
    if not paths.serving.exists():
        return None
    with sql.connect(paths.serving, read_only=True) as con:
        found = con.execute(
            "SELECT * EXCLUDE (_published_at) FROM marts.kpi_daily ORDER BY date DESC LIMIT 1"
        )
        columns = [d[0] for d in found.description]
        row = found.fetchall()
        if not row:
            return None
        figures = dict(zip(columns, row[0], strict=True))
        day = figures.pop("date")
        trust = con.execute(
            "SELECT source, trusted, coalesce(notes, ''), rows_loaded FROM marts.data_trust "
            "WHERE date = ? ORDER BY source",
            [day],
        ).fetchall()
        behind = held_sources(con)
        latest = con.execute(
            "SELECT strftime(published_at, '%Y-%m-%d %H:%M:%S UTC') || ', run ' || run_id "
            "FROM meta.publications ORDER BY published_at DESC LIMIT 1"
        ).fetchall()
    return Headline(
        day=str(day),
        figures=figures,
        untrusted=[(s, notes) for s, trusted, notes, _ in trust if not trusted],
        silent=[s for s, _, _, n in trust if n == 0 and SOURCES[s].daily],
        published=latest[0][0] if latest else "",
        held=behind,
    )
