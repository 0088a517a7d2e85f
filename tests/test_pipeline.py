"""The whole graph on the sample company: counts reconcile, nothing personal leaks, re-runs are idempotent."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.runner import materialise
from productops import sql
from productops.sample import write_sample
from productops.sample.company import build_company
from productops.settings import data_paths
from productops.sources import SOURCES
from productops.staging import reconcile
from tests.conftest import SALT, SAMPLE_DAYS, SAMPLE_END, SAMPLE_SCALE, SampleRun

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sample_run")]
# A second opinion, independent of productops.pii: North American and E.164 numbers.
PHONE_RE = r"(\+[0-9]{1,3}[ .-]?)?\(?\b[0-9]{3}\)?[ .-]?[0-9]{3}[ .-]?[0-9]{4}\b|\+[0-9]{8,15}\b"


def _table_fingerprints(path: Path) -> dict[str, tuple]:
    with sql.connect(path, read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema IN ('staging', 'quarantine', 'marts') ORDER BY 1"
        ).fetchall()
        return {
            t: con.execute(f"SELECT count(*), sum(hash(COLUMNS(*))) FROM {t}").fetchone()
            for (t,) in tables
        }


def test_every_source_reconciles_raw_keys_with_staging_plus_quarantine(
    sample_run: SampleRun,
) -> None:
    with sql.connect(sample_run.paths.warehouse, read_only=True) as con:
        for source in SOURCES.values():
            found = reconcile(con, sample_run.paths, source)
            assert found.staged > 0, source.name
            assert found.ok, (source.name, found.mismatched)
            assert found.raw_keys == found.staged + found.quarantined, source.name


def test_sample_mess_is_quarantined_with_reasons_and_no_bad_row_is_staged(
    sample_run: SampleRun,
) -> None:
    with sql.connect(sample_run.paths.warehouse, read_only=True) as con:
        rules = {
            (s, r)
            for s, r in con.execute(
                "SELECT source, rule FROM quarantine.nps UNION SELECT source, rule FROM quarantine.feedback "
                "UNION SELECT source, rule FROM quarantine.tool_usage UNION SELECT source, rule FROM quarantine.licences"
            ).fetchall()
        }
        for expected in [("nps", "score_out_of_range"), ("nps", "missing_id"), ("feedback", "missing_id"),
                         ("tool_usage", "unparseable_timestamp"), ("licences", "seats_invalid")]:  # fmt: skip
            assert expected in rules
        bad_reasons = con.execute(
            "SELECT reason FROM quarantine.nps WHERE NOT regexp_matches(reason, "
            "'^landing/nps/\\S+ record \\d+: field \\S+ = ')"
        ).fetchall()
        assert bad_reasons == []
        assert con.execute(
            "SELECT count(*) FROM staging.nps_responses WHERE score NOT BETWEEN 0 AND 10 "
            "OR response_id IS NULL OR responded_at IS NULL"
        ).fetchone() == (0,)
        assert con.execute(
            "SELECT count(*) FROM staging.tool_events WHERE event_id IS NULL OR tool IS NULL"
        ).fetchone() == (0,)


def test_no_email_phone_or_generated_name_in_any_staging_table(sample_run: SampleRun) -> None:
    company = build_company(7, SAMPLE_SCALE, SAMPLE_END, SAMPLE_DAYS)
    names = sorted(set(company.customers["name"]) | set(company.employees["name"]))
    with sql.connect(sample_run.paths.warehouse, read_only=True) as con:
        con.execute("CREATE TEMP TABLE names AS SELECT unnest(?::VARCHAR[]) AS name", [names])
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'staging' AND data_type IN ('VARCHAR', 'VARCHAR[]')"
        ).fetchall()
        assert len(columns) > 20
        for table, column in columns:
            text = f"CAST({column} AS VARCHAR)"
            # Numeric ids and hashes may look like phone numbers; they are checked for the rest.
            is_id = column.endswith(("_id", "_key"))
            phone = "false" if is_id else f"regexp_matches({text}, '{PHONE_RE}')"
            leaks = con.execute(
                f"""SELECT {text} FROM staging.{table}
                    WHERE regexp_matches({text}, '{sql.EMAIL_RE}') OR {phone}
                       OR EXISTS (SELECT 1 FROM names WHERE contains({text}, name))
                    LIMIT 3"""
            ).fetchall()
            assert leaks == [], f"staging.{table}.{column}: {leaks}"


def test_rematerialising_the_window_gives_identical_tables(
    sample_run: SampleRun, tmp_path: Path
) -> None:
    root = tmp_path / "data"
    shutil.copytree(sample_run.paths.root, root)
    before = _table_fingerprints(root / "warehouse.duckdb")
    with pytest.MonkeyPatch.context() as mp, dg.DagsterInstance.ephemeral() as instance:
        mp.setenv("PRODUCTOPS_DATA_DIR", str(root))
        mp.setenv("PRODUCTOPS_PII_SALT", SALT)
        outcome = materialise(sample_run.start, sample_run.end, instance=instance)
    assert outcome.success, outcome.errors
    assert _table_fingerprints(root / "warehouse.duckdb") == before


def test_a_new_sample_flows_through_and_still_reconciles(
    sample_run: SampleRun, tmp_path: Path
) -> None:
    root = tmp_path / "data"
    shutil.copytree(sample_run.paths.root, root)
    paths = data_paths(root)
    with sql.connect(paths.warehouse, read_only=True) as con:
        before = con.execute("SELECT count(*) FROM staging.nps_responses").fetchone()[0]
    with pytest.MonkeyPatch.context() as mp, dg.DagsterInstance.ephemeral() as instance:
        mp.setenv("PRODUCTOPS_DATA_DIR", str(root))
        mp.setenv("PRODUCTOPS_PII_SALT", SALT)
        write_sample(paths, seed=8, scale=SAMPLE_SCALE, days=SAMPLE_DAYS, end=SAMPLE_END)
        outcome = materialise(sample_run.start, sample_run.end, instance=instance)
    assert outcome.success, outcome.errors
    with sql.connect(paths.warehouse, read_only=True) as con:
        after = con.execute("SELECT count(*) FROM staging.nps_responses").fetchone()[0]
        assert after > before * 1.8
        for source in SOURCES.values():
            found = reconcile(con, paths, source)
            assert found.ok and found.raw_keys == found.staged + found.quarantined, source.name


def test_raw_lake_is_hive_partitioned_by_day(sample_run: SampleRun) -> None:
    """Records sit under their creation day; the few whose time cannot be believed sit
    under the day they arrived, where staging quarantines them."""
    window = {f"date={sample_run.start + timedelta(days=k)}" for k in range(SAMPLE_DAYS)}
    days = {p.name for p in (sample_run.paths.raw / "nps").iterdir()}
    assert window <= days and all(d.startswith("date=") for d in days)
    with duckdb.connect(str(sample_run.paths.warehouse), read_only=True) as con:
        outside = {
            f"date={d}"
            for (d,) in con.execute(
                "SELECT DISTINCT date FROM quarantine.nps WHERE date NOT BETWEEN ? AND ?",
                [sample_run.start, sample_run.end],
            ).fetchall()
        }
        staged_outside = con.execute(
            "SELECT count(*) FROM staging.nps_responses WHERE date NOT BETWEEN ? AND ?",
            [sample_run.start, sample_run.end],
        ).fetchone()[0]
    assert days - window == outside and staged_outside == 0
    n = duckdb.execute(
        f"SELECT count(DISTINCT date) FROM read_parquet('{sample_run.paths.raw}/nps/*/*.parquet', "
        "hive_partitioning = true)"
    ).fetchone()[0]
    assert n == len(days)


def test_a_multi_day_run_reports_each_check_once_and_each_failed_day_on_its_own(
    sample_run: SampleRun,
) -> None:
    """One result per check for the run's days (Dagster files it under no partition), and
    one more on each day that failed, naming that day's failed rules; a passed day gets no
    event of its own (assets/checks.py says why)."""
    from pipelines.definitions import current_definitions

    days = (sample_run.end - sample_run.start).days + 1
    graph = current_definitions().resolve_asset_graph()
    partitioned = {k for k in graph.asset_check_keys if graph.get(k.asset_key).partitions_def}
    assert len(partitioned) == 11
    whole = {k: meta for k, part, _, meta in sample_run.check_results if part is None}
    assert partitioned <= set(whole)
    failed_on = {}
    for key, part, passed, meta in sample_run.check_results:
        if part is not None:
            assert not passed and meta["failed_rules"].value, (key, part)
            failed_on.setdefault(key, set()).add(part)
    for key in partitioned:
        assert whole[key]["days_checked"].value == days, key
        if "failed_days" in whole[key]:  # the staging gates list them
            assert set(whole[key]["failed_days"].value) == failed_on.get(key, set()), key
    assert failed_on, "the sample company has days a WARN rule flags (its planted spikes)"


def test_marts_report_their_headline_figures_as_numbers_dagster_can_plot(
    sample_run: SampleRun,
) -> None:
    meta = sample_run.mart_metadata
    for table, figure in [("nps_daily", "nps_28d"), ("social_sentiment_daily", "net_sentiment"),
                          ("tool_licences", "licence_utilisation"), ("data_trust", "rows_quarantined"),
                          ("kpi_daily", "social_mentions")]:  # fmt: skip
        value = meta[table][figure]
        assert isinstance(value, dg.FloatMetadataValue), (table, figure, value)
    assert -100 <= meta["nps_daily"]["nps_28d"].value <= 100
    assert 0 < meta["tool_licences"]["licence_utilisation"].value < 2


def test_a_multi_day_run_puts_table_wide_metadata_on_its_newest_day_only(
    sample_run: SampleRun,
) -> None:
    """Schema, preview and headline figures describe the table, not a day: repeated on
    each of a backfill's days they were most of its event log. Every day still says how
    it went (row count, quarantine)."""
    newest = sample_run.end.isoformat()
    for asset in ("staging/feedback", "marts/nps_daily"):
        days = sample_run.metadata_names[asset]
        assert len(days) > 20, asset
        table_wide = {"preview", "dagster/column_schema"}
        for day, names in days.items():
            assert "dagster/row_count" in names, (asset, day)
            assert (table_wide <= names) == (day == newest), (asset, day, sorted(names))
    assert "quarantined" in sample_run.metadata_names["staging/feedback"][newest]
    # Raw has no days of its own (the landing batch is its unit): one event per run.
    assert set(sample_run.metadata_names["raw/feedback"]) == {None}
    assert {"preview", "new_batches"} <= sample_run.metadata_names["raw/feedback"][None]
    assert "nps_28d" in sample_run.metadata_names["marts/nps_daily"][newest]
