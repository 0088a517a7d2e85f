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
from productops.sentiment import CACHE, LABEL_MACRO, ensure_scored
from productops.sql import table_columns
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
        nps_margin_of_error DOUBLE, nps_28d DOUBLE, responses_28d INTEGER""",
    "nps_comments": """response_id VARCHAR, date DATE, score INTEGER, category VARCHAR,
        plan VARCHAR, region VARCHAR, channel VARCHAR, comment VARCHAR, themes VARCHAR[],
        sentiment DOUBLE, sentiment_label VARCHAR""",
    "feedback_items": """feedback_id VARCHAR, date DATE, week DATE, origin VARCHAR,
        channel VARCHAR, account_id VARCHAR, plan VARCHAR, created_at TIMESTAMP, text VARCHAR,
        themes VARCHAR[], sentiment DOUBLE, sentiment_label VARCHAR""",
    "feedback_themes_weekly": """week DATE, theme VARCHAR, items INTEGER, negative_share DOUBLE,
        avg_sentiment DOUBLE, items_prev_week INTEGER, wow_change DOUBLE, is_emerging BOOLEAN""",
    "social_sentiment_daily": """date DATE, platform VARCHAR, mentions INTEGER, positive INTEGER,
        neutral INTEGER, negative INTEGER, avg_sentiment DOUBLE, net_sentiment DOUBLE,
        engagement BIGINT, is_spike BOOLEAN""",
    "tool_usage_daily": """date DATE, tool VARCHAR, dau INTEGER, wau INTEGER, mau INTEGER,
        stickiness DOUBLE, events INTEGER, failed_events INTEGER""",
    "tool_licences": """date DATE, tool VARCHAR, seats INTEGER, active_users_30d INTEGER,
        utilisation DOUBLE, unused_seats INTEGER, annual_cost DECIMAL(14, 2),
        cost_per_active_user DECIMAL(14, 2), owner VARCHAR""",
    "account_voice": """account_id VARCHAR, plan VARCHAR, region VARCHAR, nps_responses INTEGER,
        latest_score INTEGER, latest_category VARCHAR, latest_response_at TIMESTAMP,
        feedback_items_90d INTEGER, negative_feedback_share_90d DOUBLE,
        top_themes_90d VARCHAR[], last_signal_at TIMESTAMP""",
    "data_trust": """date DATE, source VARCHAR, rows_loaded INTEGER, rows_quarantined INTEGER,
        checks_run INTEGER, checks_failed INTEGER, freshness_hours DOUBLE, trusted BOOLEAN,
        notes VARCHAR""",
    "kpi_daily": """date DATE, nps_28d DOUBLE, nps_responses_28d INTEGER, feedback_items INTEGER,
        negative_feedback_share DOUBLE, social_mentions INTEGER, social_net_sentiment DOUBLE,
        tool_active_users INTEGER, licence_utilisation DOUBLE, sources_trusted INTEGER""",
}
# The tables BI may rely on (docs/contract.md); the others are internal to the warehouse.
CONTRACT_TABLES = (
    "nps_daily", "nps_comments", "feedback_themes_weekly", "social_sentiment_daily",
    "tool_usage_daily", "tool_licences", "account_voice", "data_trust", "kpi_daily",
)  # fmt: skip


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
    con.execute(taxonomy.macro_sql())
    con.execute(LABEL_MACRO)
    con.execute(
        """CREATE OR REPLACE TEMP MACRO nps(p, d, n) AS
               CASE WHEN n > 0 THEN 100.0 * (p - d) / n END;
           -- VADER scores have 4 decimals: summed as integers, an average is the same
           -- whatever order parallel threads add them in (a double sum is not).
           CREATE OR REPLACE TEMP MACRO exact_avg(x) AS
               sum(round(x * 10000)::BIGINT) / nullif(count(x), 0) / 10000.0;
           CREATE OR REPLACE TEMP MACRO nps_moe(p, d, n) AS
               CASE WHEN n >= 2 THEN 100 * 1.96 * sqrt(greatest(
                   ((p + d) / n) - power((p - d) / n, 2), 0) / n) END;"""
    )


def contract_columns(table: str) -> list[str]:
    """Column names of a mart's DDL (commas inside a type such as DECIMAL(14, 2) are not separators)."""
    return [c.split()[0] for c in re.split(r",(?![^()]*\))", DDL[table]) if c.strip()]


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
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM marts.{table} WHERE {where}", where_params or [])
        con.execute(f"INSERT INTO marts.{table} BY NAME {select}", params)
        written = con.execute(
            f"SELECT count(*) FROM marts.{table} WHERE {where}", where_params or []
        ).fetchall()[0][0]
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return int(written)


def _calendar(start: str = "?", end: str = "?") -> str:
    return f"SELECT d::DATE AS date FROM generate_series({start}::DATE, {end}::DATE, INTERVAL 1 DAY) t(d)"


def build_nps_daily(con: duckdb.DuckDBPyConnection, w: Window) -> int:
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
               coalesce(sum(x.n), 0) AS n28, coalesce(sum(x.p), 0) AS p28, coalesce(sum(x.d), 0) AS d28
        FROM grid g LEFT JOIN daily x
          ON x.segment = g.segment AND x.segment_value = g.segment_value
         AND x.date BETWEEN g.date - 27 AND g.date
        GROUP BY ALL
    )
    SELECT date, segment, segment_value, responses, promoters, passives, detractors,
           nps(promoters, detractors, responses) AS nps,
           nps_moe(promoters, detractors, responses) AS nps_margin_of_error,
           nps(p28, d28, n28) AS nps_28d, n28 AS responses_28d
    FROM rolled WHERE n28 > 0
    """
    return _replace(
        con, "nps_daily", select, [w.back(27), w.end, w.start, w.end], where_params=[w.start, w.end]
    )


def build_nps_comments(con: duckdb.DuckDBPyConnection, w: Window) -> int:
    texts = "SELECT comment AS t FROM trusted_nps_responses WHERE date BETWEEN ? AND ?"
    ensure_scored(con, texts, [w.start, w.end])
    select = f"""
    SELECT response_id, date, score, category, plan, region, channel, comment,
           themes(comment) AS themes, s.compound AS sentiment,
           sentiment_label(s.compound) AS sentiment_label
    FROM trusted_nps_responses r LEFT JOIN {CACHE} s ON s.text_hash = md5(r.comment)
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
           themes({_FEEDBACK_TEXT}) AS themes, s.compound AS sentiment,
           sentiment_label(s.compound) AS sentiment_label
    FROM trusted_feedback f LEFT JOIN {CACHE} s ON s.text_hash = md5({_FEEDBACK_TEXT})
    WHERE date BETWEEN ? AND ? AND NOT is_deleted
    """
    return _replace(con, "feedback_items", select, [w.start, w.end], where_params=[w.start, w.end])


def build_feedback_themes_weekly(con: duckdb.DuckDBPyConnection, w: Window) -> int:
    """Rebuilds every ISO week the window touches (a week's row depends on all its days)."""
    first = w.start - timedelta(days=w.start.weekday())
    last = w.end - timedelta(days=w.end.weekday())
    select = """
    WITH items AS (
        SELECT week, unnest(themes) AS theme, sentiment, sentiment_label
        FROM marts.feedback_items WHERE week BETWEEN ?::DATE - 28 AND ?
    ),
    weekly AS (
        SELECT week, theme, count(*) AS items,
               avg((sentiment_label = 'negative')::INTEGER) AS negative_share,
               exact_avg(sentiment) AS avg_sentiment
        FROM items GROUP BY ALL
    ),
    -- Weeks before the first feedback are unknown, not zero: emerging needs 4 real weeks.
    grid AS (
        SELECT w.d::DATE AS week, t.theme
        FROM generate_series(
            greatest(?::DATE - 28, (SELECT min(week) FROM marts.feedback_items)), ?::DATE,
            INTERVAL 7 DAY) w(d)
        CROSS JOIN (SELECT DISTINCT theme FROM weekly) t
    ),
    filled AS (
        SELECT g.week, g.theme, coalesce(x.items, 0) AS items, x.negative_share, x.avg_sentiment
        FROM grid g LEFT JOIN weekly x USING (week, theme)
    ),
    lagged AS (
        SELECT *,
               lag(items) OVER w1 AS items_prev_week,
               avg(items) OVER (PARTITION BY theme ORDER BY week
                                ROWS BETWEEN 4 PRECEDING AND 1 PRECEDING) AS trailing_mean,
               count(*) OVER (PARTITION BY theme ORDER BY week
                              ROWS BETWEEN 4 PRECEDING AND 1 PRECEDING) AS trailing_weeks
        FROM filled WINDOW w1 AS (PARTITION BY theme ORDER BY week)
    )
    SELECT week, theme, items, negative_share, avg_sentiment, items_prev_week,
           CASE WHEN items_prev_week > 0 THEN (items - items_prev_week) / items_prev_week END
               AS wow_change,
           trailing_weeks = 4 AND items >= 5 AND items >= 2 * trailing_mean AS is_emerging
    FROM lagged WHERE week BETWEEN ? AND ? AND items > 0
    """
    params = [first, last, first, last, first, last]
    return _replace(
        con, "feedback_themes_weekly", select, params, "week BETWEEN ? AND ?", [first, last]
    )


def build_social_sentiment_daily(con: duckdb.DuckDBPyConnection, w: Window) -> int:
    texts = "SELECT text AS t FROM trusted_social_mentions WHERE date BETWEEN ? AND ?"
    ensure_scored(con, texts, [w.back(28), w.end])
    select = f"""
    WITH m AS (
        SELECT date, platform, sentiment_label(s.compound) AS label, s.compound,
               points + num_comments AS engagement
        FROM trusted_social_mentions x LEFT JOIN {CACHE} s ON s.text_hash = md5(x.text)
        WHERE date BETWEEN ? AND ?
    ),
    per AS (SELECT * FROM m UNION ALL SELECT date, 'all', label, compound, engagement FROM m),
    daily AS (
        SELECT date, platform, count(*) AS mentions,
               count(*) FILTER (label = 'positive') AS positive,
               count(*) FILTER (label = 'neutral') AS neutral,
               count(*) FILTER (label = 'negative') AS negative,
               exact_avg(compound) AS avg_sentiment, sum(engagement) AS engagement
        FROM per GROUP BY ALL
    ),
    -- Days before the source's first record are unknown, not zero: no spike is called
    -- until 28 days of history exist.
    grid AS (
        SELECT cal.date, p.platform
        FROM ({_calendar("greatest(?::DATE, (SELECT min(date) FROM trusted_social_mentions))")}) cal
        CROSS JOIN (SELECT DISTINCT platform FROM daily) p
    ),
    filled AS (
        SELECT g.date, g.platform, coalesce(d.mentions, 0) AS mentions,
               coalesce(d.positive, 0) AS positive, coalesce(d.neutral, 0) AS neutral,
               coalesce(d.negative, 0) AS negative, d.avg_sentiment,
               coalesce(d.engagement, 0) AS engagement
        FROM grid g LEFT JOIN daily d USING (date, platform)
    ),
    stats AS (
        SELECT *,
               avg(mentions) OVER prior AS prior_mean,
               stddev_samp(mentions) OVER prior AS prior_sd,
               count(*) OVER prior AS prior_days
        FROM filled
        WINDOW prior AS (PARTITION BY platform ORDER BY date
                         RANGE BETWEEN INTERVAL 28 DAYS PRECEDING AND INTERVAL 1 DAY PRECEDING)
    )
    SELECT date, platform, mentions, positive, neutral, negative, avg_sentiment,
           CASE WHEN mentions > 0 THEN (positive - negative) / mentions END AS net_sentiment,
           engagement,
           coalesce(prior_days = 28 AND mentions > prior_mean + 3 * prior_sd
                    AND mentions >= prior_mean + 10, false) AS is_spike
    FROM stats WHERE date BETWEEN ? AND ?
    """
    params = [w.back(28), w.end, w.back(28), w.end, w.start, w.end]
    return _replace(con, "social_sentiment_daily", select, params, where_params=[w.start, w.end])


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
    select = f"""
    SELECT cal.date, l.tool, l.seats, coalesce(u.mau, 0) AS active_users_30d,
           CASE WHEN l.seats > 0 THEN coalesce(u.mau, 0) / l.seats END AS utilisation,
           greatest(l.seats - coalesce(u.mau, 0), 0) AS unused_seats,
           l.annual_cost,
           CASE WHEN u.mau > 0 THEN l.annual_cost / u.mau END AS cost_per_active_user,
           l.owner
    FROM ({_calendar()}) cal
    CROSS JOIN trusted_tool_licences l
    LEFT JOIN marts.tool_usage_daily u ON u.date = cal.date AND lower(u.tool) = lower(l.tool)
    """
    return _replace(con, "tool_licences", select, [w.start, w.end], where_params=[w.start, w.end])


def build_account_voice(con: duckdb.DuckDBPyConnection) -> int:
    """One row per account, as of the latest day in staging (90-day signals)."""
    select = """
    WITH as_of AS (SELECT max(date) AS d FROM marts.feedback_items),
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
               max(created_at) AS last_feedback_at, arg_max(plan, created_at) AS plan
        FROM marts.feedback_items, as_of
        WHERE account_id IS NOT NULL AND date > as_of.d - 90 GROUP BY ALL
    ),
    th AS (
        SELECT account_id, list(theme ORDER BY n DESC, theme)[1:3] AS top_themes_90d
        FROM (SELECT account_id, theme, count(*) AS n
              FROM (SELECT account_id, unnest(themes) AS theme
                    FROM marts.feedback_items, as_of
                    WHERE account_id IS NOT NULL AND date > as_of.d - 90)
              GROUP BY ALL)
        GROUP BY ALL
    )
    SELECT coalesce(n.account_id, f.account_id) AS account_id,
           coalesce(n.plan, f.plan) AS plan, n.region,
           coalesce(n.nps_responses, 0) AS nps_responses, n.latest_score, n.latest_category,
           n.latest_response_at, coalesce(f.feedback_items_90d, 0) AS feedback_items_90d,
           f.negative_feedback_share_90d, coalesce(th.top_themes_90d, []) AS top_themes_90d,
           greatest(n.latest_response_at, f.last_feedback_at) AS last_signal_at
    FROM nps n FULL JOIN fb f USING (account_id) LEFT JOIN th USING (account_id)
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
    failed, it was fresh enough and, for a daily source, at least one record arrived:
    absence is not trust.
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
               greatest(date_diff('second', newest,
                   CASE WHEN b.date >= ?::TIMESTAMP::DATE - 1 THEN ?::TIMESTAMP
                        ELSE (b.date + 1)::TIMESTAMP END), 0) / 3600.0 AS freshness_hours,
               CASE b.source {limits} END AS limit_hours
        FROM base b
    )
    SELECT t.date, t.source, t.rows_loaded, t.rows_quarantined,
           coalesce(c.checks_run, 0) AS checks_run, coalesce(c.checks_failed, 0) AS checks_failed,
           round(t.freshness_hours, 2) AS freshness_hours,
           coalesce(c.blocking_failed, 0) = 0 AND coalesce(t.freshness_hours <= t.limit_hours, false)
               AND (t.source = 'licences' OR t.rows_loaded > 0) AND t.rejected IS NULL AS trusted,
           nullif(concat_ws('; ',
               c.notes,
               CASE WHEN t.source <> 'licences' AND t.rows_loaded = 0
                    THEN 'no records arrived for this day' END,
               CASE WHEN t.rejected IS NOT NULL
                    THEN 'landing file(s) could not be read: ' || left(t.rejected, 400) END,
               CASE WHEN t.freshness_hours IS NULL THEN 'no records in the last 7 days'
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


def build_kpi_daily(con: duckdb.DuckDBPyConnection, w: Window) -> int:
    select = f"""
    SELECT cal.date,
           n.nps_28d, coalesce(n.responses_28d, 0) AS nps_responses_28d,
           coalesce(f.items, 0) AS feedback_items, f.negative_share AS negative_feedback_share,
           coalesce(s.mentions, 0) AS social_mentions, s.net_sentiment AS social_net_sentiment,
           coalesce(u.users, 0) AS tool_active_users, l.utilisation AS licence_utilisation,
           coalesce(t.trusted, 0) AS sources_trusted
    FROM ({_calendar()}) cal
    LEFT JOIN marts.nps_daily n ON n.date = cal.date AND n.segment = 'all'
    LEFT JOIN (SELECT date, count(*) AS items,
                      avg((sentiment_label = 'negative')::INTEGER) AS negative_share
               FROM marts.feedback_items WHERE date BETWEEN ? AND ? GROUP BY ALL) f
           ON f.date = cal.date
    LEFT JOIN marts.social_sentiment_daily s ON s.date = cal.date AND s.platform = 'all'
    LEFT JOIN (SELECT date, count(DISTINCT user_key) AS users FROM trusted_tool_events
               WHERE date BETWEEN ? AND ? AND outcome IN {SUCCESS_OUTCOMES} GROUP BY ALL) u
           ON u.date = cal.date
    LEFT JOIN (SELECT date, CASE WHEN sum(seats) > 0
                                 THEN sum(active_users_30d) / sum(seats) END
                                 AS utilisation
               FROM marts.tool_licences WHERE date BETWEEN ? AND ? GROUP BY ALL) l
           ON l.date = cal.date
    LEFT JOIN (SELECT date, count(*) FILTER (trusted) AS trusted FROM marts.data_trust
               WHERE date BETWEEN ? AND ? GROUP BY ALL) t
           ON t.date = cal.date
    """
    params = [w.start, w.end] * 5
    return _replace(con, "kpi_daily", select, params, where_params=[w.start, w.end])


WINDOWED: dict[str, Callable[[duckdb.DuckDBPyConnection, Window], int]] = {
    "nps_daily": build_nps_daily,
    "nps_comments": build_nps_comments,
    "feedback_items": build_feedback_items,
    "feedback_themes_weekly": build_feedback_themes_weekly,
    "social_sentiment_daily": build_social_sentiment_daily,
    "tool_usage_daily": build_tool_usage_daily,
    "tool_licences": build_tool_licences,
    "kpi_daily": build_kpi_daily,
}
