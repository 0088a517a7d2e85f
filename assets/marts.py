"""Marts: the trusted metric tables of the serving contract, built from staging in DuckDB.

Every mart is the same kind of asset (see `mart_asset`): it replaces its window of
days through a builder in `productops.marts`, and declares the look-back it reads as a
partition mapping, so the UI shows which partitions a late staging change makes stale.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import dagster as dg
import duckdb

from assets.metadata import (
    column_schema,
    markdown_preview,
    on_newest_day,
    report_late_partitions,
)
from assets.options import AssetOptions
from assets.partitions import window_dates
from assets.policies import COMBINE, FRESH_DAILY, GATED
from assets.raw import OWNERS
from assets.staging import staging_key
from productops import ledger, marts, overrides, sql
from productops.sources import SOURCES
from productops.staging import days_of
from resources import DuckDBWarehouse, ThemeTaxonomy

# Bump when a mart's SQL changes meaning; the taxonomy's hash is added for the marts
# that classify themes, so editing config/themes.toml marks them changed in the UI.
MARTS_CODE_VERSION = "4"


def mart_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["marts", name])


def _dep(key: dg.AssetKey, look_back_days: int = 0) -> dg.AssetDep:
    if look_back_days == 0:
        return dg.AssetDep(key)
    return dg.AssetDep(
        key, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-look_back_days)
    )


@dataclass(frozen=True)
class MartSpec:
    name: str
    description: str
    deps: list[dg.AssetDep]
    build: Callable[[duckdb.DuckDBPyConnection, marts.Window], int]
    uses_themes: bool = False
    window_column: str = "date"
    tags: dict[str, str] = field(default_factory=dict)


# Headline figures per mart, as numeric metadata Dagster plots across materializations:
# SQL over the mart for the run's last day (`?` is that day).
HEADLINES: dict[str, str] = {
    "nps_daily": "SELECT nps_28d, responses_28d FROM marts.nps_daily "
    "WHERE date = ? AND segment = 'all'",
    "social_sentiment_daily": "SELECT mentions, net_sentiment, scored_share "
    "FROM marts.social_sentiment_daily WHERE date = ? AND platform = 'all'",
    "app_reviews_daily": "SELECT reviews, avg_rating_28d FROM marts.app_reviews_daily "
    "WHERE date = ? AND storefront = 'all'",
    "tool_licences": "SELECT sum(active_users_30d) / nullif(sum(seats), 0) AS licence_utilisation, "
    "sum(unused_seats) AS unused_seats FROM marts.tool_licences WHERE date = ?",
    "tool_usage_daily": "SELECT count(DISTINCT tool) AS tools_used, sum(dau) AS dau "
    "FROM marts.tool_usage_daily WHERE date = ?",
    "data_trust": "SELECT count(*) FILTER (WHERE trusted) AS sources_trusted, "
    "sum(rows_quarantined) AS rows_quarantined FROM marts.data_trust WHERE date = ?",
    "kpi_daily": "SELECT * EXCLUDE (date, sources_missing, feedback_languages, social_languages) "
    "FROM marts.kpi_daily WHERE date = ?",
    "theme_impact": "SELECT nps_points_lost AS top_theme_points_lost, nps_gap AS top_theme_nps_gap "
    "FROM marts.theme_impact WHERE \"window\" = '90d' AND rank = 1 "
    "AND week = date_trunc('week', ?::DATE) LIMIT 1",
    "feedback_themes_weekly": "SELECT count(*) FILTER (WHERE is_emerging) AS emerging_themes, "
    "sum(items) AS items FROM marts.feedback_themes_weekly WHERE week = date_trunc('week', ?::DATE)",
}


def headline_metadata(con: duckdb.DuckDBPyConnection, table: str, day: date) -> dict[str, float]:
    """The mart's headline figures on `day`, as floats (NULL figures left out)."""
    query = HEADLINES.get(table)
    if query is None:
        return {}
    cur = con.execute(query, [day])
    columns = [d[0] for d in cur.description]
    rows = cur.fetchall()
    if not rows:
        return {}
    return {c: float(v) for c, v in zip(columns, rows[0], strict=True) if v is not None}


def mart_asset(spec: MartSpec, options: AssetOptions) -> dg.AssetsDefinition:
    themed = f"+themes.{options.taxonomy_version}" if spec.uses_themes else ""
    version = MARTS_CODE_VERSION + themed

    @dg.asset(
        key=mart_key(spec.name),
        deps=spec.deps,
        description=spec.description,
        group_name="marts",
        owners=OWNERS,
        kinds={"duckdb", "sql"},
        partitions_def=options.daily,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=options.warehouse_pool,
        code_version=version,
        tags=spec.tags,
        automation_condition=COMBINE if spec.name in marts.COMBINED else GATED,
        freshness_policy=FRESH_DAILY,
    )
    def _mart(
        context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, themes: ThemeTaxonomy
    ) -> dg.MaterializeResult:
        start, end = window_dates(context)
        table = f"marts.{spec.name}"
        with warehouse.connect() as con:
            marts.prepare(con, themes.load())
            days, late, seen = _days_to_build(con, table, spec, start, end)
            # Withdrawn days this run asks for on purpose are in the metrics again.
            overrides.restore_days(con, days - late)
            rows = sum(spec.build(con, marts.Window(a, b)) for a, b in ledger.day_ranges(days))
            # Recorded after the build: a crash in between rebuilds the same days next time.
            with sql.transaction(con):
                ledger.record_built(con, table, start, end)
                ledger.record_changes(con, table, days)
                ledger.record_consumed(con, table, seen)
            if late:
                context.log.info(
                    f"Rebuilt {len(late)} earlier day(s) that late upstream changes reach: "
                    f"{ledger.describe(late)}"
                )
                report_late_partitions(context, late, "late upstream change")
            preview = markdown_preview(
                con,
                f"SELECT * FROM marts.{spec.name} ORDER BY {spec.window_column} DESC LIMIT 5",
            )
            schema = column_schema(con, f"marts.{spec.name}")
            figures = headline_metadata(con, spec.name, end)
        table_wide = {
            **figures,
            "dagster/column_schema": schema,
            "preview": dg.MetadataValue.md(preview),
        }
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "late_days_rebuilt": len(late),
                **on_newest_day(context, table_wide),
            }
        )

    return _mart


def _look_backs(spec: MartSpec) -> dict[str, int]:
    """Upstream table -> the days of history the mart reads from it (its partition mapping)."""
    out = {}
    for dep in spec.deps:
        mapping = dep.partition_mapping
        back = -mapping.start_offset if isinstance(mapping, dg.TimeWindowPartitionMapping) else 0
        out[".".join(dep.asset_key.path)] = back
    return out


def _days_to_build(
    con: duckdb.DuckDBPyConnection, table: str, spec: MartSpec, start: date, end: date
) -> tuple[set[date], set[date], dict[str, int]]:
    """The run's window, plus the days already built that upstream changes since the last
    build reach (through each upstream's look-back) unless withdrawn; the late ones; the
    changes read. Reads only."""
    window = set(days_of(start, end))
    reached, seen = ledger.pending_days(con, table, _look_backs(spec))
    built = ledger.built_range(con, table)
    withdrawn = overrides.withdrawn_days(con)
    # Up to the run's end: a day a held source left unbuilt is built once it is fixed.
    late = {d for d in reached if built and built[0] <= d <= max(built[1], end)}
    late -= window | withdrawn
    return window | late, late, seen


def _data_trust(con: duckdb.DuckDBPyConnection, w: marts.Window) -> int:
    return marts.build_data_trust(con, w, datetime.now(UTC))


NPS = staging_key(SOURCES["nps"])
FEEDBACK = staging_key(SOURCES["feedback"])
SOCIAL = staging_key(SOURCES["social"])
TOOLS = staging_key(SOURCES["tool_usage"])
LICENCES = staging_key(SOURCES["licences"])

SPECS = [
    MartSpec(
        "nps_daily",
        "NPS per day and segment (all, plan, region, channel) with its 95 % margin of error and "
        "the 28-day NPS. Source: staging.nps_responses. Grain: date x segment x segment_value.",
        [_dep(NPS, 55)],
        marts.build_nps_daily,
    ),
    MartSpec(
        "nps_comments",
        "The words behind the score: every NPS response with a comment, its themes and VADER "
        "sentiment. Source: staging.nps_responses. Grain: one NPS response with a comment.",
        [_dep(NPS)],
        marts.build_nps_comments,
        uses_themes=True,
    ),
    MartSpec(
        "feedback_items",
        "Internal (not published): every live feedback item with its themes and VADER "
        "sentiment, shared by the feedback marts. Source: staging.feedback. Grain: one item.",
        [_dep(FEEDBACK)],
        marts.build_feedback_items,
        uses_themes=True,
    ),
    MartSpec(
        "feedback_themes_weekly",
        "What customers are talking about: items, negative share and week-on-week change per "
        "theme, and whether a theme is emerging. Source: marts.feedback_items. Grain: ISO week "
        "x theme (a day's run rebuilds its whole week).",
        [_dep(mart_key("feedback_items"), 34)],
        marts.build_feedback_themes_weekly,
        window_column="week",
    ),
    MartSpec(
        "social_sentiment_daily",
        "What the public says: mentions, sentiment mix (of the scored mentions), engagement, "
        "spike days, the share scored and the languages, per channel (Hacker News, Reddit, "
        "Bluesky, Mastodon, App Store reviews) and for all channels. "
        "Source: staging.social_mentions. Grain: date x platform.",
        [_dep(SOCIAL, 28)],
        marts.build_social_sentiment_daily,
    ),
    MartSpec(
        "app_reviews_daily",
        "How the app is rated: App Store reviews, mean stars, share of 1-2 stars and the "
        "trailing 28-day mean per storefront and for all, with the review text's sentiment, "
        "the share scored and the languages. Source: staging.social_mentions. "
        "Grain: date x storefront (days with reviews).",
        [_dep(SOCIAL, 27)],
        marts.build_app_reviews_daily,
    ),
    MartSpec(
        "tool_usage_daily",
        "Who uses which tool: daily, weekly and monthly active users, stickiness, events and "
        "failed sign-ins. Source: staging.tool_events. Grain: date x tool.",
        [_dep(TOOLS, 29)],
        marts.build_tool_usage_daily,
    ),
    MartSpec(
        "tool_licences",
        "Are we paying for what we use: seats, 30-day active users, utilisation, unused seats, "
        "cost per active user, and right-sizing: inactive users, recommended seats and the "
        "savings at renewal. Sources: staging.tool_licences, marts.tool_usage_daily, "
        "staging.tool_events. Grain: date x tool.",
        [_dep(LICENCES), _dep(mart_key("tool_usage_daily"), 89), _dep(TOOLS, 365)],
        marts.build_tool_licences,
    ),
    MartSpec(
        "theme_impact",
        "What to fix first: per week and per 90 days, each theme's NPS among respondents who "
        "name it against those who do not (with a margin), the NPS points it costs, tickets, "
        "accounts and plans affected, ranked. Sources: staging.nps_responses, "
        "marts.nps_comments, marts.feedback_items. Grain: week x window x theme.",
        [
            _dep(NPS, 95),
            _dep(mart_key("nps_comments"), 95),
            _dep(mart_key("feedback_items"), 95),
            _dep(mart_key("data_trust"), 95),
        ],
        marts.build_theme_impact,
        uses_themes=True,
        window_column="week",
    ),
    MartSpec(
        "data_trust",
        "Can this be trusted today: rows loaded and quarantined, checks run and failed, "
        "freshness and a trusted flag per source. Sources: every staging and quarantine table. "
        "Grain: date x source.",
        [_dep(NPS), _dep(FEEDBACK), _dep(SOCIAL), _dep(TOOLS), _dep(LICENCES)],
        _data_trust,
    ),
    MartSpec(
        "kpi_daily",
        "The one-line answer: 28-day NPS, feedback volume and negativity, social mentions and "
        "net sentiment, active tool users, licence utilisation and trusted sources per day. "
        "Sources: the other marts and staging.tool_events. Grain: date.",
        [
            _dep(mart_key("nps_daily")),
            _dep(mart_key("feedback_items")),
            _dep(mart_key("social_sentiment_daily")),
            _dep(mart_key("app_reviews_daily")),
            _dep(mart_key("tool_licences")),
            _dep(mart_key("data_trust")),
            _dep(TOOLS),
        ],
        marts.build_kpi_daily,
    ),
]


def account_voice_asset(options: AssetOptions) -> dg.AssetsDefinition:
    """Every signal about one account, as of the latest day (no partitions: one table)."""

    @dg.asset(
        key=mart_key("account_voice"),
        deps=[_dep(NPS), _dep(mart_key("feedback_items")), _dep(mart_key("data_trust"))],
        description=(
            "Every signal about one customer account: NPS history and latest answer, 90-day "
            "feedback volume, negativity and top themes. Sources: staging.nps_responses, "
            "marts.feedback_items. Grain: account_id (as of the latest day)."
        ),
        group_name="marts",
        owners=OWNERS,
        kinds={"duckdb", "sql"},
        pool=options.warehouse_pool,
        code_version=MARTS_CODE_VERSION,
        automation_condition=COMBINE,
        freshness_policy=FRESH_DAILY,
    )
    def account_voice(
        context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, themes: ThemeTaxonomy
    ) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            marts.prepare(con, themes.load())
            rows = marts.build_account_voice(con)
            preview = markdown_preview(
                con, "SELECT * FROM marts.account_voice ORDER BY last_signal_at DESC LIMIT 5"
            )
            schema = column_schema(con, "marts.account_voice")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "dagster/column_schema": schema,
                "preview": dg.MetadataValue.md(preview),
            }
        )

    return account_voice


def mart_assets(options: AssetOptions) -> list[dg.AssetsDefinition]:
    return [*(mart_asset(s, options) for s in SPECS), account_voice_asset(options)]
