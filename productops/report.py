"""The report a Product Ops lead reads: one self-contained HTML file per day.

Built from the serving file, as any BI reader sees it. Each chart is drawn with Altair
and rendered to SVG by `vl-convert` (no JavaScript, no CDN: the file opens offline and
weighs tens of kilobytes), and comes with a sentence whose numbers are computed from
the same tables: what changed, by how much, and whether it is beyond the noise. Charts,
their findings and the alerts cover the 13 weeks up to the report's day (`CHART_DAYS`),
so an alert's link can open any report that covers its day; the decisions (what to fix
first, seats) their own windows.

The findings do not know the sample company's story dates: NPS changes are found by
comparing the 28 days before each day with the 28 days from it, and kept only when the
difference is beyond its 95 % margin; emerging themes, spikes and unused seats are read
from the marts' own flags.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import altair as alt
import duckdb
import polars as pl
import vl_convert

from productops import alerts, held, report_files, sql
from productops.permissions import private_umask

WIDTH, HEIGHT = 720, 220
CHART_DAYS = report_files.WINDOW_DAYS  # what the charts, findings and alerts cover
RED, GREY, BLUE = "#c0392b", "#7f8c8d", "#2c6fbb"


class NothingPublished(ValueError):
    """The serving file has no published day yet: nothing to report on (not a failure)."""


@dataclass
class Section:
    title: str
    sentences: list[str]
    svg: str
    table: str = ""  # an HTML table, escaped
    ids: list[str] = field(default_factory=list)  # per sentence, the anchor a link opens


@dataclass
class Report:
    day: date
    path: Path
    sections: list[Section] = field(default_factory=list)

    @property
    def charts(self) -> int:
        return sum(1 for s in self.sections if s.svg)


def _svg(chart: alt.TopLevelMixin) -> str:
    return vl_convert.vegalite_to_svg(chart.to_json(), vl_version="5.20")


def _frame(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> pl.DataFrame:
    return pl.from_arrow(sql.arrow(con, query, params))  # type: ignore[return-value]


def _fmt_day(d: date) -> str:
    return f"{d.day} {d:%b %Y}"


# --- NPS ------------------------------------------------------------------------------

# For every day and segment: NPS of the 28 days before it and of the 28 days from it,
# with their Wald standard errors. A change is significant when the difference is larger
# than 1.96 x the combined standard error.
_NPS_CHANGES = """
WITH daily AS (
    SELECT date, segment, segment_value, responses, promoters, detractors FROM marts.nps_daily
    WHERE segment IN ('all', 'plan') AND date <= ?
), sides AS (
    SELECT date, segment, segment_value,
           sum(responses) OVER before AS n1, sum(promoters) OVER before AS p1,
           sum(detractors) OVER before AS d1,
           sum(responses) OVER after AS n2, sum(promoters) OVER after AS p2,
           sum(detractors) OVER after AS d2,
           min(date) OVER before AS first_before, max(date) OVER after AS last_after
    FROM daily
    WINDOW before AS (PARTITION BY segment, segment_value ORDER BY date
                      RANGE BETWEEN INTERVAL 28 DAYS PRECEDING AND INTERVAL 1 DAY PRECEDING),
           after AS (PARTITION BY segment, segment_value ORDER BY date
                     RANGE BETWEEN CURRENT ROW AND INTERVAL 27 DAYS FOLLOWING)
), scored AS (
    SELECT *, 100.0 * (p1 - d1) / n1 AS nps1, 100.0 * (p2 - d2) / n2 AS nps2,
           100 * sqrt(greatest((p1 + d1) / n1 - power((p1 - d1) / n1, 2), 0) / n1) AS se1,
           100 * sqrt(greatest((p2 + d2) / n2 - power((p2 - d2) / n2, 2), 0) / n2) AS se2
    FROM sides
    WHERE n1 >= 30 AND n2 >= 30 AND date - first_before >= 14 AND last_after - date >= 13
)
SELECT date, segment, segment_value, nps1, nps2, nps2 - nps1 AS change,
       1.96 * sqrt(se1 * se1 + se2 * se2) AS margin
FROM scored
WHERE abs(nps2 - nps1) > 1.96 * sqrt(se1 * se1 + se2 * se2) AND date >= ?
QUALIFY row_number() OVER (PARTITION BY segment, segment_value, sign(nps2 - nps1)
                           ORDER BY abs(nps2 - nps1) / nullif(sqrt(se1 * se1 + se2 * se2), 0)
                           DESC) = 1
ORDER BY segment <> 'all', abs(change) / margin DESC
"""


@dataclass(frozen=True)
class NpsChange:
    day: date
    segment: str
    value: str
    before: float
    after: float
    margin: float

    def sentence(self) -> str:
        who = "NPS" if self.segment == "all" else f"The {self.value} plan's NPS"
        verb = "fell" if self.after < self.before else "rose"
        return (
            f"{who} {verb} from {self.before:.0f} in the 28 days before {_fmt_day(self.day)} "
            f"to {self.after:.0f} in the 28 days from it, beyond its ±{self.margin:.0f} margin."
        )


def nps_changes(
    con: duckdb.DuckDBPyConnection, since: date = date.min, through: date = date.max
) -> list[NpsChange]:
    """The largest significant rise and fall of each segment's NPS (overall and per plan)
    on a day from `since` on, from the responses up to `through` (a report of an earlier
    day does not know the days after it)."""
    rows = con.execute(_NPS_CHANGES, [through, since]).fetchall()
    return [NpsChange(d, s, v, b, a, m) for d, s, v, b, a, _, m in rows]


def _nps_section(con: duckdb.DuckDBPyConnection, since: date, day: date) -> Section:
    series = _frame(
        con,
        """SELECT date, who, nps_28d, responses_28d,
                  100 * 1.96 * sqrt(greatest(pd / n - power(pmd / n, 2), 0) / n) AS margin
           FROM (
           SELECT date, CASE WHEN segment = 'all' THEN 'everyone' ELSE segment_value END AS who,
                  nps_28d, responses_28d, sum(promoters + detractors) OVER w AS pd,
                  sum(promoters - detractors) OVER w AS pmd,
                  -- no responses in the 28 days: no margin (NULL), not NaN, which is not JSON
                  nullif(sum(responses) OVER w, 0) AS n
           FROM marts.nps_daily WHERE segment IN ('all', 'plan')
           WINDOW w AS (PARTITION BY segment, segment_value ORDER BY date
                        RANGE BETWEEN INTERVAL 27 DAYS PRECEDING AND CURRENT ROW))
           WHERE date BETWEEN ? AND ? ORDER BY date""",
        [since, day],
    ).with_columns(lo=pl.col("nps_28d") - pl.col("margin"), hi=pl.col("nps_28d") + pl.col("margin"))
    changes = nps_changes(con, since, day)[:4]  # overall first, then the plans by significance
    overall = series.filter(pl.col("who") == "everyone")
    base = alt.Chart(overall).encode(x=alt.X("date:T", title=None))
    band = base.mark_area(opacity=0.2, color=BLUE).encode(
        y=alt.Y("lo:Q", title="NPS, 28 days"), y2="hi:Q"
    )
    line = base.mark_line(color=BLUE, strokeWidth=2.5).encode(y="nps_28d:Q")
    plans = (
        alt.Chart(series.filter(pl.col("who") != "everyone"))
        .mark_line(strokeWidth=1.2, opacity=0.8)
        .encode(x="date:T", y="nps_28d:Q", color=alt.Color("who:N", title="plan"))
    )
    marks = pl.DataFrame(
        {
            "date": [c.day for c in changes],
            "label": [
                f"{'▼' if c.after < c.before else '▲'} {c.value if c.segment != 'all' else 'all'}"
                for c in changes
            ],
        },
        schema={"date": pl.Date, "label": pl.String},
    )
    rules = alt.Chart(marks).mark_rule(color=RED, strokeDash=[4, 3]).encode(x="date:T")
    labels = (
        alt.Chart(marks.with_row_index("i"))
        .mark_text(color=RED, align="left", dx=3)
        .encode(x="date:T", y=alt.Y("y:Q"), text="label:N")
        .transform_calculate(y="95 - 12 * datum.i")
    )
    chart = (band + line + plans + rules + labels).properties(width=WIDTH, height=HEIGHT)
    sentences = [c.sentence() for c in changes] or [
        "No change of NPS in the window is beyond its margin of error."
    ]
    latest = overall.tail(1)
    if latest.height:
        row = latest.row(0, named=True)
        sentences.insert(
            0,
            f"NPS over the last 28 days is {row['nps_28d']:.0f} "
            f"(±{row['margin'] or 0:.0f}, {row['responses_28d']} responses); the band is "
            "its 95 % margin of error, the thin lines are the plans.",
        )
    return Section("NPS, 28 days, overall and by plan", sentences, _svg(chart))


# --- Themes ---------------------------------------------------------------------------


def _themes_section(con: duckdb.DuckDBPyConnection, since: date, day: date) -> Section:
    # Four weeks before the window too: an emerging theme is compared with its mean.
    with_before = _frame(
        con,
        "SELECT week, theme, items, negative_share, is_emerging FROM marts.feedback_themes_weekly "
        "WHERE theme <> 'other' AND week BETWEEN ? AND ? ORDER BY week, theme",
        [since - timedelta(weeks=4), day],
    )
    weekly = with_before.filter(pl.col("week") >= since)
    emerging = weekly.filter(pl.col("is_emerging"))
    first_time = emerging.sort("week").unique("theme", keep="first").sort("items", descending=True)
    base = alt.Chart(weekly).encode(
        x=alt.X("week:T", title="week"), y=alt.Y("items:Q", title="feedback items"),
        color=alt.Color("theme:N"),
    )  # fmt: skip
    lines = base.mark_line(strokeWidth=1.5)
    points = (
        alt.Chart(emerging)
        .mark_point(size=160, filled=False, color=RED, strokeWidth=2.5)
        .encode(x="week:T", y="items:Q")
    )
    chart = (lines + points).properties(width=WIDTH, height=HEIGHT)
    sentences = []
    for row in first_time.head(3).iter_rows(named=True):
        before = with_before.filter(
            (pl.col("theme") == row["theme"]) & (pl.col("week") < row["week"])
        ).tail(4)
        mean = before["items"].mean() if before.height else 0
        sentences.append(
            f"“{row['theme']}” emerged in the week of {_fmt_day(row['week'])}: "
            f"{row['items']} items against a 4-week mean of {mean or 0:.0f}, "
            f"{100 * (row['negative_share'] or 0):.0f} % of them negative."
        )
    if not sentences:
        sentences.append("No theme is emerging in the window.")
    sentences.append("Circled: weeks where a theme was emerging (at least twice its 4-week mean).")
    sentences += _unthemed_languages(con, since, day)
    return Section("What customers talk about, per week", sentences, _svg(chart))


def _unthemed_languages(con: duckdb.DuckDBPyConnection, since: date, day: date) -> list[str]:
    """How many items fell to `other` for want of patterns in their language: languages
    that only ever appear under `other` in the window (a language the taxonomy has
    patterns for lands in some theme)."""
    rows = _frame(
        con,
        "SELECT theme = 'other' AS other, languages FROM marts.feedback_themes_weekly "
        "WHERE week BETWEEN ? AND ?",
        [since - timedelta(days=since.weekday()), day],
    )
    if rows.is_empty():
        return []
    other = _languages(rows.filter(pl.col("other")))
    themed = _languages(rows.filter(~pl.col("other")))
    lonely = {lang: n for lang, n in other.items() if lang not in themed and lang != "unknown"}
    if not lonely:
        return []
    listed = ", ".join(f"{lang} {n}" for lang, n in sorted(lonely.items(), key=lambda x: -x[1]))
    return [
        f"{sum(lonely.values())} feedback items are in languages the theme taxonomy has no "
        f"patterns for ({listed}) and count as other: add patterns for them in themes.toml."
    ]


# --- Social ---------------------------------------------------------------------------


_CHANNEL_NAMES = {"hacker_news": "Hacker News", "reddit": "Reddit", "bluesky": "Bluesky",
                  "mastodon": "Mastodon", "app_store": "App Store reviews"}  # fmt: skip


def _coverage(scored: float | None, languages: dict[str, int]) -> str:
    """ "62 % scored; de 20 %, en 71 %, fr 9 %": what a sentiment figure covers."""
    total = sum(languages.values())
    parts = ", ".join(
        f"{lang} {100 * n / total:.0f} %" for lang, n in sorted(languages.items()) if total
    )
    share = "no text scored" if scored is None else f"{100 * scored:.0f} % scored"
    return f"{share}; languages {parts}" if parts else share


def _languages(frame: pl.DataFrame, column: str = "languages") -> dict[str, int]:
    """The per-language counts of a frame's rows (JSON objects), added up."""
    total: dict[str, int] = {}
    for text in frame[column].drop_nulls().to_list():
        for lang, n in json.loads(text).items():
            total[lang] = total.get(lang, 0) + int(n)
    return total


def _social_section(con: duckdb.DuckDBPyConnection, since: date, day: date) -> Section:
    daily = _frame(
        con,
        """SELECT * FROM (
           SELECT date, platform, mentions, positive + neutral + negative AS scored,
                  positive - negative AS net, net_sentiment, is_spike, scored_share, languages,
                  avg(mentions) OVER (PARTITION BY platform ORDER BY date
                                      RANGE BETWEEN INTERVAL 28 DAYS PRECEDING
                                      AND INTERVAL 1 DAY PRECEDING) AS prior_mean
           FROM marts.social_sentiment_daily)
           WHERE date BETWEEN ? AND ? ORDER BY date, platform""",
        [since, day],
    )
    channels = daily.filter(pl.col("platform") != "all").with_columns(
        channel=pl.col("platform").replace(_CHANNEL_NAMES)
    )
    bars = (
        alt.Chart(channels)
        .mark_bar()
        .encode(
            x=alt.X("date:T", title=None),
            y=alt.Y("mentions:Q", title="mentions"),
            color=alt.Color("channel:N", title="channel"),
        )
    )
    every = daily.filter(pl.col("platform") == "all")
    spikes = (
        alt.Chart(every.filter(pl.col("is_spike")))
        .mark_point(size=160, filled=False, color=RED, strokeWidth=2.5)
        .encode(x="date:T", y="mentions:Q")
    )
    chart = alt.layer(bars, spikes).properties(width=WIDTH, height=HEIGHT)
    sentences = []
    for r in every.filter(pl.col("is_spike")).iter_rows(named=True):
        also = channels.filter((pl.col("date") == r["date"]) & pl.col("is_spike"))["channel"]
        where = f" (spiking on {', '.join(sorted(also))})" if also.len() else ""
        net = (
            "no scored mention"
            if r["net_sentiment"] is None
            else f"net sentiment {r['net_sentiment']:+.2f}"
        )
        sentences.append(
            f"Mentions spiked on {_fmt_day(r['date'])}: {r['mentions']} against a 28-day mean "
            f"of {r['prior_mean'] or 0:.0f}{where}, {net}."
        )
    sentences = sentences or ["No spike of mentions in the window."]
    # Channels side by side: volume, net sentiment of the scored mentions, coverage.
    for name, part in channels.group_by("channel", maintain_order=True):
        scored = int(part["scored"].sum())
        net = f"net sentiment {part['net'].sum() / scored:+.2f}" if scored else "no text scored"
        mentions = int(part["mentions"].sum())
        coverage = _coverage(scored / mentions if mentions else None, _languages(part))
        sentences.append(f"{name[0]}: {mentions} mentions, {net} ({coverage}).")
    if every.height:
        scored = int(every["scored"].sum())
        mentions = int(every["mentions"].sum())
        net = f"net sentiment {every['net'].sum() / scored:+.2f}" if scored else "nothing scored"
        sentences.append(
            f"All channels: {mentions} mentions in the window, {net} over the scored ones "
            f"({_coverage(scored / mentions if mentions else None, _languages(every))}). "
            "Bars: mentions per channel; circled: spike days."
        )
    return Section("What the public says, channel by channel", sentences, _svg(chart))


def _reviews_section(con: duckdb.DuckDBPyConnection, since: date, day: date) -> Section:
    daily = _frame(
        con,
        """SELECT date, storefront, reviews, avg_rating, avg_rating_28d, reviews_28d,
                  scored_share, languages
           FROM marts.app_reviews_daily WHERE date BETWEEN ? AND ? ORDER BY date, storefront""",
        [since, day],
    )
    if daily.is_empty():
        return Section("How the app is rated", ["No App Store review in the window."], "")
    chart = (
        alt.Chart(daily.filter(pl.col("reviews_28d") >= 5))
        .mark_line(strokeWidth=1.5)
        .encode(
            x=alt.X("date:T", title=None),
            y=alt.Y("avg_rating_28d:Q", title="stars, 28 days", scale=alt.Scale(domain=[1, 5])),
            color=alt.Color("storefront:N"),
            strokeDash=alt.condition(
                "datum.storefront == 'all'", alt.value([1, 0]), alt.value([4, 2])
            ),
        )
        .properties(width=WIDTH, height=HEIGHT)
    )
    sentences = []
    # A storefront whose 28-day rating moved by half a star or more over the window,
    # with at least 10 reviews on each side: a change a lead should look at.
    for name, part in daily.group_by("storefront", maintain_order=True):
        settled = part.filter(pl.col("reviews_28d") >= 10)
        if settled.height < 2:
            continue
        first, last = settled.row(0, named=True), settled.row(-1, named=True)
        change = last["avg_rating_28d"] - first["avg_rating_28d"]
        if abs(change) >= 0.5:
            verb = "fell" if change < 0 else "rose"
            sentences.append(
                f"The {name[0]} storefront's rating {verb} from {first['avg_rating_28d']:.1f} "
                f"to {last['avg_rating_28d']:.1f} stars (28 days ending {_fmt_day(first['date'])}"
                f" and {_fmt_day(last['date'])}), {_coverage(None, _languages(part)).split('; ', 1)[-1]}."
            )
    every = daily.filter(pl.col("storefront") == "all")
    if every.height:
        last = every.row(-1, named=True)
        reviews = int(every["reviews"].sum())
        scored = (every["scored_share"] * every["reviews"]).sum() / reviews if reviews else None
        sentences.append(
            f"{reviews} reviews in the window; {last['avg_rating_28d']:.1f} stars over the 28 "
            f"days to {_fmt_day(last['date'])} ({_coverage(scored, _languages(every))}). "
            "A star rating is its own metric, not an NPS. Lines: the 28-day mean per storefront."
        )
    return Section("How the app is rated", sentences, _svg(chart))


# --- Tools ----------------------------------------------------------------------------


def _tools_section(con: duckdb.DuckDBPyConnection, since: date, day: date) -> Section:
    latest = _frame(
        con,
        """SELECT tool, seats, active_users_30d, utilisation, unused_seats,
                  unused_seats * annual_cost / nullif(seats, 0) AS unused_cost
           FROM marts.tool_licences
           WHERE date = (SELECT max(date) FROM marts.tool_licences WHERE date <= ?)
           ORDER BY utilisation""",
        [day],
    ).with_columns(pl.col("unused_cost").cast(pl.Float64))
    usage = _frame(
        con,
        "SELECT date, tool, mau FROM marts.tool_usage_daily WHERE date BETWEEN ? AND ? "
        "ORDER BY date, tool",
        [since, day],
    )
    util = (
        alt.Chart(latest)
        .mark_bar()
        .encode(
            y=alt.Y("tool:N", sort="x", title=None),
            x=alt.X(
                "utilisation:Q", title="30-day active users / seats", axis=alt.Axis(format="%")
            ),
            color=alt.condition("datum.utilisation < 0.5", alt.value(RED), alt.value(BLUE)),
        )
        .properties(width=WIDTH // 2 - 40, height=HEIGHT)
    )
    adoption = (
        alt.Chart(usage)
        .mark_line()
        .encode(x=alt.X("date:T", title=None), y=alt.Y("mau:Q", title="monthly active users"),
                color=alt.Color("tool:N"))
        .properties(width=WIDTH // 2 - 40, height=HEIGHT)
    )  # fmt: skip
    chart = alt.hconcat(util, adoption)
    sentences = []
    if latest.height:
        unused = int(latest["unused_seats"].sum())
        cost = float(latest["unused_cost"].fill_null(0).sum())
        sentences.append(
            f"{unused} seats unused in the last 30 days across {latest.height} tools, worth "
            f"{cost:,.0f} a year."
        )
        for row in latest.filter(pl.col("utilisation") < 0.5).iter_rows(named=True):
            sentences.append(
                f"{row['tool']}: {row['seats']} seats, {row['active_users_30d']} used "
                f"({100 * row['utilisation']:.0f} %), {row['unused_seats']} unused "
                f"worth {row['unused_cost'] or 0:,.0f} a year."
            )
    return Section("Tool adoption and licence utilisation", sentences, _svg(chart))


# --- Trust ----------------------------------------------------------------------------


def _trust_section(con: duckdb.DuckDBPyConnection, since: date, day: date) -> Section:
    trust = _frame(
        con,
        "SELECT date, source, trusted, coalesce(notes, '') AS notes FROM marts.data_trust "
        "WHERE date BETWEEN ? AND ? ORDER BY date, source",
        [since, day],
    )
    chart = (
        alt.Chart(trust)
        .mark_rect()
        .encode(
            x=alt.X(
                "monthdate(date):O", title=None, axis=alt.Axis(labelAngle=-60, labelOverlap=True)
            ),
            y=alt.Y("source:N", title=None),
            color=alt.Color(
                "trusted:N",
                scale=alt.Scale(domain=[True, False], range=[BLUE, RED]),
                title="trusted",
            ),
        )
        .properties(width=WIDTH, height=120)
    )
    sentences = []
    if trust.height:
        last = trust["date"].max()
        today = trust.filter(pl.col("date") == last)
        sentences.append(
            f"On {_fmt_day(last)}, {int(today['trusted'].sum())} of {today.height} sources are "
            "trusted."
        )
        bad = trust.filter(~pl.col("trusted"))
        if bad.height:
            sentences.append(
                f"{bad.height} source-days in the window are not trusted, for example "
                + "; ".join(
                    f"{r['source']} on {_fmt_day(r['date'])} ({r['notes'][:80] or 'a check failed'})"
                    for r in bad.tail(3).iter_rows(named=True)
                )
                + "."
            )
        else:
            sentences.append("Every source was trusted on every day of the window.")
    return Section("Can the numbers be trusted", sentences, _svg(chart))


# --- Decisions ------------------------------------------------------------------------


def _fix_first_section(con: duckdb.DuckDBPyConnection, day: date) -> Section:
    """The 28-day ranking of marts.theme_impact of the report day's week: what to fix
    first, then."""
    top = _frame(
        con,
        """SELECT theme, rank, nps_points_lost, nps_gap, nps_gap_margin_of_error,
                  nps_responses_mentioning, tickets, accounts_affected, week
           FROM marts.theme_impact
           WHERE "window" = '28d'
             AND week = (SELECT max(week) FROM marts.theme_impact WHERE week <= ?)
           ORDER BY rank LIMIT 6""",
        [day],
    )
    if top.height == 0:
        return Section("What to fix first", ["No theme impact published yet."], "")
    top = top.with_columns(
        significant=(pl.col("nps_gap").abs() > pl.col("nps_gap_margin_of_error")).fill_null(False)
    )
    chart = (
        alt.Chart(top)
        .mark_bar()
        .encode(
            y=alt.Y("theme:N", sort="-x", title=None),
            x=alt.X("nps_points_lost:Q", title="NPS points lost in the last 28 days"),
            color=alt.condition("datum.significant", alt.value(RED), alt.value(GREY)),
        )
        .properties(width=WIDTH - 160, height=24 * top.height)
    )
    sentences = []
    for row in top.head(3).iter_rows(named=True):
        gap, moe = row["nps_gap"], row["nps_gap_margin_of_error"]
        beyond = "beyond noise" if row["significant"] else "within noise"
        gap_text = (
            f"respondents who name it score {gap:+.0f} NPS against the others "
            f"(+/- {moe:.0f}, {beyond})"
            if gap is not None and moe is not None
            else "too few responses to compare"
        )
        sentences.append(
            f"{row['rank']}. {row['theme']}: costs {row['nps_points_lost']:.1f} NPS points; "
            f"{gap_text}; {row['nps_responses_mentioning']} responses, {row['tickets']} "
            f"tickets, {row['accounts_affected']} accounts."
        )
    return Section("What to fix first (last 28 days)", sentences, _svg(chart))


def _seats_section(con: duckdb.DuckDBPyConnection, day: date) -> Section:
    """Right-sizing at renewal as the report's day saw it, soonest renewal first."""
    rows = _frame(
        con,
        """SELECT tool, seats, active_users_30d, recommended_seats, inactive_users_60d,
                  savings_at_renewal::DOUBLE AS savings, currency, renewal_date,
                  days_to_renewal, renewal_within_90d, is_stale
           FROM marts.tool_licences
           WHERE date = (SELECT max(date) FROM marts.tool_licences WHERE date <= ?)
           ORDER BY renewal_within_90d DESC, savings DESC NULLS LAST""",
        [day],
    )
    if rows.height == 0:
        return Section("Seats to reclaim", ["No licence inventory published yet."], "")
    saving = rows.filter(pl.col("savings") > 0)
    sentences = []
    for row in saving.filter(pl.col("renewal_within_90d")).iter_rows(named=True):
        sentences.append(
            f"{row['tool']} renews on {_fmt_day(row['renewal_date'])} (in "
            f"{row['days_to_renewal']} days): {row['seats']} seats, {row['recommended_seats']} "
            f"recommended, saves {row['savings']:,.0f} {row['currency']} a year."
        )
    by_currency = saving.group_by("currency").agg(pl.col("savings").sum()).sort("currency")
    if by_currency.height:
        total = ", ".join(
            f"{r['savings']:,.0f} {r['currency']}" for r in by_currency.iter_rows(named=True)
        )
        sentences.append(f"Right-sizing every tool at its renewal saves {total} a year.")
    stale = rows.filter(pl.col("is_stale"))["tool"].to_list()
    if stale:
        sentences.append(
            "Stale inventory rows (the latest file's row was quarantined; the last good one "
            f"is shown): {', '.join(stale)}."
        )
    header = ("tool", "seats", "used 30d", "recommended", "inactive 60d", "saves / year",
              "renews", "days")  # fmt: skip
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(v))}</td>"
            for v in (
                r["tool"] + (" (stale)" if r["is_stale"] else ""),
                r["seats"],
                r["active_users_30d"],
                r["recommended_seats"],
                r["inactive_users_60d"],
                f"{r['savings'] or 0:,.0f} {r['currency']}",
                r["renewal_date"] or "",
                r["days_to_renewal"] if r["days_to_renewal"] is not None else "",
            )
        )
        + "</tr>"
        for r in rows.iter_rows(named=True)
    )
    table = (
        "<table><thead><tr>"
        + "".join(f"<th>{h}</th>" for h in header)
        + f"</tr></thead><tbody>{body}</tbody></table>"
    )
    return Section("Seats to reclaim at renewal", sentences, "", table)


def _window() -> str:
    return f"{CHART_DAYS // 7} weeks" if CHART_DAYS % 7 == 0 else f"{CHART_DAYS} days"


def _alerts_section(con: duckdb.DuckDBPyConnection, day: date) -> Section:
    """Every alert of the report's window, newest first, each an anchor its link opens:
    an alert posted after a backfill links to the newest report covering its day."""
    found = alerts.detect(con, day - timedelta(days=CHART_DAYS), day)[::-1]
    if not found:
        return Section(
            f"Alerts of the last {_window()}", [f"No alert in the last {_window()}."], ""
        )
    sentences = [f"{_fmt_day(a.day)}: {a.sentence}" for a in found]
    return Section(
        f"Alerts of the last {_window()}, newest first",
        sentences,
        "",
        ids=[a.anchor for a in found],
    )


# --- The page -------------------------------------------------------------------------

_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 820px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em; font-size: 1.2em; }
.meta { color: #666; } .finding { margin: 0.3em 0; } svg { max-width: 100%; height: auto; }
.finding:target { background: #fff3bf; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { padding: 0.2em 0.6em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
"""


def _published_days(con: duckdb.DuckDBPyConnection, serving: Path) -> tuple[date, date]:
    first, latest = con.execute("SELECT min(date), max(date) FROM marts.kpi_daily").fetchall()[0]
    if latest is None:
        raise NothingPublished(f"{serving} has no published days yet: run the pipeline first")
    return first, latest


def _finding(sentence: str, anchor: str) -> str:
    attr = f' id="{html.escape(anchor)}"' if anchor else ""
    return f'<p class="finding"{attr}>{html.escape(sentence)}</p>'


def _page(report: Report, serving: Path, published: datetime) -> str:
    day = report.day
    body = [
        f"<h1>Product Ops report, {_fmt_day(day)}</h1>",
        f'<p class="meta">From {html.escape(str(serving))}, published {published:%Y-%m-%d %H:%M} '
        "UTC. Every number below is computed from the published tables.</p>",
    ]
    for section in report.sections:
        body.append(f"<section><h2>{html.escape(section.title)}</h2>")
        ids = section.ids or [""] * len(section.sentences)
        body += [_finding(s, anchor) for s, anchor in zip(section.sentences, ids, strict=True)]
        body.append(section.table)
        if section.svg:
            body.append(
                f'<figure role="img" aria-label="{html.escape(section.title)}">{section.svg}</figure>'
            )
        body.append("</section>")
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Product Ops report {day.isoformat()}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def build_report(serving: Path, out_dir: Path, day: date | None = None) -> Report:
    """Render `out_dir/productops-<day>.html` from the serving file: the report of `day`, a
    published day (the latest when None), from the serving file's data up to that day."""
    with duckdb.connect(str(serving), read_only=True) as con:
        first, latest = _published_days(con, serving)
        day = day or latest
        if not first <= day <= latest:
            raise ValueError(f"{day} is not published in {serving} ({first} to {latest})")
        (published,) = con.execute("SELECT max(published_at) FROM meta.publications").fetchall()[0]
        report = Report(day, report_files.report_path(out_dir, day))
        behind = held.published(con) if day == latest else []
        if behind:  # first: what the numbers below do not include yet
            report.sections.append(Section("Held back", [h.sentence() for h in behind], ""))
        report.sections += [
            _fix_first_section(con, day), _seats_section(con, day), _alerts_section(con, day)
        ]  # fmt: skip
        since = day - timedelta(days=CHART_DAYS - 1)
        for build in (_nps_section, _themes_section, _social_section, _reviews_section,
                      _tools_section, _trust_section):  # fmt: skip
            report.sections.append(build(con, since, day))
    private_umask()
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = report.path.with_suffix(".html.tmp")
    tmp.write_text(_page(report, serving, published), encoding="utf-8")
    tmp.replace(report.path)  # a reader never sees half a report
    return report


def build_reports(serving: Path, out_dir: Path) -> list[Report]:
    """The report of the latest published day and, when a backfill published more than a
    report's window, one for each alert day no report covers, so that every alert's link
    opens a report that lists it (see `productops.report_files`).

    Oldest first and the latest last: the alert sensor waits for the latest day's report,
    and once it exists so does the report of every alert before it.
    """
    with duckdb.connect(str(serving), read_only=True) as con:
        latest = _published_days(con, serving)[1]
        alert_days = [a.day for a in alerts.detect(con, None, latest)]
    have = [*report_files.written(out_dir), latest]
    earlier = sorted(report_files.uncovered(alert_days, have, CHART_DAYS))
    return [build_report(serving, out_dir, d) for d in [*earlier, latest]]
