"""Staging layer: typed, deduplicated, PII-safe tables in DuckDB, one asset per source.

Each asset reads only its raw asset. Rejected records go to `quarantine.<source>`
with the rule and a reason naming the file, record and field. A daily staging asset also
waits for the raw assets of every source that names people: it redacts their names
wherever they appear in its free text, so they must be known before it runs.
"""

import dagster as dg

from assets.metadata import (
    column_schema,
    markdown_preview,
    on_newest_day,
    report_late_partitions,
)
from assets.options import AssetOptions
from assets.partitions import window_dates
from assets.policies import FOLLOW, FRESH_DAILY
from assets.raw import OWNERS, raw_key
from productops import ledger
from productops.printable import printable
from productops.sources import SOURCES, Source
from productops.staging import build_staging
from resources import DuckDBWarehouse


def staging_key(source: Source) -> dg.AssetKey:
    return dg.AssetKey(["staging", source.table])


def _name_sources(source: Source) -> list[dg.AssetKey]:
    """Raw assets whose people's names `source`'s staging redacts. A snapshot source (not
    daily) waits only for other snapshots: it would otherwise be rebuilt each time a
    daily source ingests."""
    return [
        raw_key(other)
        for other in SOURCES.values()
        if other is not source and other.people and (source.daily or not other.daily)
    ]


def staging_asset(source: Source, options: AssetOptions) -> dg.AssetsDefinition:
    @dg.asset(
        key=staging_key(source),
        deps=[raw_key(source), *_name_sources(source)],
        description=(
            f"{source.description} Typed, UTC, HTML stripped, people as salted hashes, "
            f"e-mails and phone numbers redacted. Source: `raw/{source.name}`. "
            f"Grain: {source.grain}. Rejected records: `quarantine.{source.name}`."
        ),
        group_name="staging",
        owners=OWNERS,
        kinds={"duckdb", "sql"},
        partitions_def=options.daily if source.daily else None,
        backfill_policy=dg.BackfillPolicy.single_run() if source.daily else None,
        pool=options.warehouse_pool,
        automation_condition=FOLLOW,
        freshness_policy=FRESH_DAILY,
    )
    def _staging(
        context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse
    ) -> dg.MaterializeResult:
        start, end = window_dates(context) if source.daily else (None, None)
        table = f"staging.{source.table}"
        with warehouse.connect() as con:
            result = build_staging(con, warehouse.paths, source, start, end)
            where, params = ("date BETWEEN ? AND ?", [start, end]) if start else ("true", [])
            examples = con.execute(
                f"SELECT reason FROM quarantine.{source.name} WHERE {where} ORDER BY file, record_no LIMIT 5",
                params,
            ).fetchall()
            preview = markdown_preview(con, f"SELECT * FROM {table} WHERE {where} LIMIT 5", params)
            schema = column_schema(con, table)
        if result.late_days:
            context.log.info(
                f"Late batches touched {len(result.late_days)} earlier day(s), re-staged too: "
                f"{ledger.describe(result.late_days)}"
            )
            report_late_partitions(context, result.late_days, "late batch in raw")
        if result.recreated:
            context.log.warning(
                f"{table} changed shape (a new productops version): rebuilt from every day "
                "of the raw lake."
            )
        if result.quarantined:
            context.log.warning(
                f"{result.quarantined} {source.name} record(s) quarantined "
                f"({', '.join(f'{k}: {v}' for k, v in result.by_rule.items())}). For example: "
                + "; ".join(printable(r) for (r,) in examples)
            )
        table_wide = {"dagster/column_schema": schema, "preview": dg.MetadataValue.md(preview)}
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.staged,
                "quarantined": result.quarantined,
                "quarantined_by_rule": dg.MetadataValue.json(result.by_rule),
                "raw_rows_read": result.raw_rows,
                "late_days_restaged": len(result.late_days),
                **on_newest_day(context, table_wide),
            }
        )

    return _staging


def staging_assets(options: AssetOptions) -> list[dg.AssetsDefinition]:
    return [staging_asset(s, options) for s in SOURCES.values()]
