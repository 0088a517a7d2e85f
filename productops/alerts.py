"""Alerts: the events of newly published days, as the sentences a Product Ops lead gets.

Read from the serving file, the published truth BI sees, never from the warehouse. Each
alert has a key that names the event (`spike:2026-06-09`, `emerging:pricing:2026-05-25`),
so it is sent once however often it is looked for: the key is the Dagster run key of the
run that posts it, and a posted key leaves a marker in the data folder.

Every sentence names its day, and the link opens the newest report written that covers
it (`productops.report_files`), where the alert has an anchor: after a backfill that is
the latest day's report, not the event day's, which was never drawn.

Each kind asks for a change, not a state, so that one story is one message:
- a social spike day;
- the first day of a drop of the 28-day NPS beyond 2.9 standard errors (see
  NPS_DROP_ALERT_Z), none in the 28 days before;
- a theme emerging in a full week, not emerging in the 4 weeks before;
- a source that turned untrusted (a day without records does not count when the
  source's usual volume on that weekday makes an empty day ordinary: a median
  over the 4 same weekdays before under 10);
- a licence renewal within 30 days with savings at renewal.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from productops import report_files
from productops.connectors.http import ApiClient, RetryPolicy
from productops.permissions import private_umask
from productops.sql import table_columns

WEBHOOK_ENV = "PRODUCTOPS_ALERT_WEBHOOK_URL"
REPORT_URL_ENV = "PRODUCTOPS_REPORT_BASE_URL"  # where data/reports/ is served, if it is
# An HTML id holds no white space; these characters need no escaping in a URL fragment.
_NOT_IN_ID = re.compile(r"[^A-Za-z0-9:._-]+")
# The 28-day NPS change is tested every day: at 95 % a year of quiet days holds a dozen
# independent 28-day windows, so a 95 % alert would cry wolf about every other year of
# days (measured: two false drops in a 365-day sample company). An alert asks for
# z > 2.9, Bonferroni over 13 windows a year at a 5 % family-wise rate (p < 0.004);
# the mart's `change_significant` stays the contract's 95 %.
NPS_DROP_ALERT_Z = 2.9
EMPTY_DAY_ORDINARY_BELOW = 10  # a median of 4 days: P(no record) under Poisson exp(-10)


@dataclass(frozen=True)
class ReportLink:
    day: date  # the report's day, on or after the alert's
    url: str


@dataclass(frozen=True)
class Alert:
    key: str
    kind: str
    day: date  # the published day the event belongs to
    sentence: str
    figure: float | None

    @property
    def anchor(self) -> str:
        """The id of the alert's line in a report's alert list (stable: from the key)."""
        return "alert-" + _NOT_IN_ID.sub("-", self.key)

    def message(self, link: ReportLink | None) -> dict[str, object]:
        """Slack's incoming-webhook JSON. The report's own day is named: it is the newest
        report covering the alert's day, which the sentence names."""
        where = f"Report of {link.day}: {link.url}" if link else f"No report covers {self.day}."
        return {"text": f"{self.sentence} {where}", "unfurl_links": False}


_SPIKES = """
    SELECT 'spike:' || date AS key, 'social_spike' AS kind, date,
           format('Social spike on {}: {} mentions against a usual {} a day (median of the 28 '
                  'days before), net sentiment {}{}.', date, mentions, usual,
                  coalesce(round(net_sentiment, 2)::VARCHAR, 'n/a'),
                  coalesce('; spiking on ' || (
                      SELECT string_agg(c.platform, ', ' ORDER BY c.platform)
                      FROM marts.social_sentiment_daily c
                      WHERE c.date = a.date AND c.platform <> 'all' AND c.is_spike), '')) AS sentence,
           mentions::DOUBLE AS figure
    FROM (SELECT *, median(mentions) OVER (ORDER BY date RANGE BETWEEN INTERVAL 28 DAYS
                                          PRECEDING AND INTERVAL 1 DAY PRECEDING) AS usual
          FROM marts.social_sentiment_daily WHERE platform = 'all') a
    WHERE is_spike AND date > ? AND date <= ?
"""
_NPS_DROPS = """
    WITH d AS (
        SELECT *, coalesce(nps_28d_change < 0 AND -nps_28d_change
                           > nps_28d_change_margin_of_error * ALERT_Z / 1.96, false) AS dropped
        FROM marts.nps_daily WHERE segment = 'all'
    ),
    marked AS (
        SELECT *, coalesce(bool_or(dropped) OVER (ORDER BY date RANGE BETWEEN INTERVAL 28 DAYS
                           PRECEDING AND INTERVAL 1 DAY PRECEDING), false) AS dropped_before
        FROM d
    )
    SELECT 'nps_drop:' || date, 'nps_drop', date,
           format('NPS dropped: {} over the 28 days to {}, {} points against the 28 days '
                  'before (95 % margin +/- {}; beyond 1.5 times that margin, p < 0.004).',
                  round(nps_28d, 1), date, round(nps_28d_change, 1),
                  round(nps_28d_change_margin_of_error, 1)),
           nps_28d_change
    FROM marked WHERE dropped AND NOT dropped_before AND date > ? AND date <= ?
""".replace("ALERT_Z", str(NPS_DROP_ALERT_Z))
_EMERGING = """
    WITH m AS (
        SELECT *, coalesce(bool_or(is_emerging) OVER (PARTITION BY theme ORDER BY week
                           RANGE BETWEEN INTERVAL 28 DAYS PRECEDING AND INTERVAL 1 DAY PRECEDING),
                           false) AS before
        FROM marts.feedback_themes_weekly
    )
    SELECT 'emerging:' || theme || ':' || week, 'emerging_theme', week + 6,
           format('Emerging theme "{}": {} feedback items in the week of {} ({} the week '
                  'before), {}% negative.', theme, items, week, coalesce(items_prev_week, 0),
                  round(100 * negative_share)::INTEGER),
           items::DOUBLE
    FROM m WHERE is_emerging AND NOT before AND week + 6 > ? AND week + 6 <= ?
"""
_UNTRUSTED = """
    WITH t AS (
        SELECT *, median(rows_loaded) OVER (PARTITION BY source, dayofweek(date) ORDER BY date
                         RANGE BETWEEN INTERVAL 28 DAYS PRECEDING AND INTERVAL 1 DAY PRECEDING)
                         AS usual
        FROM marts.data_trust
    ),
    judged AS (
        SELECT *, NOT trusted AND NOT (rows_loaded = 0 AND checks_failed = 0
                  AND coalesce(usual, 0) < EMPTY_BELOW
                  AND NOT contains(coalesce(notes, ''), 'could not be read')) AS bad
        FROM t
    )
    SELECT 'untrusted:' || j.source || ':' || j.date, 'source_untrusted', j.date,
           format('Source {} is not trusted on {}: {}', j.source, j.date, coalesce(j.notes, ''))
           || coalesce(format(' Held back since {}: {} stay as last published.',
                              h.held_since, array_to_string(h.held_tables, ', ')), ''),
           j.checks_failed::DOUBLE
    FROM (SELECT *, lag(bad) OVER (PARTITION BY source ORDER BY date) AS was_bad FROM judged) j
    LEFT JOIN (HELD_SOURCES) h ON h.source = j.source AND h.held_since = j.date
    WHERE j.bad AND NOT coalesce(j.was_bad, false) AND j.date > ? AND j.date <= ?
""".replace("EMPTY_BELOW", str(EMPTY_DAY_ORDINARY_BELOW))
_RENEWALS = """
    SELECT 'renewal:' || tool || ':' || renewal_date, 'licence_renewal', min(date),
           format('{} renews on {}, {} days after {}: {} seats, {} recommended, save {} {} a '
                  'year.', tool, renewal_date, arg_min(days_to_renewal, date), min(date),
                  arg_min(seats, date),
                  arg_min(recommended_seats, date), arg_min(savings_at_renewal, date),
                  arg_min(currency, date)),
           arg_min(savings_at_renewal, date)::DOUBLE
    FROM marts.tool_licences
    WHERE days_to_renewal BETWEEN 0 AND 30 AND savings_at_renewal > 0 AND date > ? AND date <= ?
    GROUP BY tool, renewal_date
"""
KINDS = (_SPIKES, _NPS_DROPS, _EMERGING, _UNTRUSTED, _RENEWALS)


def detect(con: duckdb.DuckDBPyConnection, after: date | None, through: date) -> list[Alert]:
    """The events of the published days after `after` (all, when None) through `through`."""
    since = after or date(1970, 1, 1)
    found = []
    # Which tables the publication holds back (a serving file from before 0.6.0 has none).
    held = (
        "SELECT source, held_since, held_tables FROM meta.held_sources"
        if table_columns(con, "meta.held_sources")
        else "SELECT NULL::VARCHAR AS source, NULL::DATE AS held_since, "
        "NULL::VARCHAR[] AS held_tables WHERE false"
    )
    for query in (q.replace("HELD_SOURCES", held) for q in KINDS):
        for key, kind, day, sentence, figure in con.execute(query, [since, through]).fetchall():
            found.append(Alert(key, kind, day, sentence, figure))
    return sorted(found, key=lambda a: (a.day, a.kind, a.key))


def published_through(serving: Path) -> date | None:
    """The latest day the serving file has published (None before the first publication)."""
    if not serving.exists():
        return None
    with duckdb.connect(str(serving), read_only=True) as con:
        return con.execute("SELECT max(date) FROM marts.kpi_daily").fetchall()[0][0]


def detect_in(serving: Path, after: date | None, through: date) -> list[Alert]:
    with duckdb.connect(str(serving), read_only=True) as con:
        return detect(con, after, through)


def report_link(reports: Path, alert: Alert, base_url: str | None = None) -> ReportLink | None:
    """The link to the newest report in `reports` that covers the alert's day, at the
    alert's anchor; None when none does. Looked up when the alert is posted, not when it
    is found: reports are only ever added or replaced whole, so the file it names exists.

    `base_url` is where `reports` is served ($PRODUCTOPS_REPORT_BASE_URL); without it,
    a file:// link. The same file either way: the folder decides, the base only spells it.
    """
    found = report_files.covering(reports, alert.day)
    if found is None:
        return None
    day, path = found
    url = f"{base_url.rstrip('/')}/{path.name}" if base_url else path.resolve().as_uri()
    return ReportLink(day, f"{url}#{alert.anchor}")


class Outbox:
    """Which alerts were posted: a marker file per key, written after the webhook said
    yes, so that a retried or re-executed run never posts the same event twice."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _marker(self, key: str) -> Path:
        return self.folder / hashlib.sha256(key.encode()).hexdigest()[:32]

    def sent(self, key: str) -> bool:
        return self._marker(key).exists()

    def mark(self, key: str) -> None:
        private_umask()
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self._marker(key).with_suffix(".tmp")
        tmp.write_text(key + "\n")
        tmp.replace(self._marker(key))


def post(url: str, alert: Alert, link: str, retry: RetryPolicy | None = None) -> None:
    """Post one alert, retrying 429 and 5xx answers and dropped connections. Errors name
    the alert, never the URL (the webhook's URL is its secret)."""
    with ApiClient(
        "alert webhook",
        url,
        credentials_hint=WEBHOOK_ENV,
        timeout_s=10.0,
        retry=retry or RetryPolicy(max_attempts=5, max_wait_s=60.0),
    ) as client:
        client.post(url, alert.message(link), what=f"POST alert {alert.key}")
