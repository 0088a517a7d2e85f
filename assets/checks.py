"""Quality checks on every staging table: one Dagster asset check per check family.

Each table's families are one `@multi_asset_check`: one step evaluates the whole suite
once (GX validates it in one call) and reports every family as its own check, ERROR
families `blocking=True`, so Dagster skips the metric marts downstream when one fails.
One step per table instead of one per family: 46 check steps became 8 (with the three
marts' checks), and each step's start, output and end events with them. Each family
writes its own per-day rows to `quality.check_results`.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from assets.marts import mart_key
from assets.staging import WAREHOUSE_POOL, staging_key
from pipelines.partitions import DAILY
from productops.quality import engine, results
from productops.quality.mart_suites import MART_SUITES, evaluate_mart
from productops.quality.results import CheckOutcome
from productops.quality.suites import SUITES, TableSuite
from resources import DuckDBWarehouse


def _window(
    context: dg.AssetCheckExecutionContext, suite: TableSuite
) -> tuple[date | None, date | None]:
    if not suite.source.daily:
        return None, None
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()


def _reports_per_day(context: dg.AssetCheckExecutionContext) -> bool:
    """A run over a range of days; for one day Dagster files the returned result under it."""
    return context.has_partition_key_range and not context.has_partition_key


def report_per_day(
    context: dg.AssetCheckExecutionContext,
    asset_key: dg.AssetKey,
    outcome: CheckOutcome,
    severity: dg.AssetCheckSeverity,
    blocking: bool,
) -> None:
    """One check evaluation per day of a multi-day run, on that day's partition.

    A run over a range of days returns one result that Dagster files under no partition,
    so the UI showed every partitioned check as not run ("0 / 9 passed") after a
    backfill that passed them all. Each day's own outcome is logged on its partition
    through the step's public `log_event`.
    """
    if not _reports_per_day(context):
        return
    for day in (d for d in outcome.days if d.day is not None):
        key = day.day.isoformat()
        context.op_execution_context.log_event(
            dg.AssetCheckEvaluation(
                asset_key=asset_key, check_name=outcome.name, passed=day.passed,
                metadata={"observed": day.observed if day.observed is not None else 0.0,
                          "unexpected_count": day.unexpected_count},
                severity=severity, description=day.detail or f"{outcome.name} passed on {key}",
                blocking=blocking, partition=key,
            )
        )  # fmt: skip


def _severity(name: str) -> dg.AssetCheckSeverity:
    error = engine.CHECKS[name].severity == "ERROR"
    return dg.AssetCheckSeverity.ERROR if error else dg.AssetCheckSeverity.WARN


def _spec(suite: TableSuite, name: str) -> dg.AssetCheckSpec:
    info = engine.CHECKS[name]
    return dg.AssetCheckSpec(
        name,
        asset=staging_key(suite.source),
        description=f"{info.description} Threshold: {info.threshold}. Severity: {info.severity}"
        + (" (blocks the metric marts)." if info.severity == "ERROR" else " (informs)."),
        blocking=info.severity == "ERROR",
        partitions_def=DAILY if suite.source.daily else None,
    )


def staging_checks(suite: TableSuite) -> dg.AssetChecksDefinition:
    names = engine.check_names(suite)

    @dg.multi_asset_check(
        name=f"staging__{suite.source.table}_checks",
        specs=[_spec(suite, name) for name in names],
        description=f"The quality suite of {suite.table}: every check family in one evaluation.",
        can_subset=True,
        pool=WAREHOUSE_POOL,
    )
    def _checks(
        context: dg.AssetCheckExecutionContext, warehouse: DuckDBWarehouse
    ) -> Iterator[dg.AssetCheckResult]:
        start, end = _window(context, suite)
        chosen = {key.name for key in context.selected_asset_check_keys}
        selected = [name for name in names if name in chosen]
        with warehouse.connect() as con:
            outcomes = engine.evaluate(con, warehouse.paths, suite, start, end, datetime.now(UTC))
            # The families' rows are written in one insert.
            described = [
                (outcomes[n], outcomes[n].describe(f"{suite.table} {n}")) for n in selected
            ]
            results.record(
                con, described, run_id=context.run.run_id,
                asset=staging_key(suite.source).to_user_string(), source=suite.source.name,
                checked_at=datetime.now(UTC),
            )  # fmt: skip
        yield from (_result(context, suite, o, d) for o, d in described)

    return _checks


def _result(
    context: dg.AssetCheckExecutionContext,
    suite: TableSuite,
    outcome: CheckOutcome,
    description: str,
) -> dg.AssetCheckResult:
    """Report one family's outcome to Dagster (per day, for a multi-day run)."""
    name, asset = outcome.name, staging_key(suite.source)
    info, severity = engine.CHECKS[name], _severity(name)
    if suite.source.daily:
        report_per_day(context, asset, outcome, severity, info.severity == "ERROR")
    worst = outcome.worst
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=name,
        passed=outcome.passed,
        severity=severity,
        description=description,
        metadata={
            "observed": worst.observed if worst and worst.observed is not None else 0.0,
            "threshold": info.threshold,
            "unexpected_count": outcome.unexpected_count,
            "unexpected_percent": (worst.unexpected_percent or 0.0) if worst else 0.0,
            "days_checked": len(outcome.days),
            "failed_days": dg.MetadataValue.json(
                [d.day.isoformat() if d.day else "all" for d in outcome.failed_days][:31]
            ),
            "examples": dg.MetadataValue.json(outcome.examples),
        },
    )


STAGING_CHECKS = [staging_checks(suite) for suite in SUITES.values()]


def mart_check(table: str) -> dg.AssetChecksDefinition:
    suite = MART_SUITES[table]

    @dg.asset_check(
        asset=mart_key(table),
        name="metrics_consistent",
        description=f"The invariants of marts.{table} hold (ranges, and counts that must add up). "
        "Severity: ERROR (blocks publishing).",
        blocking=True,
        partitions_def=DAILY,
        pool=WAREHOUSE_POOL,
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: DuckDBWarehouse
    ) -> dg.AssetCheckResult:
        window = context.partition_time_window
        start, end = window.start.date(), (window.end - timedelta(days=1)).date()
        with warehouse.connect() as con:
            outcome = evaluate_mart(con, suite, start, end)
            description = outcome.describe(f"marts.{table} metrics_consistent")
            results.record(
                con, [(outcome, description)], run_id=context.run.run_id,
                asset=mart_key(table).to_user_string(), source=f"marts.{table}",
                checked_at=datetime.now(UTC),
            )  # fmt: skip
        report_per_day(context, mart_key(table), outcome, dg.AssetCheckSeverity.ERROR, True)
        return dg.AssetCheckResult(
            passed=outcome.passed,
            description=description,
            metadata={
                "unexpected_count": outcome.unexpected_count,
                "days_checked": len(outcome.days),
                "examples": dg.MetadataValue.json(outcome.examples),
            },
        )

    return _check


MART_CHECKS = [mart_check(t) for t in MART_SUITES]
