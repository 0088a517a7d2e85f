"""The serving database: the contract's columns, atomic publications, readable by older drivers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.runner import materialise
from productops import sql
from productops.serving import STORAGE_VERSION, publish
from tests.conftest import SALT, SampleRun

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sample_run")]

# CONTRACT.md, column for column.
CONTRACT = {
    "nps_daily": "date segment segment_value responses promoters passives detractors nps "
    "nps_margin_of_error nps_low nps_high nps_28d responses_28d nps_28d_margin_of_error "
    "nps_28d_change nps_28d_change_margin_of_error change_significant",
    "nps_comments": "response_id date score category plan region channel comment themes sentiment "
    "sentiment_label language",
    "feedback_themes_weekly": "week theme items negative_share avg_sentiment items_prev_week "
    "wow_change is_emerging is_partial_week scored_share languages",
    "social_sentiment_daily": "date platform mentions positive neutral negative avg_sentiment "
    "net_sentiment engagement is_spike scored_share languages",
    "app_reviews_daily": "date storefront reviews avg_rating low_rating_share reviews_28d "
    "avg_rating_28d avg_sentiment scored_share languages",
    "tool_usage_daily": "date tool dau wau mau stickiness events failed_events",
    "tool_licences": "date tool seats active_users_30d utilisation unused_seats annual_cost "
    "cost_per_active_user owner currency renewal_date days_to_renewal renewal_within_90d "
    "inactive_users_60d recommended_seats savings_at_renewal is_stale",
    "account_voice": "account_id plan region nps_responses latest_score latest_category "
    "latest_response_at feedback_items_90d negative_feedback_share_90d feedback_scored_share_90d "
    "feedback_languages_90d top_themes_90d last_signal_at sources_missing",
    "data_trust": "date source rows_loaded rows_quarantined checks_run checks_failed freshness_hours "
    "trusted notes",
    "kpi_daily": "date nps_28d nps_responses_28d feedback_items negative_feedback_share "
    "social_mentions social_net_sentiment tool_active_users licence_utilisation sources_trusted "
    "sources_missing feedback_scored_share feedback_languages social_scored_share "
    "social_languages app_reviews app_avg_rating",
    "theme_impact": "week window theme nps_responses_mentioning nps_mentioning "
    "nps_not_mentioning nps_gap nps_gap_margin_of_error nps_points_lost tickets "
    "accounts_affected plans_affected rank is_partial_period sources_missing",
}


def test_serving_has_exactly_the_contract_tables_and_columns(sample_run: SampleRun) -> None:
    with duckdb.connect(str(sample_run.paths.serving), read_only=True) as con:
        tables = {
            t: [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' "
                "AND table_name = ? ORDER BY ordinal_position", [t]).fetchall()]
            for (t,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
            ).fetchall()
        }  # fmt: skip
        assert set(tables) == set(CONTRACT)
        for table, columns in CONTRACT.items():
            assert tables[table] == [*columns.split(), "_published_at"], table
            assert con.execute(f"SELECT count(*) FROM marts.{table}").fetchall()[0][0] > 0, table
        (pub,) = con.execute(
            "SELECT storage_version, run_id FROM meta.publications ORDER BY published_at DESC LIMIT 1"
        ).fetchall()
        assert pub[0] == STORAGE_VERSION and pub[1]


def test_ratios_are_fractions_and_scores_in_range(sample_run: SampleRun) -> None:
    with duckdb.connect(str(sample_run.paths.serving), read_only=True) as con:
        checks = {
            "nps_daily": "nps NOT BETWEEN -100 AND 100 OR nps_28d NOT BETWEEN -100 AND 100",
            "nps_comments": "sentiment NOT BETWEEN -1 AND 1",
            "feedback_themes_weekly": "negative_share NOT BETWEEN 0 AND 1",
            "social_sentiment_daily": "net_sentiment NOT BETWEEN -1 AND 1",
            "tool_usage_daily": "stickiness NOT BETWEEN 0 AND 1 OR dau > wau OR wau > mau",
            "kpi_daily": "negative_feedback_share NOT BETWEEN 0 AND 1",
        }
        for table, bad in checks.items():
            assert (
                con.execute(f"SELECT count(*) FROM marts.{table} WHERE {bad}").fetchall()[0][0] == 0
            )


def _latest_publication(serving: Path) -> str:
    with duckdb.connect(str(serving), read_only=True) as con:
        return con.execute(
            "SELECT publication_id FROM meta.publications ORDER BY published_at DESC LIMIT 1"
        ).fetchall()[0][0]


def test_readers_see_only_whole_publications_while_the_pipeline_republishes(
    sample_run: SampleRun, tmp_path: Path
) -> None:
    """The reader runs until the pipeline is done; the test waits for it to see each publication."""
    root = tmp_path / "data"
    shutil.copytree(sample_run.paths.root, root)
    serving = root / "serving.duckdb"
    reader = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("serving_reader.py")), str(serving)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert reader.stdout is not None and reader.stdin is not None

    def wait_until_seen(publication_id: str) -> None:
        for line in reader.stdout:
            if line.strip() == f"seen {publication_id}":
                return
        pytest.fail(f"the reader ended before it saw publication {publication_id}")

    wait_until_seen(_latest_publication(serving))
    with pytest.MonkeyPatch.context() as mp, dg.DagsterInstance.ephemeral() as instance:
        mp.setenv("PRODUCTOPS_DATA_DIR", str(root))
        mp.setenv("PRODUCTOPS_PII_SALT", SALT)
        outcome = materialise(
            sample_run.start,
            sample_run.end,
            instance=instance,
            select=["key:marts/*", "group:serving"],
        )
        assert outcome.success, outcome.errors
        wait_until_seen(_latest_publication(serving))
        with sql.connect(root / "warehouse.duckdb") as con:
            for _ in range(8):
                pub = publish(
                    con, serving, run_id="test", published_at=datetime.now(UTC), versions={}
                )
                wait_until_seen(pub.publication_id)
    out, err = reader.communicate(input="", timeout=120)
    stats = dict(part.split("=") for part in out.split() if "=" in part)
    assert int(stats["errors"]) == 0, err
    assert int(stats["publications"]) == 10, out
    with duckdb.connect(str(serving), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM meta.publications").fetchall()[0][0] == 10


# The DuckDB releases the README says read the serving file, one per minor version: BI
# drivers bundle older releases, and the newest is where they are going.
READERS = ["1.1.3", "1.2.2", "1.3.2", "1.4.4", "2.0.1"]


@pytest.mark.parametrize("version", READERS)
def test_serving_file_opens_in_each_duckdb_the_readme_names(
    sample_run: SampleRun, tmp_path: Path, version: str
) -> None:
    uv = shutil.which("uv") or str(Path(__file__).parents[1] / ".tools" / "bin" / "uv")
    if not Path(uv).exists():
        pytest.skip("uv is not installed (make installs it into .tools/)")
    venv = tmp_path / "reader"
    subprocess.run([uv, "venv", "-q", str(venv), "--python", sys.executable], check=True)
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(venv / "bin" / "python"),
            f"duckdb=={version}",
        ],
        check=True,
    )
    script = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
        "print(duckdb.__version__, c.execute('SELECT count(*) FROM marts.kpi_daily').fetchall()[0][0], "
        "c.execute('SELECT count(*) FROM marts.account_voice').fetchall()[0][0])"
    )
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script, str(sample_run.paths.serving)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    got, rows, _ = done.stdout.split()
    assert got == version and int(rows) > 0


def test_serving_file_opens_in_the_duckdb_cli(sample_run: SampleRun) -> None:
    """The CLI the lock installs (`duckdb-cli`, for analysts at a terminal)."""
    cli = Path(sys.executable).parent / "duckdb"
    done = subprocess.run(
        [str(cli), "-readonly", "-csv", "-noheader", str(sample_run.paths.serving), "-c",
         "SELECT count(*) FROM marts.kpi_daily"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert int(done.stdout.strip()) > 0
