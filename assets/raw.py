"""Raw layer: landing files into the hive-partitioned Parquet lake, one asset per source.

Every source has the same raw asset, built by `raw_asset`. Ingestion is per landing
file (a batch), so a run ingests every new file, whichever days it covers: the asset
has no daily partitions of its own (the lake is still partitioned by day, and staging's
partitions show each day). Partitions here would ask Dagster for two events per source
and day of a run (planned, materialised) that say nothing staging's do not.
"""

from datetime import date

import dagster as dg

from assets.metadata import on_newest_day
from assets.options import AssetOptions
from assets.partitions import run_days
from assets.policies import FRESH_DAILY, RAW
from productops import ledger
from productops.connectors.http import ConnectorError
from productops.ingest import ingest_source
from productops.sources import SOURCES, Source
from productops.staging import parquet_row_count, raw_files, raw_preview
from resources import API_RESOURCES, DataFolder, SourceApi

OWNERS = ["team:data-platform"]


def raw_key(source: Source) -> dg.AssetKey:
    return dg.AssetKey(["raw", source.name])


def raw_asset(source: Source, options: AssetOptions) -> dg.AssetsDefinition:
    api_keys = API_RESOURCES.get(source.name, ())  # the connector resources (one per channel)

    @dg.asset(
        key=raw_key(source),
        description=(
            f"Raw {source.name} records exactly as the vendor sent them, with provenance "
            f"(batch, file, record number, ingestion time). Source: `data/landing/{source.name}/`. "
            f"Grain: one row per record version; in the lake, under the record's creation day."
        ),
        group_name="raw",
        owners=OWNERS,
        kinds={"parquet", "python"},
        # No days, but one run for a range: `dagster asset materialize --partition-range`
        # runs a selection in one run only if every asset in it says so.
        backfill_policy=dg.BackfillPolicy.single_run(),
        retry_policy=dg.RetryPolicy(max_retries=2, delay=5, jitter=dg.Jitter.PLUS_MINUS),
        # One run at a time writes a source's lake (two workers would both take a new
        # landing file for theirs); sources still ingest side by side.
        pool=f"raw_lake_{source.name}",
        # Which connector a source needs differs by source, so resources are named here.
        required_resource_keys={"data", *api_keys},
        automation_condition=RAW,
        freshness_policy=FRESH_DAILY,
    )
    def _raw(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        data: DataFolder = context.resources.data
        paths = data.paths
        days = run_days(context, options.daily)
        apis = [getattr(context.resources, k) for k in api_keys]
        pulled, failed = _pull_channels(context, apis, first_day=days[0])
        start, end = days if source.daily else (None, None)
        report = ingest_source(paths, source, log=context.log)
        for result in pulled:  # the API pages were ingested as they came; count them too
            for part in result.reports or []:
                report.new.extend(part.new)
        rejected = [b for b in report.new if b.status == "rejected"]
        files = raw_files(paths, source, start, end)
        rows = parquet_row_count(files)
        preview = raw_preview(files)
        if start is not None:
            outside = {d for d in map(date.fromisoformat, report.dates) if not start <= d <= end}
            if outside:
                context.log.info(
                    f"New batches also hold records for {len(outside)} day(s) outside this run "
                    f"({ledger.describe(outside)}); staging merges them in this run too."
                )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": int(rows),
                "new_batches": len(report.new),
                "new_records": report.rows,
                "duplicate_files": dg.MetadataValue.json(report.duplicates),
                "refused_files": dg.MetadataValue.json(report.refused),
                "rejected_files": dg.MetadataValue.json(
                    [{"file": b.file, "reason": b.reason} for b in rejected]
                ),
                "lake_files_in_window": len(files),
                "api_pages_pulled": sum(r.pages for r in pulled),
                "api_records_pulled": sum(r.records for r in pulled),
                "api_channels_failed": dg.MetadataValue.json(failed),
                # Provenance only: raw records hold personal data, which the UI must not show.
                **on_newest_day(context, {"preview": dg.MetadataValue.md(preview)}),
            }
        )

    return _raw


def _pull_channels(
    context: dg.AssetExecutionContext, apis: list[SourceApi], first_day: date
) -> tuple[list, list[str]]:
    """Pull every configured API of the source; (what was pulled, the errors of those that failed).

    A source with several channels (social) goes on when one channel's API fails: its
    error is logged and kept in the metadata, its committed cursor makes the next run
    resume there, and the other channels' records flow. When every API that was tried
    failed, the step fails: the client already retried within its time budget (or the
    credentials were refused), so a step retry would only repeat that.
    """
    pulled, failed, tried = [], [], 0
    data: DataFolder = context.resources.data
    for api in apis:
        try:
            results = api.pull(data.paths, first_day, context.log)
        except ConnectorError as exc:
            tried += 1
            failed.append(str(exc))
            context.log.error(f"{type(api).__name__} failed, the other channels go on: {exc}")
            continue
        tried += 1 if results else 0
        pulled += results
    if failed and len(failed) == tried:
        raise dg.Failure(description="; ".join(failed), allow_retries=False)
    return pulled, failed


def raw_assets(options: AssetOptions) -> list[dg.AssetsDefinition]:
    return [raw_asset(s, options) for s in SOURCES.values()]
