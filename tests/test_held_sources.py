"""One source's bad day holds back only that source: daily runs of a held-out company.

The company (a seed and scale no other test uses) is run for its first days; then one
day's files arrive per run, each with a different source broken, while the day before's
broken source is fixed (its file dropped again) or accepted. After each run the serving
file must hold: the broken source's own marts as last published, every other mart
fresh, the combined marts with NULL figures for the broken source and `sources_missing`
naming it, `meta.held_sources` saying since when and what to do, and the fixed day back
in the metrics.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.runner import RunOutcome, materialise
from productops import alerts, overrides
from productops.marts import prepare as prepare_marts
from productops.report import build_report
from productops.sample import write_sample
from productops.settings import DataPaths, data_paths
from productops.summary import headline
from productops.themes import load_taxonomy
from tests.conftest import SALT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("held_sources")]

SEED, SCALE = 4711, 0.5
END = date(2026, 10, 31)
HELD_BACK = 5  # the last days, delivered one run at a time
DAYS = 14 + HELD_BACK
# A vendor field each source's export loses (a column renamed in a CSV).
BROKEN_FIELD = {
    "nps": "score",
    "feedback": "status",
    "social": "author",
    "tool_usage": "outcome",
    "licences": "seats",
}
FEEDBACK_CSV_FIELD = "rating"


def _break(path: Path, field: str) -> None:
    """The same export with `field` missing from every record (renamed, in a CSV)."""
    text = path.read_text()
    if path.suffix == ".csv":
        rows = list(csv.reader(io.StringIO(text)))
        rows[0] = [f"{c}_v2" if c == field else c for c in rows[0]]
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        path.write_text(out.getvalue())
        return
    lines = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            lines.append(line)  # the sample's own broken lines stay as they were
            continue
        if isinstance(record, dict):
            record.pop(field, None)
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n")


@dataclass
class Company:
    paths: DataPaths
    held_back: Path  # the last days' landing files, by source folder

    def deliver(self, day: date, broken: str | None = None) -> None:
        """Drop the day's files into landing, `broken`'s with a vendor field missing."""
        for f in sorted(self.held_back.glob(f"*/*{day.isoformat()}*")):
            dest = self.paths.landing_dir(f.parent.name) / f.name
            shutil.copy(f, dest)
            if f.parent.name == broken:
                field = FEEDBACK_CSV_FIELD if f.suffix == ".csv" and broken == "feedback" else None
                _break(dest, field or BROKEN_FIELD[broken])

    def run(self, day: date) -> RunOutcome:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("PRODUCTOPS_DATA_DIR", str(self.paths.root))
            mp.setenv("PRODUCTOPS_PII_SALT", SALT)
            with dg.DagsterInstance.ephemeral() as instance:
                return materialise(day, day, instance=instance)

    def serving(self, query: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.paths.serving), read_only=True) as con:
            return con.execute(query, params or []).fetchall()

    def newest(self, table: str) -> date:
        column = "week" if table == "feedback_themes_weekly" else "date"
        return self.serving(f"SELECT max({column}) FROM marts.{table}")[0][0]

    def kpi(self, day: date) -> dict:
        with duckdb.connect(str(self.paths.serving), read_only=True) as con:
            cur = con.execute("SELECT * FROM marts.kpi_daily WHERE date = ?", [day])
            names = [d[0] for d in cur.description]
            return dict(zip(names, cur.fetchall()[0], strict=True))

    def held(self) -> dict[str, tuple[date, list[str]]]:
        rows = self.serving("SELECT source, held_since, held_tables FROM meta.held_sources")
        return {s: (since, sorted(tables)) for s, since, tables in rows}

    def trusted(self, source: str, day: date) -> bool:
        return self.serving(
            "SELECT trusted FROM marts.data_trust WHERE source = ? AND date = ?", [source, day]
        )[0][0]

    def fresh_tables(self) -> set[str]:
        return set(self.serving(
            "SELECT fresh_tables FROM meta.publications ORDER BY published_at DESC LIMIT 1"
        )[0][0])  # fmt: skip


FIRST = END - timedelta(days=HELD_BACK - 1)  # the first held-back day


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Company]:
    root = tmp_path_factory.mktemp("held_sources")
    paths = data_paths(root / "data")
    write_sample(paths, seed=SEED, scale=SCALE, days=DAYS, end=END)
    held_back = root / "held_back"
    for day in (FIRST + timedelta(days=i) for i in range(HELD_BACK)):
        for f in paths.landing.glob(f"*/*{day.isoformat()}*"):
            (held_back / f.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.move(f, held_back / f.parent.name / f.name)
    # The licence inventory arrives once, dated the sample's last day: delivered with the
    # first days here, so that licences are trusted until the run that breaks them.
    (inventory,) = (held_back / "licences").glob("*.csv")
    shutil.move(inventory, paths.landing_dir("licences") / "licence_inventory_first.csv")
    built = Company(paths, held_back)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRODUCTOPS_DATA_DIR", str(paths.root))
        mp.setenv("PRODUCTOPS_PII_SALT", SALT)
        with dg.DagsterInstance.ephemeral() as instance:
            first = materialise(END - timedelta(days=DAYS - 1), FIRST - timedelta(days=1),
                                instance=instance)  # fmt: skip
    assert first.success, first.errors + first.failed_checks
    yield built


OWN = {
    "nps": ["nps_comments", "nps_daily"],
    "feedback": ["feedback_themes_weekly"],
    "social": ["app_reviews_daily", "social_sentiment_daily"],
    "tool_usage": ["tool_licences", "tool_usage_daily"],
    "licences": ["tool_licences"],
}
KPI_FIGURES = {
    "nps": ["nps_28d", "nps_responses_28d"],
    "feedback": ["feedback_items", "negative_feedback_share"],
    "social": ["social_mentions", "social_net_sentiment"],
    "tool_usage": ["tool_active_users", "licence_utilisation"],
    "licences": ["licence_utilisation"],
}


def _assert_only_held(company: Company, source: str, day: date, before: dict[str, date]) -> None:
    """`source` is held since `day`; every other table was published fresh."""
    held_tables = OWN[source]
    assert company.held() == {source: (day, held_tables)}
    assert company.fresh_tables().isdisjoint(held_tables)
    for table in held_tables:
        assert company.newest(table) == before[table], table
    fresh = {"social_sentiment_daily", "tool_usage_daily", "tool_licences", "nps_daily"}
    for table in fresh - set(held_tables):
        assert company.newest(table) == day, table
    kpi = company.kpi(day)
    # The licence mart is measured against tool usage: held with it, its figure is missing.
    lacking = ["licences", "tool_usage"] if source == "tool_usage" else [source]
    assert kpi["sources_missing"] == lacking
    for figure in KPI_FIGURES[source]:
        assert kpi[figure] is None, figure
    # Every other source's figures are there (a day's negative share and net sentiment
    # may be NULL on their own, with nothing to divide).
    for other, figures in KPI_FIGURES.items():
        if other != source and figures[0] not in KPI_FIGURES[source]:
            assert kpi[figures[0]] is not None, figures[0]
    assert not company.trusted(source, day)


def _newest_all(company: Company) -> dict[str, date]:
    return {t: company.newest(t) for ts in OWN.values() for t in ts}


def test_each_source_in_turn_holds_back_only_itself(company: Company) -> None:
    days = [FIRST + timedelta(days=i) for i in range(HELD_BACK)]

    # Day 1: NPS arrives broken. Everything else is published for the day.
    before = _newest_all(company)
    company.deliver(days[0], broken="nps")
    outcome = company.run(days[0])
    assert not outcome.success and outcome.trust_run_id
    assert any("nps_responses" in c for c in outcome.failed_checks)
    _assert_only_held(company, "nps", days[0], before)
    found = headline(company.paths)
    assert found and [h.source for h in found.held] == ["nps"]
    assert "productops accept nps" in found.held[0].what_to_do
    report = build_report(company.paths.serving, company.paths.reports)
    page = report.path.read_text()
    assert f"nps is held back since {days[0].isoformat()}" in page
    with duckdb.connect(str(company.paths.serving), read_only=True) as con:
        (alert,) = [a for a in alerts.detect(con, days[0] - timedelta(days=1), days[0])
                    if a.kind == "source_untrusted"]  # fmt: skip
    assert "Source nps is not trusted" in alert.sentence
    assert "nps_comments, nps_daily stay as last published" in alert.sentence

    # Day 2: the NPS file of day 1 is dropped again, fixed; feedback arrives broken.
    # Day 1 is back in the NPS metrics and the KPIs; feedback alone is held.
    shutil.copy(
        next((company.held_back / "nps").glob(f"*{days[0].isoformat()}*")),
        company.paths.landing_dir("nps"),
    )
    before = _newest_all(company)
    company.deliver(days[1], broken="feedback")
    outcome = company.run(days[1])
    assert not outcome.success
    _assert_only_held(company, "feedback", days[1], before)
    assert company.trusted("nps", days[0])
    assert company.kpi(days[0])["nps_28d"] is not None
    # (The broken Zendesk export also updates tickets created on day 1: feedback may be
    # untrusted there now, but NPS is not.)
    assert "nps" not in company.kpi(days[0])["sources_missing"]
    assert company.serving(
        "SELECT count(*) FROM marts.nps_daily WHERE date = ? AND segment = 'all'", [days[0]]
    ) == [(1,)]
    week = days[1] - timedelta(days=days[1].weekday())
    missing = company.serving(
        "SELECT DISTINCT sources_missing FROM marts.theme_impact WHERE week = ?", [week]
    )
    assert missing == [(["feedback"],)]

    # Day 3: feedback's day 2 is accepted as it is; social arrives broken.
    with duckdb.connect(str(company.paths.warehouse)) as con:
        overrides.accept(con, "feedback", days[1], reason="the status field is optional",
                         by="lead", now=datetime.now(UTC))  # fmt: skip
    before = _newest_all(company)
    company.deliver(days[2], broken="social")
    assert not company.run(days[2]).success
    _assert_only_held(company, "social", days[2], before)
    assert company.trusted("feedback", days[1])
    assert company.newest("feedback_themes_weekly") == days[2] - timedelta(days=days[2].weekday())

    # Day 4: social's good again (day 3 left as it is); tool usage arrives broken, and
    # the licence mart, measured against it, is held with it.
    before = _newest_all(company)
    company.deliver(days[3], broken="tool_usage")
    assert not company.run(days[3]).success
    _assert_only_held(company, "tool_usage", days[3], before)
    assert not company.trusted("social", days[2])
    assert company.kpi(days[2])["social_mentions"] is None

    # Day 5: the licence inventory is delivered again, broken; tool usage is good again.
    before = _newest_all(company)
    company.deliver(days[4])
    inventory = company.paths.landing_dir("licences") / "licence_inventory_first.csv"
    broken = inventory.with_name("licence_inventory_again.csv")
    shutil.copy(inventory, broken)
    _break(broken, BROKEN_FIELD["licences"])
    assert not company.run(days[4]).success
    assert company.held() == {"licences": (days[4], ["tool_licences"])}
    assert company.newest("tool_usage_daily") == days[4]
    kpi = company.kpi(days[4])
    assert kpi["sources_missing"] == ["licences"] and kpi["licence_utilisation"] is None
    assert kpi["tool_active_users"] is not None


def test_a_source_that_never_delivered_is_not_trusted(tmp_path: Path) -> None:
    """An empty data folder: no source, the licence inventory included, is trusted."""
    from productops.ingest import ingest_source
    from productops.marts import Window, build_data_trust
    from productops.sources import SOURCES
    from productops.staging import build_staging
    from tests.helpers import warehouse

    paths = data_paths(tmp_path / "data")
    paths.root.mkdir(parents=True)
    con = warehouse(paths)
    day = date(2026, 10, 1)
    for source in SOURCES.values():
        ingest_source(paths, source)
        window = (day, day + timedelta(days=2)) if source.daily else (None, None)
        build_staging(con, paths, source, *window)
    prepare_marts(con, load_taxonomy())
    build_data_trust(con, Window(day, day + timedelta(days=2)), datetime.now(UTC))
    rows = con.execute("SELECT source, trusted, notes FROM marts.data_trust").fetchall()
    assert len(rows) == 15 and not any(trusted for _, trusted, _ in rows)
    notes = {n for s, _, n in rows if s == "licences"}
    assert notes == {"no licence inventory has arrived"}


def test_a_mart_whose_own_check_failed_is_held_with_its_reason() -> None:
    """A metrics_consistent failure on a day of the window keeps that table, and only it."""
    from productops import held
    from productops.quality.results import CheckOutcome, DayOutcome, record

    day = date(2026, 10, 1)
    with duckdb.connect() as con:
        for table, passed in (("nps_daily", False), ("kpi_daily", True)):
            outcome = CheckOutcome("metrics_consistent", "ERROR", "0 rows",
                                   [DayOutcome(day, passed, detail="NPS outside -100..100")])  # fmt: skip
            record(con, [(outcome, "")], run_id="r", asset=f"marts/{table}",
                   source=f"marts.{table}", checked_at=datetime.now(UTC))  # fmt: skip
        assert held.failed_mart_checks(con, (day, day)) == {"nps_daily": ["metrics_consistent"]}
        assert held.failed_mart_checks(con, (day + timedelta(days=1),) * 2) == {}
        why = held.reasons([], {"nps_daily"}, held.failed_mart_checks(con, (day, day)))
    assert why == {"nps_daily": "its own check failed: metrics_consistent"}
