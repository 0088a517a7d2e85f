"""Serving: the contract's tables published to `data/serving.duckdb` for BI tools."""

from datetime import UTC, date, datetime

import dagster as dg
import duckdb

from assets.marts import MARTS_CODE_VERSION, mart_key
from assets.options import AssetOptions
from assets.policies import COMBINE
from assets.raw import OWNERS
from productops import held, lakehouse
from productops.marts import CONTRACT_TABLES, ensure_tables
from productops.range_tags import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from productops.serving import REPUBLISH_TAG, STORAGE_VERSION, publish
from resources import DataFolder, DuckDBWarehouse


def _window(run: dg.DagsterRun) -> tuple[date, date] | None:
    """The days the run materialised (its range tags, or its one partition), if it says."""
    tags = run.tags
    start = tags.get(PARTITION_RANGE_START_TAG) or tags.get("dagster/partition")
    end = tags.get(PARTITION_RANGE_END_TAG) or start
    if start and end:
        return date.fromisoformat(start), date.fromisoformat(end)
    return None


def _previously_held(path) -> dict[str, date]:
    """source -> held_since in the serving file's current publication."""
    if not path.exists():
        return {}
    with duckdb.connect(str(path), read_only=True) as con:
        return {h.source: h.since for h in held.published(con)}


def serving_assets(options: AssetOptions) -> list[dg.AssetsDefinition]:
    """The publication BI reads and the report built from it."""

    @dg.asset(
        key=dg.AssetKey(["serving", "publication"]),
        deps=[mart_key(t) for t in CONTRACT_TABLES],
        description=(
            "The serving database BI tools read (data/serving.duckdb): every contract table, "
            "published all at once by building a new file and renaming it into place, plus "
            "meta.publications and meta.held_sources. A source whose blocking check failed "
            "keeps its own marts as last published (held); every other table is published "
            "fresh. Source: the marts. Grain: one file per publication."
        ),
        group_name="serving",
        owners=OWNERS,
        kinds={"duckdb"},
        pool=options.warehouse_pool,
        automation_condition=COMBINE,
    )
    def publication(
        context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse
    ) -> dg.MaterializeResult:
        # Every table is published from the warehouse, whose marts are built from trusted
        # source-days only, except the held ones: the marts of a source that failed a
        # blocking check on a day of this run (Dagster did not rebuild them), and a mart
        # whose own check failed. Decided from the warehouse, not from which run built
        # what, so that a publication in a run of its own (the daemon's, the follow-up
        # after a failed check, a second worker's) holds back the same tables.
        republish_all = context.run.tags.get(REPUBLISH_TAG) == "all"  # after a withdrawal
        snapshot: int | None = None
        with warehouse.connect() as con:
            ensure_tables(con)
            lake = lakehouse.Lakehouse.from_env()
            if lake:  # one consistent state of a warehouse other workers may be writing
                snapshot = lake.attach_snapshot(con, "published_snapshot")
            window = _window(context.run) or held.latest_judged_day(con)
            failed = {} if republish_all else held.failed_mart_checks(con, window)
            keep = frozenset() if republish_all else held.blocked_tables(con, window)
            keep |= frozenset(failed)
            behind = held.held_sources(con, keep, window, _previously_held(warehouse.paths.serving))
            pub = publish(
                con,
                warehouse.paths.serving,
                run_id=context.run.run_id,
                published_at=datetime.now(UTC),
                versions={"code": MARTS_CODE_VERSION, "taxonomy": options.taxonomy_version},
                keep_previous=keep,
                held=behind,
                failed_checks=failed,
                catalog="published_snapshot" if lake else None,
            )
        for source in behind:
            context.log.warning(source.sentence())
        if pub.kept_from_previous:
            context.log.warning("Kept as last published: " + ", ".join(pub.kept_from_previous))
        context.log.info(f"Published {sum(pub.row_counts.values())} rows to {pub.path}")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": sum(pub.row_counts.values()),
                "publication_id": pub.publication_id,
                "path": dg.MetadataValue.path(str(pub.path)),
                "storage_version": STORAGE_VERSION,
                "row_counts": dg.MetadataValue.json(pub.row_counts),
                "preview": dg.MetadataValue.md(
                    "| table | rows |\n|---|---|\n"
                    + "\n".join(f"| marts.{t} | {n} |" for t, n in pub.row_counts.items())
                ),
                "kept_from_previous": dg.MetadataValue.json(pub.kept_from_previous),
                "held_sources": dg.MetadataValue.json(
                    {
                        h.source: {"since": h.since.isoformat(), "tables": list(h.tables)}
                        for h in behind
                    }
                ),
                **({"ducklake_snapshot": snapshot} if snapshot is not None else {}),
            }
        )

    @dg.asset(
        key=dg.AssetKey(["serving", "report"]),
        deps=[publication],
        description=(
            "The report a Product Ops lead reads: data/reports/productops-<date>.html, one "
            "self-contained page (no JavaScript, no CDN) with five charts and a computed "
            "sentence each: 28-day NPS with its margin and the changes beyond it, emerging "
            "themes, social spikes and sentiment, tool adoption and unused seats, data trust; "
            "and the alerts of its 13 weeks, which alerts link to. Source: the serving file, "
            "as BI reads it. Grain: the latest published day, plus one earlier day per 13 "
            "weeks of alerts no report covers yet (a long backfill)."
        ),
        group_name="serving",
        owners=OWNERS,
        kinds={"html"},
        automation_condition=COMBINE,
    )
    def report(context: dg.AssetExecutionContext, data: DataFolder) -> dg.MaterializeResult:
        # Imported here: Altair takes 0.2 s to import, and every process that loads the
        # definitions (code servers, the daemon, each run) paid it, not only this step.
        from productops.report import NothingPublished, build_reports

        try:
            *earlier, built = build_reports(data.paths.serving, data.paths.reports)
        except NothingPublished as exc:  # any other error fails the step: alerts wait on it
            context.log.warning(f"No report: {exc}")
            return dg.MaterializeResult(metadata={"skipped": str(exc)})
        if earlier:
            context.log.info(
                "Reports for alert days no report covered: "
                + ", ".join(str(r.day) for r in earlier)
            )
        context.log.info(f"Report for {built.day}: {built.path}")
        headline = "\n".join(f"- {s.sentences[0]}" for s in built.sections if s.sentences)
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(built.path)),
                "open": dg.MetadataValue.url(built.path.resolve().as_uri()),
                "day": built.day.isoformat(),
                "charts": built.charts,
                "bytes": built.path.stat().st_size,
                "findings": dg.MetadataValue.md(headline),
                "earlier_days": dg.MetadataValue.json([r.day.isoformat() for r in earlier]),
            }
        )

    return [publication, report]
