"""Quality checks on every staging table: a gate per severity, each rule in its metadata.

Each table's suite is one `@multi_asset_check` step that evaluates every rule once (GX
validates the rows in one call) and reports two checks: `quality_gate` (the ERROR rules,
`blocking=True`, so Dagster skips the metric marts when one fails) and
`quality_warnings` (the WARN rules). Each rule's outcome is in the result's metadata
and in its own per-day rows of `quality.check_results` (`productops.quality.gate` says
why the rules are folded). The three key marts have one `metrics_consistent` check each.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime

import dagster as dg
import duckdb

from assets.marts import mart_key
from assets.options import AssetOptions
from assets.partitions import window_dates
from assets.staging import staging_key
from productops import ledger, overrides
from productops.quality import engine, results
from productops.quality.gate import GATE, GATE_SEVERITY, WARNINGS, Gate, gates
from productops.quality.mart_suites import MART_SUITES, evaluate_mart
from productops.quality.suites import SUITES, TableSuite
from productops.staging import days_of
from resources import DuckDBWarehouse


def _over_several_days(context: dg.AssetCheckExecutionContext) -> bool:
    """A run over a range of days; for one day Dagster files the returned result under it."""
    return context.has_partition_key_range and not context.has_partition_key


def report_failed_days(
    context: dg.AssetCheckExecutionContext,
    asset_key: dg.AssetKey,
    gate: Gate,
    severity: dg.AssetCheckSeverity,
) -> None:
    """In a run over several days, one more check evaluation for each day that failed, on
    that day's partition, naming the rules that failed that day.

    Dagster files the result a step over several days returns under no partition, and
    its UI shows a partitioned check's status per day only for a result that points at
    that day's materialization, which no public API lets a step set (Dagster 1.13). So
    after a backfill the check's partitions show no status (README: the UI); the returned
    result says how many days passed and lists the failed ones, and each failed day is in
    the check's history under its partition. Days that passed get no event of their own:
    a check result is the costliest event Dagster stores, and a backfill would store one
    per check and day for nothing the UI shows.
    """
    if not _over_several_days(context) or gate.passed:
        return
    for verdict in (v for v in gate.days() if v.day is not None and not v.passed):
        context.op_execution_context.log_event(
            dg.AssetCheckEvaluation(
                asset_key=asset_key, check_name=gate.name, passed=False,
                metadata={"failed_rules": dg.MetadataValue.json([r.name for r in verdict.failed]),
                          "unexpected_count": verdict.unexpected_count,
                          "examples": dg.MetadataValue.json(verdict.examples)},
                severity=severity, description=verdict.description,
                blocking=severity == dg.AssetCheckSeverity.ERROR, partition=verdict.day.isoformat(),
            )
        )  # fmt: skip


def _severity(gate_name: str) -> dg.AssetCheckSeverity:
    error = GATE_SEVERITY[gate_name] == "ERROR"
    return dg.AssetCheckSeverity.ERROR if error else dg.AssetCheckSeverity.WARN


def _rules_of(suite: TableSuite) -> dict[str, list[str]]:
    """Each gate of the table and the rules (check families) it folds together."""
    names = engine.check_names(suite)
    out = {
        g: [n for n in names if engine.CHECKS[n].severity == s] for g, s in GATE_SEVERITY.items()
    }
    return {g: rules for g, rules in out.items() if rules}


def _spec(
    suite: TableSuite, gate_name: str, rules: list[str], options: AssetOptions
) -> dg.AssetCheckSpec:
    listed = "; ".join(
        f"`{n}`: {engine.CHECKS[n].description} Threshold: {engine.CHECKS[n].threshold}."
        for n in rules
    )
    blocking = GATE_SEVERITY[gate_name] == "ERROR"
    effect = "Any failure blocks the metric marts." if blocking else "A failure informs."
    return dg.AssetCheckSpec(
        gate_name,
        asset=staging_key(suite.source),
        description=f"{effect} Rules ({GATE_SEVERITY[gate_name]}), each one's outcome in the "
        f"result's metadata: {listed}",
        blocking=blocking,
        partitions_def=options.daily if suite.source.daily else None,
    )


def staging_checks(suite: TableSuite, options: AssetOptions) -> dg.AssetChecksDefinition:
    rules_of = _rules_of(suite)

    @dg.multi_asset_check(
        name=f"staging__{suite.source.table}_checks",
        specs=[_spec(suite, name, rules, options) for name, rules in rules_of.items()],
        description=f"The quality suite of {suite.table}, evaluated once: its ERROR rules "
        f"as `{GATE}`, its WARN rules as `{WARNINGS}`.",
        can_subset=True,
        pool=options.warehouse_pool,
    )
    def _checks(
        context: dg.AssetCheckExecutionContext, warehouse: DuckDBWarehouse
    ) -> Iterator[dg.AssetCheckResult]:
        start, end = window_dates(context) if suite.source.daily else (None, None)
        chosen = {key.name for key in context.selected_asset_check_keys}
        names = [n for g, rules in rules_of.items() if g in chosen for n in rules]
        with warehouse.connect() as con:
            outcomes = _evaluate(context, con, warehouse, suite, (start, end), names)
            if suite.source.daily:
                _check_restaged(context, con, warehouse, suite, (start, end))
        for gate in gates(suite.table, {n: outcomes[n] for n in names}).values():
            yield _result(context, suite, gate)

    return _checks


def _evaluate(
    context: dg.AssetCheckExecutionContext,
    con: duckdb.DuckDBPyConnection,
    warehouse: DuckDBWarehouse,
    suite: TableSuite,
    window: tuple[date | None, date | None],
    names: list[str],
) -> dict[str, results.CheckOutcome]:
    """Evaluate the suite on the window and record the `names` rules' results: every rule
    keeps its own rows (data_trust reads them), in one insert."""
    outcomes = engine.evaluate(con, warehouse.paths, suite, *window, datetime.now(UTC))
    described = [(outcomes[n], outcomes[n].describe(f"{suite.table} {n}")) for n in names]
    results.record(
        con, described, run_id=context.run.run_id,
        asset=staging_key(suite.source).to_user_string(), source=suite.source.name,
        checked_at=datetime.now(UTC),
    )  # fmt: skip
    return outcomes


def _check_restaged(
    context: dg.AssetCheckExecutionContext,
    con: duckdb.DuckDBPyConnection,
    warehouse: DuckDBWarehouse,
    suite: TableSuite,
    window: tuple[date, date],
) -> None:
    """Evaluate every rule on the earlier days staging re-staged in this run (a file
    delivered again, a late batch), and record the results.

    A day fixed by a new delivery is trusted again, and its source's marts rebuild it
    through the change log; a day broken late is blocked from then on (left out of the
    metrics). The run's own verdict stays that of its window: holding today's metrics
    back for an earlier day would hold them hostage.
    """
    # Days after the window wait for the run that covers them; a day a person accepted
    # stays accepted (`productops accept --undo` takes it back), whatever arrives later.
    unchecked = ledger.unchecked_days(con, suite.source.name)
    if not unchecked:
        return
    accepted = overrides.accepted_days(con, suite.source.name)
    days = {d for d in unchecked if d < window[0]} - accepted
    if days:
        names = engine.check_names(suite)
        failed: set[date] = set()
        for window_of_days in ledger.day_ranges(days):
            outcomes = _evaluate(context, con, warehouse, suite, window_of_days, names)
            failed |= {d.day for o in outcomes.values() if o.severity == "ERROR"
                       for d in o.failed_days if d.day is not None}  # fmt: skip
        held = f"; failed a blocking rule: {ledger.describe(failed)}" if failed else ""
        context.log.info(
            f"Checked {len(days)} earlier day(s) of {suite.table} that this run re-staged: "
            f"{ledger.describe(days)}{held}"
        )
    done = (days | accepted | set(days_of(*window))) & unchecked
    if done:
        ledger.record_checked(con, suite.source.name, done)


def _result(
    context: dg.AssetCheckExecutionContext, suite: TableSuite, gate: Gate
) -> dg.AssetCheckResult:
    """Report one gate's outcome to Dagster (and each failed day of a multi-day run)."""
    asset, severity = staging_key(suite.source), _severity(gate.name)
    if suite.source.daily:
        report_failed_days(context, asset, gate, severity)
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=gate.name,
        passed=gate.passed,
        severity=severity,
        description=gate.describe(),
        metadata={
            k: dg.MetadataValue.json(v) if isinstance(v, list | dict) else v
            for k, v in gate.metadata().items()
        },
    )


def all_staging_checks(options: AssetOptions) -> list[dg.AssetChecksDefinition]:
    return [staging_checks(suite, options) for suite in SUITES.values()]


def mart_check(table: str, options: AssetOptions) -> dg.AssetChecksDefinition:
    suite = MART_SUITES[table]

    @dg.asset_check(
        asset=mart_key(table),
        name="metrics_consistent",
        description=f"The invariants of marts.{table} hold (ranges, and counts that must add up). "
        "Severity: ERROR (blocks publishing).",
        blocking=True,
        partitions_def=options.daily,
        pool=options.warehouse_pool,
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: DuckDBWarehouse
    ) -> dg.AssetCheckResult:
        start, end = window_dates(context)
        with warehouse.connect() as con:
            outcome = evaluate_mart(con, suite, start, end)
            description = outcome.describe(f"marts.{table} metrics_consistent")
            results.record(
                con, [(outcome, description)], run_id=context.run.run_id,
                asset=mart_key(table).to_user_string(), source=f"marts.{table}",
                checked_at=datetime.now(UTC),
            )  # fmt: skip
        gate = Gate("metrics_consistent", f"marts.{table}", [outcome])
        report_failed_days(context, mart_key(table), gate, dg.AssetCheckSeverity.ERROR)
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


def mart_checks(options: AssetOptions) -> list[dg.AssetChecksDefinition]:
    return [mart_check(t, options) for t in MART_SUITES]
