"""Staging -> the trusted metric tables of the serving contract (schema `marts`).

Each builder replaces one window of days in one transaction, reading only the days
its metric needs (the window plus a fixed look-back: 27 days for 28-day NPS, 29 for
MAU, 28 for the spike rule, four weeks for emerging themes), so a daily run costs the
new day plus those windows, not the whole history.

Column lists follow `docs/contract.md` (`productops.contract`); `_published_at` is added when a table is published.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from productops import ledger
from productops.quality.results import RESULTS_DDL
from productops.quoting import literal
from productops.sentiment import LABEL_MACRO, SCORES, ensure_scored
from productops.sql import table_columns, transaction
from productops.staging import REJECTED_FILES_DDL
from productops.themes import Taxonomy

NEGATIVE_OUTCOMES = "('failure', 'deny')"
SUCCESS_OUTCOMES = "('success', 'allow')"
# Freshness limits: hours between the newest record and the run before a source is stale.
FRESHNESS_LIMIT_HOURS = {
    "nps": 36,
    "feedback": 36,
    "social": 36,
    "tool_usage": 36,
    "licences": 24 * 90,
}

DDL = {
    "nps_daily": """date DATE, segment VARCHAR, segment_value VARCHAR, responses INTEGER,
        promoters INTEGER, passives INTEGER, detractors INTEGER, nps DOUBLE,
        nps_margin_of_error DOUBLE, nps_low DOUBLE, nps_high DOUBLE, nps_28d DOUBLE,
        responses_28d INTEGER,
        nps_28d_margin_of_error DOUBLE, nps_28d_change DOUBLE,
        nps_28d_change_margin_of_error DOUBLE, change_significant BOOLEAN""",
    "nps_comments": """response_id VARCHAR, date DATE, score INTEGER, category VARCHAR,
        plan VARCHAR, region VARCHAR, channel VARCHAR, comment VARCHAR, themes VARCHAR[],
        sentiment DOUBLE, sentiment_label VARCHAR, language VARCHAR""",
    "feedback_items": """feedback_id VARCHAR, date DATE, week DATE, origin VARCHAR,
        channel VARCHAR, account_id VARCHAR, plan VARCHAR, created_at TIMESTAMP, text VARCHAR,
        themes VARCHAR[], sentiment DOUBLE, sentiment_label VARCHAR, language VARCHAR""",
    "feedback_themes_weekly": """week DATE, theme VARCHAR, items INTEGER, negative_share DOUBLE,
        avg_sentiment DOUBLE, items_prev_week INTEGER, wow_change DOUBLE, is_emerging BOOLEAN,
        is_partial_week BOOLEAN, scored_share DOUBLE, languages VARCHAR""",
    "social_sentiment_daily": """date DATE, platform VARCHAR, mentions INTEGER, positive INTEGER,
        neutral INTEGER, negative INTEGER, avg_sentiment DOUBLE, net_sentiment DOUBLE,
        engagement BIGINT, is_spike BOOLEAN, scored_share DOUBLE, languages VARCHAR""",
    "app_reviews_daily": """date DATE, storefront VARCHAR, reviews INTEGER, avg_rating DOUBLE,
        low_rating_share DOUBLE, reviews_28d INTEGER, avg_rating_28d DOUBLE,
        avg_sentiment DOUBLE, scored_share DOUBLE, languages VARCHAR""",
    "tool_usage_daily": """date DATE, tool VARCHAR, dau INTEGER, wau INTEGER, mau INTEGER,
        stickiness DOUBLE, events INTEGER, failed_events INTEGER""",
    "tool_licences": """date DATE, tool VARCHAR, seats INTEGER, active_users_30d INTEGER,
        utilisation DOUBLE, unused_seats INTEGER, annual_cost DECIMAL(14, 2),
        cost_per_active_user DECIMAL(14, 2), owner VARCHAR, currency VARCHAR,
        renewal_date DATE, days_to_renewal INTEGER, renewal_within_90d BOOLEAN,
        inactive_users_60d INTEGER, recommended_seats INTEGER,
        savings_at_renewal DECIMAL(14, 2), is_stale BOOLEAN""",
    "account_voice": """account_id VARCHAR, plan VARCHAR, region VARCHAR, nps_responses INTEGER,
        latest_score INTEGER, latest_category VARCHAR, latest_response_at TIMESTAMP,
        feedback_items_90d INTEGER, negative_feedback_share_90d DOUBLE,
        feedback_scored_share_90d DOUBLE, feedback_languages_90d VARCHAR,
        top_themes_90d VARCHAR[], last_signal_at TIMESTAMP, sources_missing VARCHAR[]""",
    "theme_impact": """week DATE, "window" VARCHAR, theme VARCHAR,
        nps_responses_mentioning INTEGER, nps_mentioning DOUBLE, nps_not_mentioning DOUBLE,
        nps_gap DOUBLE, nps_gap_margin_of_error DOUBLE, nps_points_lost DOUBLE, tickets INTEGER,
        accounts_affected INTEGER, plans_affected VARCHAR[], rank INTEGER,
        is_partial_period BOOLEAN, sources_missing VARCHAR[]""",
    "data_trust": """date DATE, source VARCHAR, rows_loaded INTEGER, rows_quarantined INTEGER,
        checks_run INTEGER, checks_failed INTEGER, freshness_hours DOUBLE, trusted BOOLEAN,
        notes VARCHAR""",
    "kpi_daily": """date DATE, nps_28d DOUBLE, nps_responses_28d INTEGER, feedback_items INTEGER,
        negative_feedback_share DOUBLE, social_mentions INTEGER, social_net_sentiment DOUBLE,
        tool_active_users INTEGER, licence_utilisation DOUBLE, sources_trusted INTEGER,
        sources_missing VARCHAR[], feedback_scored_share DOUBLE, feedback_languages VARCHAR,
        social_scored_share DOUBLE, social_languages VARCHAR, app_reviews INTEGER,
        app_avg_rating DOUBLE""",
}
# The tables BI may rely on (docs/contract.md); the others are internal to the warehouse.
CONTRACT_TABLES = (
    "nps_daily", "nps_comments", "feedback_themes_weekly", "social_sentiment_daily",
    "app_reviews_daily", "tool_usage_daily", "tool_licences", "account_voice", "data_trust", "kpi_daily",
    "theme_impact",
)  # fmt: skip


# The sources each contract mart is built from. A mart of one source (or of the licence
# inventory and the tool usage it is measured against) waits for its sources' blocking
# checks and is held, as last published, while one fails; the marts that combine
# sources are rebuilt whatever happens, from the trusted source-days only, and say in
# `sources_missing` which sources a row lacks.
MART_SOURCES: dict[str, tuple[str, ...]] = {
    "nps_daily": ("nps",),
    "nps_comments": ("nps",),
    "feedback_items": ("feedback",),  # internal: what the feedback marts share
    "feedback_themes_weekly": ("feedback",),
    "social_sentiment_daily": ("social",),
    "app_reviews_daily": ("social",),
    "tool_usage_daily": ("tool_usage",),
    "tool_licences": ("licences", "tool_usage"),
    "account_voice": ("nps", "feedback"),
    "theme_impact": ("nps", "feedback"),
    "data_trust": ("nps", "feedback", "social", "tool_usage", "licences"),
    "kpi_daily": ("nps", "feedback", "social", "tool_usage", "licences"),
}
COMBINED = ("data_trust", "kpi_daily", "theme_impact", "account_voice")


def own_marts(source: str) -> list[str]:
    """The marts built from `source` that are not combined ones: what its failure holds."""
    return [t for t, s in MART_SOURCES.items() if source in s and t not in COMBINED]


@dataclass(frozen=True)
class Window:
    start: date
    end: date

    def back(self, days: int) -> date:
        return self.start - timedelta(days=days)


# The staging tables the metric marts read, through views that leave out every day
# (or, for the licence inventory, the whole table) that failed a blocking check.
TRUSTED = {
    "nps": "nps_responses",
    "feedback": "feedback",
    "social": "social_mentions",
    "tool_usage": "tool_events",
    "licences": "tool_licences",
}


TRUSTED_MARTS = {"nps_comments": "nps", "feedback_items": "feedback"}


# The statistics of the contract's definitions, as SQL macros (tested in test_statistics).
STAT_MACROS = """
    CREATE OR REPLACE TEMP MACRO nps(p, d, n) AS CASE WHEN n > 0 THEN 100.0 * (p - d) / n END;
    -- VADER scores have 4 decimals: summed as integers, an average is the same
    -- whatever order parallel threads add them in (a double sum is not).
    CREATE OR REPLACE TEMP MACRO exact_avg(x) AS
        sum(round(x * 10000)::BIGINT) / nullif(count(x), 0) / 10000.0;
    -- Adjusted Wald (Rocks 2016): add 3 to n and 3/4 to promoters and detractors. The
    -- plain Wald interval is 0 for a unanimous small sample and covers far less than
    -- 95 % below n of about 10.
    CREATE OR REPLACE TEMP MACRO nps_moe(p, d, n) AS
        CASE WHEN n >= 2 THEN 100 * 1.96 * sqrt(greatest(
            ((p + 0.75) / (n + 3) + (d + 0.75) / (n + 3))
            - power((p - d) / (n + 3), 2), 0) / (n + 3)) END;
    -- The interval is centred on the adjusted estimate 100 (p - d) / (n + 3), not on the
    -- raw NPS: that is what covers the true NPS 95 % of the time (test_statistics).
    CREATE OR REPLACE TEMP MACRO nps_low(p, d, n) AS
        greatest(-100, 100.0 * (p - d) / (n + 3) - nps_moe(p, d, n));
    CREATE OR REPLACE TEMP MACRO nps_high(p, d, n) AS
        least(100, 100.0 * (p - d) / (n + 3) + nps_moe(p, d, n));
    -- A spike: against the median and MAD of the 28 days before, so that one busy day in
    -- the baseline neither hides the next nor lowers the bar, and a weekday's usual rise
    -- does not trip it; at least double the usual volume and 10 more; and beyond Poisson
    -- noise (Anscombe z > 4), which the MAD of a quiet, low-volume source (0) cannot say.
    CREATE OR REPLACE TEMP MACRO is_spike(x, med, mad, days) AS
        coalesce(days = 28 AND x >= 2 * med + 10 AND x > med + 5 * 1.4826 * mad
                 AND 2 * (sqrt(x) - sqrt(med)) > 4, false);
    -- An emerging theme: a full week whose 4 weeks before are all full (weeks = 4), at
    -- least twice the theme's mean over those 4, at least max(5, 1 % of the source's
    -- mean weekly items over the same 4), and beyond Poisson noise (Anscombe z > 3.09:
    -- one-sided 0.1 %). Exactly 4: a longer baseline reaches back to quieter weeks and
    -- keeps a rise that is already the norm emerging for another week.
    CREATE OR REPLACE TEMP MACRO is_emerging(items, mean, source_mean, weeks, partial) AS
        coalesce(NOT partial AND weeks = 4 AND items >= greatest(5, 0.01 * source_mean)
                 AND items >= 2 * mean AND 2 * (sqrt(items) - sqrt(mean)) > 3.09, false);
"""


def prepare(con: duckdb.DuckDBPyConnection, taxonomy: Taxonomy) -> None:
    """The marts schema, the trusted views of staging, and the macros the builders use."""
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute(RESULTS_DDL)
    con.execute(REJECTED_FILES_DDL)
    ledger.ensure(con)
    existing = {t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'staging'").fetchall()}  # fmt: skip
    for source, table in TRUSTED.items():
        if table not in existing:
            continue
        blocked = f"SELECT date FROM quality.blocked_days WHERE source = '{source}'"
        keep = f"date NOT IN ({blocked})" if source != "licences" else f"NOT EXISTS ({blocked})"
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW trusted_{table} AS SELECT * FROM staging.{table} WHERE {keep}"
        )
    # The per-item marts that the combined marts read, without the blocked days: a day
    # built from good data and then delivered again broken keeps its old rows there
    # (held), and those must not reach a combined mart under the new delivery's trust.
    for table, source in TRUSTED_MARTS.items():
        _ensure(con, table)
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW trusted_{table} AS SELECT * FROM marts.{table} m "
            "WHERE NOT EXISTS (SELECT 1 FROM quality.blocked_days b "
            f"WHERE b.source = {literal(source)} AND b.date = m.date)"
        )
    con.execute(taxonomy.macro_sql())
    con.execute(LABEL_MACRO)
    con.execute(STAT_MACROS)


def contract_columns(table: str) -> list[str]:
    """Column names of a mart's DDL (commas inside a type such as DECIMAL(14, 2) are not separators)."""
    return [c.split()[0].strip('"') for c in re.split(r",(?![^()]*\))", DDL[table]) if c.strip()]


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Every contract table exists, empty if never built (a first publication needs them)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    for table in CONTRACT_TABLES:
        _ensure(con, table)


def _ensure(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Create the table from its contract DDL; recreate it if its columns drifted."""
    wanted = contract_columns(table)
    have = [name for name, _ in table_columns(con, f"marts.{table}")]
    if have != wanted:
        con.execute(f"CREATE OR REPLACE TABLE marts.{table} ({DDL[table]})")


def _write_guard(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The one-row table that every replacement of `table` updates (see `_replace`)."""
    guard = f"ops.writes_{table}"
    con.execute(f"CREATE SCHEMA IF NOT EXISTS ops; CREATE TABLE IF NOT EXISTS {guard} AS "
                "SELECT 0::BIGINT AS writes")  # fmt: skip
    return guard


def _replace(
    con: duckdb.DuckDBPyConnection,
    table: str,
    select: str,
    params: list,
    where: str = "date BETWEEN ? AND ?",
    where_params: list | None = None,
) -> int:
    """Swap the rows of `where` for the select's rows, in one transaction. Returns rows written."""
    _ensure(con, table)
    guard = _write_guard(con, table)
    with transaction(con):
        # Two workers replacing the same rows of a DuckLake table must conflict, so that
        # one retries. A DELETE that finds no rows (a table's first build) records no
        # change, and DuckLake would commit both inserts: the row both update makes sure.
        con.execute(f"UPDATE {guard} SET writes = writes + 1")
        con.execute(f"DELETE FROM marts.{table} WHERE {where}", where_params or [])
        con.execute(f"INSERT INTO marts.{table} BY NAME {select}", params)
        written = con.execute(
            f"SELECT count(*) FROM marts.{table} WHERE {where}", where_params or []
        ).fetchall()[0][0]
    return int(written)


def _calendar(start: str = "?", end: str = "?") -> str:
    return f"SELECT d::DATE AS date FROM generate_series({start}::DATE, {end}::DATE, INTERVAL 1 DAY) t(d)"


def build_nps_daily(con: duckdb.DuckDBPyConnection, w: Window) -> int:
    """Daily and 28-day NPS per segment, and the 28-day change against the 28 days before.

    The change is left NULL while the earlier window reaches before the first response
    (a partial period would read as a swing); it is significant when it exceeds 1.96
    standard errors of a difference of two independent adjusted-Wald estimates.
    """
    select = f"""
    WITH resp AS (
        SELECT date, category, coalesce(plan, 'unknown') AS plan,
               coalesce(region, 'unknown') AS region, coalesce(channel, 'unknown') AS channel
        FROM trusted_nps_responses WHERE date BETWEEN ? AND ?
    ),
    seg AS (
        SELECT date, 'all' AS segment, 'all' AS segment_value, category FROM resp
        UNION ALL SELECT date, 'plan', plan, category FROM resp
        UNION ALL SELECT date, 'region', region, category FROM resp
        UNION ALL SELECT date, 'channel', channel, category FROM resp
    ),
    daily AS (
        SELECT date, segment, segment_value, count(*) AS n,
               count(*) FILTER (category = 'promoter') AS p,
               count(*) FILTER (category = 'passive') AS pa,
               count(*) FILTER (category = 'detractor') AS d
        FROM seg GROUP BY ALL
    ),
    grid AS (
        SELECT cal.date, k.segment, k.segment_value
        FROM ({_calendar()}) cal CROSS JOIN (SELECT DISTINCT segment, segment_value FROM daily) k
    ),
    rolled AS (
        SELECT g.date, g.segment, g.segment_value,
               coalesce(sum(x.n) FILTER (x.date = g.date), 0) AS responses,
               coalesce(sum(x.p) FILTER (x.date = g.date), 0) AS promoters,
               coalesce(sum(x.pa) FILTER (x.date = g.date), 0) AS passives,
               coalesce(sum(x.d) FILTER (x.date = g.date), 0) AS detractors,
               coalesce(sum(x.n) FILTER (x.date > g.date - 28), 0) AS n28,
               coalesce(sum(x.p) FILTER (x.date > g.date - 28), 0) AS p28,
               coalesce(sum(x.d) FILTER (x.date > g.date - 28), 0) AS d28,
               coalesce(sum(x.n) FILTER (x.date <= g.date - 28), 0) AS n_prev,
               coalesce(sum(x.p) FILTER (x.date <= g.date - 28), 0) AS p_prev,
               coalesce(sum(x.d) FILTER (x.date <= g.date - 28), 0) AS d_prev
        FROM grid g LEFT JOIN daily x
          ON x.segment = g.segment AND x.segment_value = g.segment_value
         AND x.date BETWEEN g.date - 55 AND g.date
        GROUP BY ALL
    ),
    scored AS (
        SELECT *, nps(p28, d28, n28) AS nps_28d, nps_moe(p28, d28, n28) AS moe28,
               CASE WHEN date - 55 >= (SELECT min(date) FROM trusted_nps_responses)
                    THEN nps(p28, d28, n28) - nps(p_prev, d_prev, n_prev) END AS change,
               sqrt(power(nps_moe(p28, d28, n28), 2)
                    + power(nps_moe(p_prev, d_prev, n_prev), 2)) AS change_moe
        FROM rolled WHERE n28 > 0
    )
    SELECT date, segment, segment_value, responses, promoters, passives, detractors,
           nps(promoters, detractors, responses) AS nps,
           nps_moe(promoters, detractors, responses) AS nps_margin_of_error,
           nps_low(promoters, detractors, responses) AS nps_low,
           nps_high(promoters, detractors, responses) AS nps_high,
           nps_28d, n28 AS responses_28d, moe28 AS nps_28d_margin_of_error,
           change AS nps_28d_change,
           CASE WHEN change IS NOT NULL THEN change_moe END AS nps_28d_change_margin_of_error,
           CASE WHEN change IS NOT NULL AND change_moe IS NOT NULL
                THEN abs(change) > change_moe END AS change_significant
    FROM scored
    """
    return _replace(
        con, "nps_daily", select, [w.back(55), w.end, w.start, w.end], where_params=[w.start, w.end]
    )


def build_nps_comments(con: duckdb.DuckDBPyConnection, w: Window) -> int:
    texts = "SELECT comment AS t FROM trusted_nps_responses WHERE date BETWEEN ? AND ?"
    ensure_scored(con, texts, [w.start, w.end])
    select = f"""
    SELECT response_id, date, score, category, plan, region, channel, comment,
           themes(comment, s.language) AS themes, s.compound AS sentiment,
           sentiment_label(s.compound) AS sentiment_label, s.language
    FROM trusted_nps_responses r LEFT JOIN {SCORES} s ON s.text_hash = md5(r.comment)
    WHERE date BETWEEN ? AND ? AND nullif(trim(comment), '') IS NOT NULL
    """
    return _replace(con, "nps_comments", select, [w.start, w.end], where_params=[w.start, w.end])


_FEEDBACK_TEXT = "coalesce(body, subject)"


def build_feedback_items(con: duckdb.DuckDBPyConnection, w: Window) -> int:
    """Internal: each live feedback item with its themes and sentiment (not published)."""
    texts = f"SELECT {_FEEDBACK_TEXT} AS t FROM trusted_feedback WHERE date BETWEEN ? AND ?"
    ensure_scored(con, texts, [w.start, w.end])
    select = f"""
    SELECT feedback_id, date, date_trunc('week', date)::DATE AS week, origin, channel,
           account_id, plan, created_at, {_FEEDBACK_TEXT} AS text,
           themes({_FEEDBACK_TEXT}, s.language) AS themes, s.compound AS sentiment,
           sentiment_label(s.compound) AS sentiment_label, s.language
    FROM trusted_feedback f LEFT JOIN {SCORES} s ON s.text_hash = md5({_FEEDBACK_TEXT})
    WHERE date BETWEEN ? AND ? AND NOT is_deleted
    """
    return _replace(con, "feedback_items", select, [w.start, w.end], where_params=[w.start, w.end])


def build_feedback_themes_weekly(con: duckdb.DuckDBPyConnection, w: Window) -> int:
    """Rebuilds every ISO week the window touches (a week's row depends on all its days).

    A week the data covers only in part (the first and the current one) is marked
    `is_partial_week`: it never counts in a baseline, has no week-on-week change and is
    never emerging, so a half week does not read as a crash or a surge. Emerging asks
    three things of a full week: twice the theme's mean over exactly the 4 weeks before
    it (all full; a week without the theme counts as 0), a floor that grows with the
    source's volume (1 % of its mean weekly items over the same 4 weeks, at least 5), and
    a rise beyond Poisson noise (Anscombe: 2 (sqrt(items) - sqrt(mean)) > 3.09, a
    one-sided 0.1 % false-alarm rate per theme and week). The baseline is a range of
    dates, not of rows, so it can never reach past those 4 weeks.
    """
    first = w.start - timedelta(days=w.start.weekday())
    last = w.end - timedelta(days=w.end.weekday())
    select = """
    WITH extent AS (SELECT min(date) AS lo, max(date) AS hi FROM marts.feedback_items),
    items AS (
        SELECT week, unnest(themes) AS theme, sentiment, sentiment_label, language
        FROM marts.feedback_items WHERE week BETWEEN ?::DATE - 28 AND ?
    ),
    weekly AS (
        SELECT week, theme, count(*) AS items,
               avg((sentiment_label = 'negative')::INTEGER) AS negative_share,
               exact_avg(sentiment) AS avg_sentiment,
               avg((sentiment IS NOT NULL)::INTEGER) AS scored_share,
               language_counts(language) AS languages
        FROM items GROUP BY ALL
    ),
    volume AS (
        SELECT week, count(*) AS source_items FROM marts.feedback_items
        WHERE week BETWEEN ?::DATE - 28 AND ? GROUP BY ALL
    ),
    -- Weeks before the first feedback are unknown, not zero: emerging needs 4 real weeks.
    -- A week after it without the theme is a 0 (the grid), not left out of the mean.
    grid AS (
        SELECT w.d::DATE AS week, t.theme,
               w.d::DATE < e.lo OR w.d::DATE + 6 > e.hi AS is_partial_week
        FROM extent e, generate_series(
            greatest(?::DATE - 28, date_trunc('week', e.lo)::DATE), ?::DATE,
            INTERVAL 7 DAY) w(d)
        CROSS JOIN (SELECT DISTINCT theme FROM weekly) t
    ),
    filled AS (
        SELECT g.week, g.theme, g.is_partial_week, coalesce(x.items, 0) AS items,
               x.negative_share, x.avg_sentiment, coalesce(v.source_items, 0) AS source_items,
               x.scored_share, x.languages
        FROM grid g LEFT JOIN weekly x USING (week, theme) LEFT JOIN volume v USING (week)
    ),
    lagged AS (
        SELECT *,
               lag(items) OVER w1 AS items_prev_week,
               lag(is_partial_week) OVER w1 AS prev_partial,
               avg(items) FILTER (NOT is_partial_week) OVER baseline AS baseline_mean,
               count(*) FILTER (NOT is_partial_week) OVER baseline AS baseline_weeks,
               avg(source_items) FILTER (NOT is_partial_week) OVER baseline AS source_mean
        FROM filled
        WINDOW w1 AS (PARTITION BY theme ORDER BY week),
               baseline AS (PARTITION BY theme ORDER BY week
                            RANGE BETWEEN INTERVAL 28 DAY PRECEDING AND INTERVAL 7 DAY PRECEDING)
    )
    SELECT week, theme, items, negative_share, avg_sentiment, items_prev_week,
           CASE WHEN items_prev_week > 0 AND NOT is_partial_week AND NOT prev_partial
                THEN (items - items_prev_week) / items_prev_week END AS wow_change,
           is_emerging(items, baseline_mean, source_mean, baseline_weeks, is_partial_week)
               AS is_emerging,
           is_partial_week, scored_share, languages
    FROM lagged WHERE week BETWEEN ? AND ? AND items > 0
    """
    params = [first, last, first, last, first, last, first, last]
    return _replace(
        con, "feedback_themes_weekly", select, params, "week BETWEEN ? AND ?", [first, last]
    )


def build_social_sentiment_daily(con: duckdb.DuckDBPyConnection, w: Window) -> int:
    """Per day, per channel (`platform`) and for all channels together (`all`).

    Sentiment counts and means are over the scored mentions only (a text in a language
    no scorer handles has none); `scored_share` and `languages` say what they cover.
    Each channel has its own spike rule and its own history: days before a channel's
    first mention are unknown, not zero, so a channel switched on today is no spike.
    """
    texts = "SELECT text AS t FROM trusted_social_mentions WHERE date BETWEEN ? AND ?"
    ensure_scored(con, texts, [w.back(28), w.end])
    select = f"""
    WITH m AS (
        SELECT date, platform, sentiment_label(s.compound) AS label, s.compound, s.language,
               points + num_comments AS engagement
        FROM trusted_social_mentions x LEFT JOIN {SCORES} s ON s.text_hash = md5(x.text)
        WHERE date BETWEEN ? AND ? AND NOT is_deleted
    ),
    per AS (
        SELECT * FROM m
        UNION ALL SELECT date, 'all', label, compound, language, engagement FROM m
    ),
    daily AS (
        SELECT date, platform, count(*) AS mentions,
               count(*) FILTER (label = 'positive') AS positive,
               count(*) FILTER (label = 'neutral') AS neutral,
               count(*) FILTER (label = 'negative') AS negative,
               exact_avg(compound) AS avg_sentiment, sum(engagement) AS engagement,
               avg((compound IS NOT NULL)::INTEGER) AS scored_share,
               language_counts(language) AS languages
        FROM per GROUP BY ALL
    ),
    first_day AS (
        SELECT platform, min(date) AS first FROM trusted_social_mentions GROUP BY ALL
        UNION ALL SELECT 'all', min(date) FROM trusted_social_mentions
    ),
    grid AS (
        SELECT cal.date, f.platform
        FROM ({_calendar("?")}) cal JOIN first_day f ON cal.date >= f.first
    ),
    filled AS (
        SELECT g.date, g.platform, coalesce(d.mentions, 0) AS mentions,
               coalesce(d.positive, 0) AS positive, coalesce(d.neutral, 0) AS neutral,
               coalesce(d.negative, 0) AS negative, d.avg_sentiment,
               coalesce(d.engagement, 0) AS engagement, d.scored_share,
               coalesce(d.languages, '{{}}') AS languages
        FROM grid g LEFT JOIN daily d USING (date, platform)
    ),
    stats AS (
        SELECT *,
               median(mentions) OVER prior AS prior_median,
               mad(mentions) OVER prior AS prior_mad,
               count(*) OVER prior AS prior_days
        FROM filled
        WINDOW prior AS (PARTITION BY platform ORDER BY date
                         RANGE BETWEEN INTERVAL 28 DAYS PRECEDING AND INTERVAL 1 DAY PRECEDING)
    )
    SELECT date, platform, mentions, positive, neutral, negative, avg_sentiment,
           CASE WHEN positive + neutral + negative > 0
                THEN (positive - negative) / (positive + neutral + negative) END AS net_sentiment,
           engagement,
           is_spike(mentions, prior_median, prior_mad, prior_days) AS is_spike,
           scored_share, languages
    FROM stats WHERE date BETWEEN ? AND ?
    """
    params = [w.back(28), w.end, w.back(28), w.end, w.start, w.end]
    return _replace(con, "social_sentiment_daily", select, params, where_params=[w.start, w.end])


def build_app_reviews_daily(con: duckdb.DuckDBPyConnection, w: Window) -> int:
    """App Store reviews per day, per storefront and for all together (`all`).

    A star rating is not an NPS: it is kept as its own metric, the mean of 1-5 stars,
    with the share of 1-2 star reviews and a trailing 28-day mean (this day and the 27
    before it) that a single day's handful of reviews cannot swing. The review text's
    sentiment is over the scored reviews only, as everywhere.
    """
    texts = """SELECT text AS t FROM trusted_social_mentions
               WHERE platform = 'app_store' AND date BETWEEN ? AND ?"""
    ensure_scored(con, texts, [w.back(27), w.end])
    select = f"""
    WITH r AS (
        SELECT date, coalesce(storefront, 'unknown') AS storefront, rating, s.compound,
               s.language
        FROM trusted_social_mentions x LEFT JOIN {SCORES} s ON s.text_hash = md5(x.text)
        WHERE platform = 'app_store' AND date BETWEEN ?::DATE - 27 AND ? AND NOT is_deleted
              AND rating IS NOT NULL
    ),
    per AS (SELECT * FROM r UNION ALL SELECT date, 'all', rating, compound, language FROM r),
    daily AS (
        SELECT date, storefront, count(*) AS reviews, sum(rating) AS stars,
               avg((rating <= 2)::INTEGER) AS low_rating_share,
               exact_avg(compound) AS avg_sentiment,
               avg((compound IS NOT NULL)::INTEGER) AS scored_share,
               language_counts(language) AS languages
        FROM per GROUP BY ALL
    ),
    rolling AS (
        SELECT *,
               sum(reviews) OVER last28 AS reviews_28d, sum(stars) OVER last28 AS stars_28d
        FROM daily
        WINDOW last28 AS (PARTITION BY storefront ORDER BY date
                          RANGE BETWEEN INTERVAL 27 DAYS PRECEDING AND CURRENT ROW)
    )
    SELECT date, storefront, reviews, stars / reviews AS avg_rating, low_rating_share,
           reviews_28d, stars_28d / reviews_28d AS avg_rating_28d, avg_sentiment,
           scored_share, languages
    FROM rolling WHERE date BETWEEN ? AND ?
    """
    params = [w.start, w.end, w.start, w.end]
    return _replace(con, "app_reviews_daily", select, params, where_params=[w.start, w.end])


def build_theme_impact(con: duckdb.DuckDBPyConnection, w: Window) -> int:
    """What to fix first: per week (and per 28 and 90 days ending that week) and theme, the NPS
    of respondents whose comment names the theme against those whose comment does not,
    and the NPS points the theme costs overall.

    Points lost = 100 x the theme's detractors / all responses of the period: how much
    higher the period's NPS would be had they been passives. It is additive over
    respondents and needs no model, so a lead can check it by hand; a theme named by
    one angry respondent in a thousand costs 0.1 point, one named by half the
    detractors costs half the detractor share. The gap's margin is that of a
    difference of two independent adjusted-Wald estimates. `other` (no theme) is left
    out: it is nothing one can fix. Rebuilds every week the window touches.

    Built from the trusted source-days only; `sources_missing` names nps or feedback
    when a day of the period was untrusted (`data_trust`), and its figures leave it out.
    """
    _ensure(con, "data_trust")
    first = w.start - timedelta(days=w.start.weekday())
    last = w.end - timedelta(days=w.end.weekday())
    select = """
    WITH extent AS (SELECT min(date) AS lo, max(date) AS hi FROM trusted_nps_responses),
    periods AS (
        SELECT w.d::DATE AS week, k."window", least(w.d::DATE + 6, e.hi) AS p_end,
               CASE k."window" WHEN 'week' THEN w.d::DATE ELSE p_end - k.days + 1 END
                   AS p_start,
               w.d::DATE + 6 > e.hi OR p_start < e.lo AS is_partial_period
        FROM extent e, generate_series(?::DATE, ?::DATE, INTERVAL 7 DAY) w(d),
             (VALUES ('week', 7), ('28d', 28), ('90d', 90)) k("window", days)
        WHERE w.d::DATE <= e.hi
    ),
    responses AS (
        SELECT r.date, r.response_id, r.category, r.plan, r.account_id, c.themes
        FROM trusted_nps_responses r
        LEFT JOIN trusted_nps_comments c ON c.response_id = r.response_id AND c.date = r.date
        WHERE r.date BETWEEN ?::DATE - 89 AND ?::DATE + 6
    ),
    in_period AS (
        SELECT p.week, p."window", x.* FROM periods p
        JOIN responses x ON x.date BETWEEN p.p_start AND p.p_end
    ),
    totals AS (
        SELECT week, "window", count(*) AS n_all,
               count(*) FILTER (themes IS NOT NULL) AS n_c,
               count(*) FILTER (themes IS NOT NULL AND category = 'promoter') AS p_c,
               count(*) FILTER (themes IS NOT NULL AND category = 'detractor') AS d_c
        FROM in_period GROUP BY ALL
    ),
    mentions AS (
        SELECT week, "window", theme, count(*) AS n_m,
               count(*) FILTER (category = 'promoter') AS p_m,
               count(*) FILTER (category = 'detractor') AS d_m,
               list(DISTINCT account_id) FILTER (account_id IS NOT NULL) AS accounts,
               list(DISTINCT plan) FILTER (plan IS NOT NULL) AS plans
        FROM (SELECT * EXCLUDE (themes), unnest(list_distinct(themes)) AS theme
              FROM in_period WHERE themes IS NOT NULL)
        WHERE theme <> 'other' GROUP BY ALL
    ),
    tickets AS (
        SELECT p.week, p."window", f.theme, count(*) AS tickets,
               list(DISTINCT f.account_id) FILTER (f.account_id IS NOT NULL) AS accounts,
               list(DISTINCT f.plan) FILTER (f.plan IS NOT NULL) AS plans
        FROM periods p
        JOIN (SELECT date, account_id, plan, unnest(list_distinct(themes)) AS theme
              FROM trusted_feedback_items WHERE date BETWEEN ?::DATE - 89 AND ?::DATE + 6) f
          ON f.date BETWEEN p.p_start AND p.p_end
        WHERE f.theme <> 'other' GROUP BY ALL
    ),
    missing AS (
        SELECT p.week, p."window", list_sort(list(DISTINCT t.source)) AS sources
        -- To the week's end: a period stops at the newest trusted response, and the
        -- untrusted days after it are what the row lacks.
        FROM periods p JOIN marts.data_trust t ON t.date BETWEEN p.p_start AND p.week + 6
        WHERE NOT t.trusted AND t.source IN ('nps', 'feedback') GROUP BY ALL
    ),
    joined AS (
        SELECT p.week, p."window", coalesce(m.theme, t.theme) AS theme, p.is_partial_period,
               coalesce(m.n_m, 0) AS n_m, coalesce(m.p_m, 0) AS p_m, coalesce(m.d_m, 0) AS d_m,
               x.n_c - coalesce(m.n_m, 0) AS n_o, x.p_c - coalesce(m.p_m, 0) AS p_o,
               x.d_c - coalesce(m.d_m, 0) AS d_o, x.n_all, coalesce(t.tickets, 0) AS tickets,
               list_distinct(flatten([coalesce(m.accounts, []), coalesce(t.accounts, [])]))
                   AS accounts,
               list_sort(list_distinct(flatten([coalesce(m.plans, []), coalesce(t.plans, [])])))
                   AS plans_affected,
               coalesce(s.sources, []) AS sources_missing
        FROM mentions m FULL JOIN tickets t USING (week, "window", theme)
        JOIN periods p ON p.week = coalesce(m.week, t.week) AND p."window" = coalesce(m."window", t."window")
        LEFT JOIN totals x ON x.week = p.week AND x."window" = p."window"
        LEFT JOIN missing s ON s.week = p.week AND s."window" = p."window"
    ),
    scored AS (
        SELECT *, nps(p_m, d_m, n_m) AS nps_m, nps(p_o, d_o, n_o) AS nps_o,
               coalesce(100.0 * d_m / nullif(n_all, 0), 0) AS points_lost
        FROM joined
    )
    SELECT week, "window", theme, n_m AS nps_responses_mentioning, nps_m AS nps_mentioning,
           nps_o AS nps_not_mentioning, nps_m - nps_o AS nps_gap,
           CASE WHEN nps_m IS NOT NULL AND nps_o IS NOT NULL
                THEN sqrt(power(nps_moe(p_m, d_m, n_m), 2) + power(nps_moe(p_o, d_o, n_o), 2))
           END AS nps_gap_margin_of_error,
           points_lost AS nps_points_lost, tickets, len(accounts) AS accounts_affected,
           plans_affected,
           rank() OVER (PARTITION BY week, "window" ORDER BY points_lost DESC, tickets DESC)
               AS rank,
           is_partial_period, sources_missing
    FROM scored
    """
    params = [first, last, first, last, first, last]
    return _replace(con, "theme_impact", select, params, "week BETWEEN ? AND ?", [first, last])


def build_tool_usage_daily(con: duckdb.DuckDBPyConnection, w: Window) -> int:
    """DAU, WAU and MAU per tool and day, without rescanning 30 days for every day.

    A user's active day counts towards the WAU (MAU) of the 7 (30) days from it, until
    their next active day: so each active day adds +1 on its date and -1 when that span
    ends, and a running sum per tool gives the distinct users of every trailing window
    in one pass (12 s -> 0.8 s for 90 days of 1.6 M events; same numbers).
    """
    select = f"""
    WITH ev AS (
        SELECT date, tool, user_key, outcome FROM trusted_tool_events WHERE date BETWEEN ? AND ?
    ),
    active AS (
        SELECT DISTINCT date, tool, user_key FROM ev WHERE outcome IN {SUCCESS_OUTCOMES}
    ),
    spans AS (
        SELECT tool, date, lead(date) OVER (PARTITION BY tool, user_key ORDER BY date) AS nxt
        FROM active
    ),
    deltas AS (
        SELECT tool, date, 1 AS w, 1 AS m FROM spans
        UNION ALL SELECT tool, least(date + 7, coalesce(nxt, date + 7)), -1, 0 FROM spans
        UNION ALL SELECT tool, least(date + 30, coalesce(nxt, date + 30)), 0, -1 FROM spans
    ),
    per_day AS (SELECT tool, date, sum(w) AS w, sum(m) AS m FROM deltas GROUP BY tool, date),
    running AS (
        SELECT tool, date, sum(w) OVER t AS wau, sum(m) OVER t AS mau
        FROM per_day WINDOW t AS (PARTITION BY tool ORDER BY date)
    ),
    daily AS (SELECT date, tool, count(*) AS dau FROM active GROUP BY ALL),
    counts AS (
        SELECT date, tool, count(*) AS events,
               count(*) FILTER (outcome IN {NEGATIVE_OUTCOMES}) AS failed_events
        FROM ev WHERE date BETWEEN ? AND ? GROUP BY ALL
    ),
    grid AS (
        SELECT cal.date, t.tool FROM ({_calendar()}) cal CROSS JOIN (SELECT DISTINCT tool FROM ev) t
    ),
    users AS (
        SELECT g.date, g.tool, coalesce(d.dau, 0) AS dau, coalesce(r.wau, 0) AS wau,
               coalesce(r.mau, 0) AS mau
        FROM grid g ASOF LEFT JOIN running r ON g.tool = r.tool AND g.date >= r.date
        LEFT JOIN daily d ON d.tool = g.tool AND d.date = g.date
    )
    SELECT u.date, u.tool, u.dau, u.wau, u.mau,
           CASE WHEN u.mau > 0 THEN u.dau / u.mau END AS stickiness,
           coalesce(c.events, 0) AS events, coalesce(c.failed_events, 0) AS failed_events
    FROM users u LEFT JOIN counts c USING (date, tool)
    WHERE u.mau > 0 OR c.events > 0
    """
    params = [w.back(29), w.end, w.start, w.end, w.start, w.end]
    return _replace(con, "tool_usage_daily", select, params, where_params=[w.start, w.end])


def build_tool_licences(con: duckdb.DuckDBPyConnection, w: Window) -> int:
    """Seats against use per tool and day, and what right-sizing at renewal would save.

    The tools are those of the newest inventory file: a tool it no longer lists drops
    out; a tool whose row in it was quarantined keeps its last good row, marked stale.
    Recommended seats cover the 90th percentile of the 30-day active users over 90 days
    at a target utilisation of 0.9; inactive users are people active in the year before
    but not in the last 60 days, counted per day from each active day's span to the next
    (one pass, as in `build_tool_usage_daily`).
    """
    select = f"""
    WITH inventory AS (
        SELECT _key AS key, as_of, false AS bad FROM trusted_tool_licences
        UNION ALL SELECT record_key, ingested_at, true FROM quarantine.licences
    ),
    current AS (
        SELECT key, bool_or(bad) AS is_stale FROM inventory
        WHERE as_of = (SELECT max(as_of) FROM inventory) AND key IS NOT NULL GROUP BY key
    ),
    lic AS (
        SELECT l.*, lower(l.tool) AS tool_id, c.is_stale
        FROM trusted_tool_licences l JOIN current c ON c.key = l._key
    ),
    usage AS (
        SELECT date, lower(tool) AS tool_id, mau,
               quantile_cont(mau, 0.9) OVER (PARTITION BY tool ORDER BY date
                   RANGE BETWEEN INTERVAL 89 DAYS PRECEDING AND CURRENT ROW) AS mau_p90
        FROM marts.tool_usage_daily WHERE date BETWEEN ?::DATE - 89 AND ?
    ),
    active AS (
        SELECT DISTINCT lower(tool) AS tool_id, user_key, date FROM trusted_tool_events
        WHERE date BETWEEN ?::DATE - 365 AND ? AND outcome IN {SUCCESS_OUTCOMES}
    ),
    spans AS (
        SELECT tool_id, date,
               least(coalesce(lead(date) OVER (PARTITION BY tool_id, user_key ORDER BY date),
                              date + 366), date + 366) AS until
        FROM active
    ),
    deltas AS (
        SELECT tool_id, date + 60 AS date, 1 AS n FROM spans WHERE until > date + 60
        UNION ALL SELECT tool_id, until, -1 FROM spans WHERE until > date + 60
    ),
    per_day AS (SELECT tool_id, date, sum(n) AS n FROM deltas GROUP BY ALL),
    inactive AS (
        SELECT tool_id, date, sum(n) OVER (PARTITION BY tool_id ORDER BY date) AS users
        FROM per_day
    ),
    rows AS (
        SELECT cal.date, l.tool, l.seats, coalesce(u.mau, 0) AS active_users_30d,
               l.annual_cost, l.currency, l.owner, l.renewal_date, l.is_stale,
               coalesce(i.users, 0) AS inactive_users_60d,
               ceil(coalesce(u.mau_p90, 0) / 0.9)::INTEGER AS recommended_seats
        FROM ({_calendar()}) cal
        CROSS JOIN lic l
        LEFT JOIN usage u ON u.date = cal.date AND u.tool_id = l.tool_id
        ASOF LEFT JOIN inactive i ON i.tool_id = l.tool_id AND cal.date >= i.date
    )
    SELECT date, tool, seats, active_users_30d,
           CASE WHEN seats > 0 THEN active_users_30d / seats END AS utilisation,
           greatest(seats - active_users_30d, 0) AS unused_seats,
           annual_cost,
           CASE WHEN active_users_30d > 0 THEN annual_cost / active_users_30d END
               AS cost_per_active_user,
           owner, currency, renewal_date, renewal_date - date AS days_to_renewal,
           coalesce(renewal_date - date BETWEEN 0 AND 90, false) AS renewal_within_90d,
           inactive_users_60d, recommended_seats,
           CASE WHEN seats > 0
                THEN greatest(seats - recommended_seats, 0) * annual_cost / seats END
               AS savings_at_renewal,
           is_stale
    FROM rows
    """
    params = [w.start, w.end, w.start, w.end, w.start, w.end]
    return _replace(con, "tool_licences", select, params, where_params=[w.start, w.end])


def build_account_voice(con: duckdb.DuckDBPyConnection) -> int:
    """One row per account, as of the latest day `data_trust` judged (90-day signals),
    from the trusted source-days; `sources_missing` names nps or feedback when not
    trusted that day."""
    _ensure(con, "data_trust")
    select = """
    WITH as_of AS (SELECT coalesce((SELECT max(date) FROM marts.data_trust),
                                   (SELECT max(date) FROM trusted_feedback_items)) AS d),
    nps AS (
        SELECT account_id, count(*) AS nps_responses,
               arg_max(score, responded_at) AS latest_score,
               arg_max(category, responded_at) AS latest_category,
               max(responded_at) AS latest_response_at,
               arg_max(plan, responded_at) AS plan, arg_max(region, responded_at) AS region
        FROM trusted_nps_responses WHERE account_id IS NOT NULL GROUP BY ALL
    ),
    fb AS (
        SELECT account_id, count(*) AS feedback_items_90d,
               avg((sentiment_label = 'negative')::INTEGER) AS negative_feedback_share_90d,
               avg((sentiment IS NOT NULL)::INTEGER) AS feedback_scored_share_90d,
               language_counts(language) AS feedback_languages_90d,
               max(created_at) AS last_feedback_at, arg_max(plan, created_at) AS plan
        FROM trusted_feedback_items, as_of
        WHERE account_id IS NOT NULL AND date > as_of.d - 90 GROUP BY ALL
    ),
    th AS (
        SELECT account_id, list(theme ORDER BY n DESC, theme)[1:3] AS top_themes_90d
        FROM (SELECT account_id, theme, count(*) AS n
              FROM (SELECT account_id, unnest(themes) AS theme
                    FROM trusted_feedback_items, as_of
                    WHERE account_id IS NOT NULL AND date > as_of.d - 90)
              GROUP BY ALL)
        GROUP BY ALL
    ),
    missing AS (
        SELECT coalesce(list_sort(list(DISTINCT t.source)), []) AS sources
        FROM marts.data_trust t, as_of
        WHERE t.date = as_of.d AND NOT t.trusted AND t.source IN ('nps', 'feedback')
    )
    SELECT coalesce(n.account_id, f.account_id) AS account_id,
           coalesce(n.plan, f.plan) AS plan, n.region,
           coalesce(n.nps_responses, 0) AS nps_responses, n.latest_score, n.latest_category,
           n.latest_response_at, coalesce(f.feedback_items_90d, 0) AS feedback_items_90d,
           f.negative_feedback_share_90d, f.feedback_scored_share_90d, f.feedback_languages_90d,
           coalesce(th.top_themes_90d, []) AS top_themes_90d,
           greatest(n.latest_response_at, f.last_feedback_at) AS last_signal_at,
           missing.sources AS sources_missing
    FROM nps n FULL JOIN fb f USING (account_id) LEFT JOIN th USING (account_id), missing
    """
    return _replace(con, "account_voice", select, [], where="true")


# The latest evaluation of every check per day and source (the licence inventory's
# checks, which have no day, apply to every day).
CHECKS_PER_DAY = """
    SELECT cal.date, r.source, count(*) AS checks_run,
           count(*) FILTER (NOT r.passed) AS checks_failed,
           count(*) FILTER (NOT r.passed AND r.severity = 'ERROR') AS blocking_failed,
           string_agg(CASE WHEN NOT r.passed THEN r.check_name || ' (' || r.severity || '): '
                           || r.description
                           WHEN starts_with(r.run_id, 'accepted:')
                           THEN r.check_name || ' ' || r.description END,
                      '; ' ORDER BY r.severity, r.check_name) AS notes
    FROM (SELECT d::DATE AS date FROM generate_series(?::DATE, ?::DATE, INTERVAL 1 DAY) t(d)) cal
    JOIN quality.latest_results r ON r.partition = cal.date OR r.partition IS NULL
    GROUP BY ALL
"""


def _rejected_files(source: str) -> str:
    """SQL: the landing files of `source` rejected whole on the day or the morning after
    (when the daily run for the day ingests), as `file (reason)`; NULL when none."""
    return f"""(SELECT string_agg(f.file || ' (' || f.reason || ')', '; ' ORDER BY f.file)
                FROM quarantine.files f WHERE f.source = '{source}'
                AND f.arrived_at::DATE BETWEEN cal.date AND cal.date + 1)"""


def build_data_trust(
    con: duckdb.DuckDBPyConnection, w: Window, now: datetime, checks: str | None = None
) -> int:
    """Per day and source: rows, quarantine, checks, freshness and whether to trust it.

    `checks` is SQL yielding (date, source, checks_run, checks_failed, blocking_failed,
    notes), by default the latest quality results. Freshness is how old the newest record
    was when this run published the day (`now`) for today and yesterday, the days a daily
    run publishes; for older days it is measured at the day's close, so rebuilding the
    past gives the same table. A source is trusted on a day when no blocking check
    failed, it was fresh enough and at least one record arrived (for the licence
    inventory, ever): absence is not trust.
    """
    checks = checks or CHECKS_PER_DAY
    daily = [
        ("nps", "nps_responses", "responded_at"),
        ("feedback", "feedback", "created_at"),
        ("social", "social_mentions", "created_at"),
        ("tool_usage", "tool_events", "occurred_at"),
    ]
    parts = [
        f"""SELECT cal.date, '{src}' AS source,
               (SELECT count(*) FROM staging.{table} WHERE date = cal.date) AS rows_loaded,
               (SELECT count(*) FROM quarantine.{src} WHERE date = cal.date) AS rows_quarantined,
               (SELECT max({ts}) FROM staging.{table}
                 WHERE date BETWEEN cal.date - 7 AND cal.date) AS newest,
               {_rejected_files(src)} AS rejected
            FROM ({_calendar()}) cal"""
        for src, table, ts in daily
    ]
    parts.append(
        f"""SELECT cal.date, 'licences',
               (SELECT count(*) FROM staging.tool_licences),
               (SELECT count(*) FROM quarantine.licences),
               (SELECT max(as_of) FROM staging.tool_licences),
               {_rejected_files("licences")}
            FROM ({_calendar()}) cal"""
    )
    limits = " ".join(f"WHEN '{s}' THEN {h}" for s, h in FRESHNESS_LIMIT_HOURS.items())
    select = f"""
    WITH base AS ({" UNION ALL ".join(parts)}),
    timed AS (
        SELECT b.*,
               -- Measured when the day closed (or now, for today), so past days rebuild the
               -- same; an inventory delivered after a day counts as fresh for it.
               -- greatest() skips NULLs: without the CASE, a source with no record at all
               -- would be 0 hours old, and fresh.
               CASE WHEN newest IS NOT NULL THEN greatest(date_diff('second', newest,
                   CASE WHEN b.date >= ?::TIMESTAMP::DATE - 1 THEN ?::TIMESTAMP
                        ELSE (b.date + 1)::TIMESTAMP END), 0) / 3600.0 END AS freshness_hours,
               CASE b.source {limits} END AS limit_hours
        FROM base b
    )
    SELECT t.date, t.source, t.rows_loaded, t.rows_quarantined,
           coalesce(c.checks_run, 0) AS checks_run, coalesce(c.checks_failed, 0) AS checks_failed,
           round(t.freshness_hours, 2) AS freshness_hours,
           coalesce(c.blocking_failed, 0) = 0 AND coalesce(t.freshness_hours <= t.limit_hours, false)
               AND t.rows_loaded > 0 AND t.rejected IS NULL AS trusted,
           nullif(concat_ws('; ',
               c.notes,
               CASE WHEN t.source <> 'licences' AND t.rows_loaded = 0
                    THEN 'no records arrived for this day'
                    WHEN t.rows_loaded = 0 THEN 'no licence inventory has arrived' END,
               CASE WHEN t.rejected IS NOT NULL
                    THEN 'landing file(s) could not be read: ' || left(t.rejected, 400) END,
               CASE WHEN t.freshness_hours IS NULL AND t.source <> 'licences'
                    THEN 'no records in the last 7 days'
                    WHEN t.freshness_hours > t.limit_hours
                    THEN format('stale: newest record {{}} h old (limit {{}} h)',
                                round(t.freshness_hours, 1), t.limit_hours) END,
               CASE WHEN t.rows_quarantined > 0
                    THEN format('{{}} row(s) quarantined', t.rows_quarantined) END), '') AS notes
    FROM timed t LEFT JOIN ({checks}) c USING (date, source)
    """
    params: list = []
    for _ in range(5):
        params += [w.start, w.end]
    params += [now.replace(tzinfo=None), now.replace(tzinfo=None), w.start, w.end]
    return _replace(con, "data_trust", select, params, where_params=[w.start, w.end])


# kpi_daily's figures: each is there only when its sources are (column: (when, value)).
_KPI_FIGURES = {
    "nps_28d": ("nps", "nps_28d"),
    "nps_responses_28d": ("nps", "responses_28d"),
    "feedback_items": ("feedback", "items"),
    "negative_feedback_share": ("feedback", "negative_share"),
    "feedback_scored_share": ("feedback", "feedback_scored_share"),
    "feedback_languages": ("feedback", "feedback_languages"),
    "social_mentions": ("social", "mentions"),
    "social_net_sentiment": ("social", "net_sentiment"),
    "social_scored_share": ("social", "social_scored_share"),
    "social_languages": ("social", "social_languages"),
    "app_reviews": ("social", "app_reviews"),
    "app_avg_rating": ("social", "app_avg_rating"),
    "tool_active_users": ("tool_usage", "users"),
    "licence_utilisation": ("licences AND tool_usage", "utilisation"),
}


def build_kpi_daily(con: duckdb.DuckDBPyConnection, w: Window) -> int:
    """One row per day from the other marts. A source's figures are there only where
    `data_trust` trusts it that day and its mart was built for the day: otherwise they
    are NULL (never a zero, never an older day's figure) and `sources_missing` names the
    source. A day `data_trust` has not built lacks every source."""
    _ensure(con, "data_trust")
    _ensure(con, "app_reviews_daily")
    flags = ", ".join(
        f"coalesce(bool_or(trusted) FILTER (source = {literal(s)}), false) AS {s}"
        for s in FRESHNESS_LIMIT_HOURS
    )
    select = f"""
    WITH trust AS (
        SELECT date, count(*) FILTER (trusted) AS trusted, {flags}
        FROM marts.data_trust WHERE date BETWEEN ? AND ? GROUP BY ALL
    ),
    have AS (
        SELECT cal.date, coalesce(t.trusted, 0) AS trusted,
               coalesce(t.nps, false) AND n.date IS NOT NULL AS nps,
               coalesce(t.feedback, false) AND f.date IS NOT NULL AS feedback,
               coalesce(t.social, false) AND s.date IS NOT NULL AS social,
               coalesce(t.tool_usage, false) AND EXISTS (
                   SELECT 1 FROM marts.tool_usage_daily d WHERE d.date = cal.date) AS tool_usage,
               coalesce(t.licences, false) AND l.date IS NOT NULL AS licences,
               n.nps_28d, n.responses_28d, f.items, f.negative_share, s.mentions,
               s.net_sentiment, coalesce(u.users, 0) AS users, l.utilisation,
               f.scored_share AS feedback_scored_share, f.languages AS feedback_languages,
               s.scored_share AS social_scored_share, s.languages AS social_languages,
               coalesce(a.reviews, 0) AS app_reviews, a.avg_rating AS app_avg_rating
        FROM ({_calendar()}) cal
        LEFT JOIN trust t ON t.date = cal.date
        LEFT JOIN marts.nps_daily n ON n.date = cal.date AND n.segment = 'all'
        LEFT JOIN (SELECT date, count(*) AS items,
                          avg((sentiment_label = 'negative')::INTEGER) AS negative_share,
                          avg((sentiment IS NOT NULL)::INTEGER) AS scored_share,
                          language_counts(language) AS languages
                   FROM trusted_feedback_items WHERE date BETWEEN ? AND ? GROUP BY ALL) f
               ON f.date = cal.date
        LEFT JOIN marts.social_sentiment_daily s ON s.date = cal.date AND s.platform = 'all'
        LEFT JOIN marts.app_reviews_daily a ON a.date = cal.date AND a.storefront = 'all'
        LEFT JOIN (SELECT date, count(DISTINCT user_key) AS users FROM trusted_tool_events
                   WHERE date BETWEEN ? AND ? AND outcome IN {SUCCESS_OUTCOMES} GROUP BY ALL) u
               ON u.date = cal.date
        LEFT JOIN (SELECT date, CASE WHEN sum(seats) > 0
                                     THEN sum(active_users_30d) / sum(seats) END
                                     AS utilisation
                   FROM marts.tool_licences WHERE date BETWEEN ? AND ? GROUP BY ALL) l
               ON l.date = cal.date
    )
    SELECT date, trusted AS sources_trusted,
           {", ".join(f"CASE WHEN {when} THEN {value} END AS {name}" for name, (when, value) in _KPI_FIGURES.items())},
           list_sort(list_filter([{", ".join(f"CASE WHEN NOT {s} THEN {literal(s)} END" for s in FRESHNESS_LIMIT_HOURS)}],
                                 lambda x: x IS NOT NULL)) AS sources_missing
    FROM have
    """
    params = [w.start, w.end] * 5
    return _replace(con, "kpi_daily", select, params, where_params=[w.start, w.end])


WINDOWED: dict[str, Callable[[duckdb.DuckDBPyConnection, Window], int]] = {
    "nps_daily": build_nps_daily,
    "nps_comments": build_nps_comments,
    "feedback_items": build_feedback_items,
    "feedback_themes_weekly": build_feedback_themes_weekly,
    "social_sentiment_daily": build_social_sentiment_daily,
    "app_reviews_daily": build_app_reviews_daily,
    "tool_usage_daily": build_tool_usage_daily,
    "tool_licences": build_tool_licences,
    "theme_impact": build_theme_impact,
    "kpi_daily": build_kpi_daily,
}
