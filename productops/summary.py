"""What the data folder holds now: rows per layer, quarantine, reconciliation."""

from __future__ import annotations

from dataclasses import dataclass

from productops import sql
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

    @property
    def reconciled(self) -> bool:
        return self.raw_keys == self.staged + self.quarantined


def source_counts(paths: DataPaths) -> list[SourceCounts]:
    """Counts over everything the lake and warehouse hold (read-only)."""
    out = []
    if not paths.warehouse.exists():
        return out
    with sql.connect(paths.warehouse, read_only=True, salt=pii_salt(paths)) as con:
        tables = {
            f"{s}.{t}" for s, t in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables"
            ).fetchall()
        }  # fmt: skip
        for source in SOURCES.values():
            staging = f"staging.{source.table}"
            if staging not in tables or f"quarantine.{source.name}" not in tables:
                continue
            counts = reconcile(con, paths, source, None, None)
            out.append(
                SourceCounts(
                    source=source.name,
                    raw_rows=parquet_row_count(raw_files(paths, source, None, None)),
                    raw_keys=counts["raw_keys"],
                    staged=counts["staged"],
                    quarantined=counts["quarantined"],
                )
            )
    return out
