"""The serving contract as data: every published table, its grain and each column's meaning.

One source for three readers: `docs/contract.md` (rendered from here, and a test fails
when the file and this module disagree), the Dagster UI (`dagster/column_schema`
descriptions on the mart assets) and the serving file itself (`COMMENT ON`, so a BI
tool's catalogue shows the same words). A test also compares the columns and types
here with the tables a run publishes.

Regenerate the document after a change: `python -m productops.contract > docs/contract.md`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as DuckDB names it
    description: str


@dataclass(frozen=True)
class Table:
    name: str  # schema.table
    question: str
    grain: str
    columns: tuple[Column, ...]
    notes: str = ""

    def description(self, column: str) -> str:
        return next((c.description for c in self.columns if c.name == column), "")


def _c(name: str, type_: str, description: str) -> Column:
    return Column(name, type_, description)


PUBLISHED_AT = _c("_published_at", "TIMESTAMP", "When the run that published this row did (UTC).")
DATE = _c("date", "DATE", "The calendar day, UTC.")
WEEK = _c("week", "DATE", "The Monday that starts the ISO week, UTC.")

# fmt: off
TABLES: tuple[Table, ...] = (
    Table(
        "marts.nps_daily",
        "NPS per day and segment",
        "`date` x `segment` x `segment_value`; `segment` is `all` (value `all`), `plan`, "
        "`region` or `channel`.",
        (
            DATE,
            _c("segment", "VARCHAR", "What the row is cut by: all, plan, region or channel."),
            _c("segment_value", "VARCHAR", "The plan, region or channel (`all` for segment all)."),
            _c("responses", "INTEGER", "NPS responses that day in the segment."),
            _c("promoters", "INTEGER", "Responses scoring 9-10."),
            _c("passives", "INTEGER", "Responses scoring 7-8."),
            _c("detractors", "INTEGER", "Responses scoring 0-6."),
            _c("nps", "DOUBLE", "100 x (promoters - detractors) / responses, that day."),
            _c("nps_margin_of_error", "DOUBLE",
               "95 % margin of the day's NPS (adjusted Wald); NULL below 2 responses."),
            _c("nps_low", "DOUBLE",
               "(v2) Lower end of the 95 % interval: 100 (promoters - detractors) / (n + 3) "
               "- margin, at least -100. The interval is centred on that adjusted estimate, "
               "which is what covers the true NPS at the stated rate."),
            _c("nps_high", "DOUBLE", "(v2) Upper end of the interval, at most 100."),
            _c("nps_28d", "DOUBLE", "NPS over the 28 days ending `date`, same segment."),
            _c("responses_28d", "INTEGER", "Responses in the 28 days ending `date`."),
            _c("nps_28d_margin_of_error", "DOUBLE",
               "(v2) 95 % margin of nps_28d (adjusted Wald); NULL below 2 responses."),
            _c("nps_28d_change", "DOUBLE",
               "(v2) nps_28d minus the nps_28d of 28 days earlier; NULL while that earlier "
               "window reaches before the first response (a partial period)."),
            _c("nps_28d_change_margin_of_error", "DOUBLE",
               "(v2) 95 % margin of the change: sqrt(margin_now^2 + margin_before^2)."),
            _c("change_significant", "BOOLEAN",
               "(v2) |nps_28d_change| > its margin: the change is beyond noise at 95 %; "
               "NULL when there is no change to test."),
            PUBLISHED_AT,
        ),
    ),
    Table(
        "marts.nps_comments",
        "the words behind the score",
        "one NPS response with a non-empty comment.",
        (
            _c("response_id", "VARCHAR", "The survey vendor's response id."),
            DATE,
            _c("score", "INTEGER", "The 0-10 answer."),
            _c("category", "VARCHAR", "promoter (9-10), passive (7-8) or detractor (0-6)."),
            _c("plan", "VARCHAR", "The respondent account's plan."),
            _c("region", "VARCHAR", "The respondent account's region."),
            _c("channel", "VARCHAR", "Where the survey was answered (email, web, ...)."),
            _c("comment", "VARCHAR",
               "The comment, HTML removed, e-mails, phone numbers and known names redacted."),
            _c("themes", "VARCHAR[]",
               "Themes of the taxonomy the comment matches in its language's patterns (v4); "
               "[other] if none."),
            _c("sentiment", "DOUBLE",
               "Sentiment score in [-1, 1]; NULL (v4) when no scorer handles the language."),
            _c("sentiment_label", "VARCHAR",
               "positive (>= 0.05), negative (<= -0.05) or neutral; NULL when not scored."),
            _c("language", "VARCHAR",
               "(v4) The comment's detected language (ISO 639-1); NULL when too short to tell."),
            PUBLISHED_AT,
        ),
    ),
    Table(
        "marts.feedback_themes_weekly",
        "what customers are talking about",
        "`week` x `theme`.",
        (
            WEEK,
            _c("theme", "VARCHAR", "A theme of the taxonomy, or other."),
            _c("items", "INTEGER", "Feedback items (tickets, widget messages) with the theme."),
            _c("negative_share", "DOUBLE",
               "Share of the scored items with negative sentiment (v4: unscored left out)."),
            _c("avg_sentiment", "DOUBLE", "Mean sentiment score of the scored items."),
            _c("items_prev_week", "INTEGER", "Items with the theme the week before."),
            _c("wow_change", "DOUBLE",
               "(items - items_prev_week) / items_prev_week; NULL when none the week before, "
               "or when either week is partial (v2)."),
            _c("is_emerging", "BOOLEAN",
               "(v2) A full week with items at least 2x their mean over exactly the 4 weeks "
               "before it (all full; a week without the theme counts as 0), at least max(5, "
               "1 % of the source's mean weekly items over those 4 weeks), and beyond Poisson "
               "noise (2 (sqrt(items) - sqrt(mean)) > 3.09); false while the 4 weeks before "
               "are not all full. See Emerging theme."),
            _c("is_partial_week", "BOOLEAN",
               "(v2) The data covers the week only in part (the first and the current week): "
               "no week-on-week change, never emerging, left out of baselines."),
            _c("scored_share", "DOUBLE",
               "(v4) Share of the items whose language a scorer handles, so that sentiment "
               "figures cover them; NULL with no items."),
            _c("languages", "VARCHAR",
               "(v4) Items per detected language as a JSON object ({\"de\": 3, \"en\": 40}); "
               "`unknown`: too short to tell."),
            PUBLISHED_AT,
        ),
    ),
    Table(
        "marts.social_sentiment_daily",
        "what the public says",
        "`date` x `platform` (each channel, and `all`), from the channel's first day.",
        (
            DATE,
            _c("platform", "VARCHAR",
               "The channel (v4): hacker_news, reddit, bluesky, mastodon, app_store; or all."),
            _c("mentions", "INTEGER",
               "Posts, comments and reviews that mention the product (deleted ones left out)."),
            _c("positive", "INTEGER", "Scored mentions with positive sentiment."),
            _c("neutral", "INTEGER", "Scored mentions with neutral sentiment."),
            _c("negative", "INTEGER", "Scored mentions with negative sentiment."),
            _c("avg_sentiment", "DOUBLE", "Mean sentiment score of the scored mentions."),
            _c("net_sentiment", "DOUBLE",
               "(positive - negative) / scored mentions (v4: was / mentions)."),
            _c("engagement", "BIGINT",
               "Points, likes, favourites, votes and comments, as the channel reports them."),
            _c("is_spike", "BOOLEAN",
               "(v2) A day far above the 28 days before it, by the robust rule of Spike, per "
               "channel (v4) and for all."),
            _c("scored_share", "DOUBLE",
               "(v4) Share of the items whose language a scorer handles, so that sentiment "
               "figures cover them; NULL with no items."),
            _c("languages", "VARCHAR",
               "(v4) Items per detected language as a JSON object ({\"de\": 3, \"en\": 40}); "
               "`unknown`: too short to tell."),
            PUBLISHED_AT,
        ),
    ),
    Table(
        "marts.app_reviews_daily",
        "how the app is rated (v4)",
        "`date` x `storefront` (and `all`), days with reviews.",
        (
            DATE,
            _c("storefront", "VARCHAR",
               "The App Store country (ISO 3166 alpha-2, lower case) of the reviews, or all."),
            _c("reviews", "INTEGER", "Reviews written that day (the feed's `updated` time)."),
            _c("avg_rating", "DOUBLE", "Mean stars (1-5) of those reviews."),
            _c("low_rating_share", "DOUBLE", "Share of them with 1 or 2 stars."),
            _c("reviews_28d", "INTEGER", "Reviews in the 28 days ending `date`."),
            _c("avg_rating_28d", "DOUBLE", "Mean stars over those 28 days."),
            _c("avg_sentiment", "DOUBLE", "Mean sentiment score of the scored review texts."),
            _c("scored_share", "DOUBLE",
               "(v4) Share of the items whose language a scorer handles, so that sentiment "
               "figures cover them; NULL with no items."),
            _c("languages", "VARCHAR",
               "(v4) Items per detected language as a JSON object ({\"de\": 3, \"en\": 40}); "
               "`unknown`: too short to tell."),
            PUBLISHED_AT,
        ),
        notes="A star rating is not an NPS: it is its own metric. The public review feed "
        "holds the newest 500 reviews per storefront and no creation date, so a review "
        "edited later moves to the day of its edit.",
    ),
    Table(
        "marts.tool_usage_daily",
        "who uses which tool",
        "`date` x `tool`.",
        (
            DATE,
            _c("tool", "VARCHAR", "The application, as the identity provider names it."),
            _c("dau", "INTEGER", "People with a successful sign-in to the tool that day."),
            _c("wau", "INTEGER", "Distinct active people in the 7 days ending `date`."),
            _c("mau", "INTEGER", "Distinct active people in the 30 days ending `date`."),
            _c("stickiness", "DOUBLE", "dau / mau."),
            _c("events", "INTEGER", "Sign-in events that day."),
            _c("failed_events", "INTEGER", "Sign-in events that failed."),
            PUBLISHED_AT,
        ),
    ),
    Table(
        "marts.tool_licences",
        "are we paying for what we use",
        "`date` x `tool` (history kept; the latest date is enough for a dashboard).",
        (
            DATE,
            _c("tool", "VARCHAR", "The tool, as the licence inventory names it."),
            _c("seats", "INTEGER", "Seats bought."),
            _c("active_users_30d", "INTEGER", "Distinct active people in the 30 days ending `date`."),
            _c("utilisation", "DOUBLE",
               "active_users_30d / seats; NULL when seats = 0."),
            _c("unused_seats", "INTEGER", "max(seats - active_users_30d, 0)."),
            _c("annual_cost", "DECIMAL(14,2)", "What the tool costs a year, in the inventory's currency."),
            _c("cost_per_active_user", "DECIMAL(14,2)",
               "annual_cost / active_users_30d; NULL when nobody is active."),
            _c("owner", "VARCHAR",
               "The team that owns the licence (a person's name is redacted)."),
            _c("currency", "VARCHAR", "(v2) ISO 4217 code of annual_cost and the savings."),
            _c("renewal_date", "DATE", "(v2) When the contract renews, per the inventory."),
            _c("days_to_renewal", "INTEGER", "(v2) renewal_date - date (negative once past)."),
            _c("renewal_within_90d", "BOOLEAN",
               "(v2) The renewal is 0-90 days away: the time to act on savings_at_renewal."),
            _c("inactive_users_60d", "INTEGER",
               "(v2) People active in the tool in the year before but not in the last 60 days."),
            _c("recommended_seats", "INTEGER",
               "(v2) ceil(p90 of active_users_30d over the 90 days ending `date` / 0.9)."),
            _c("savings_at_renewal", "DECIMAL(14,2)",
               "(v2) max(seats - recommended_seats, 0) x annual_cost / seats, in `currency`; "
               "NULL when seats = 0."),
            _c("is_stale", "BOOLEAN",
               "(v2) The tool's row in the latest inventory was quarantined: this is its last "
               "good row."),
            PUBLISHED_AT,
        ),
        notes="The tools are those of the latest inventory file: a tool it no longer lists is "
        "absent from the table; a tool whose row in it was quarantined keeps its last good "
        "row, with is_stale.",
    ),
    Table(
        "marts.account_voice",
        "every signal about one customer account",
        "`account_id`.",
        (
            _c("account_id", "VARCHAR", "The customer account."),
            _c("plan", "VARCHAR", "Its plan, from its latest signal."),
            _c("region", "VARCHAR", "Its region, from its latest signal."),
            _c("nps_responses", "INTEGER", "NPS responses from the account, all time."),
            _c("latest_score", "INTEGER", "The account's latest NPS answer."),
            _c("latest_category", "VARCHAR", "Its category (promoter, passive, detractor)."),
            _c("latest_response_at", "TIMESTAMP", "When that answer was given (UTC)."),
            _c("feedback_items_90d", "INTEGER", "Feedback items in the last 90 days."),
            _c("negative_feedback_share_90d", "DOUBLE",
               "Share of the scored ones with negative sentiment."),
            _c("feedback_scored_share_90d", "DOUBLE",
               "(v4) Share of those items whose language a scorer handles."),
            _c("feedback_languages_90d", "VARCHAR",
               "(v4) Those items per detected language, as a JSON object."),
            _c("top_themes_90d", "VARCHAR[]", "The account's most frequent themes, 90 days."),
            _c("last_signal_at", "TIMESTAMP", "The account's latest response or feedback (UTC)."),
            _c("sources_missing", "VARCHAR[]",
               "(v3) nps or feedback when not trusted on the table's latest day: the row is "
               "built from their trusted days only."),
            PUBLISHED_AT,
        ),
    ),
    Table(
        "marts.data_trust",
        "can this be trusted today",
        "`date` x `source` (nps, feedback, social, tool_usage, licences).",
        (
            DATE,
            _c("source", "VARCHAR", "nps, feedback, social, tool_usage or licences."),
            _c("rows_loaded", "INTEGER", "Records staged for the day."),
            _c("rows_quarantined", "INTEGER", "Records quarantined for the day, with reasons."),
            _c("checks_run", "INTEGER", "Quality checks evaluated on the day."),
            _c("checks_failed", "INTEGER", "Of those, how many failed."),
            _c("freshness_hours", "DOUBLE",
               "Hours between the newest record and the publication of the day."),
            _c("trusted", "BOOLEAN",
               "No blocking check failed, fresh enough, and at least one record for a daily "
               "source; for licences (v3), an inventory has arrived: a source that never "
               "delivered is not trusted."),
            _c("notes", "VARCHAR",
               "What failed, that nothing arrived, or who accepted a failed day and why."),
            PUBLISHED_AT,
        ),
    ),
    Table(
        "marts.kpi_daily",
        "the one-line answer",
        "`date`.",
        (
            DATE,
            _c("nps_28d", "DOUBLE",
               "NPS over the 28 days ending `date`, all customers. NULL (v3) when nps is not "
               "trusted that day, as every figure below is when its source is not."),
            _c("nps_responses_28d", "INTEGER", "Responses in those 28 days."),
            _c("feedback_items", "INTEGER", "Feedback items that day."),
            _c("negative_feedback_share", "DOUBLE",
               "Share of the scored ones with negative sentiment."),
            _c("social_mentions", "INTEGER", "Social mentions that day, all channels."),
            _c("social_net_sentiment", "DOUBLE",
               "(positive - negative) / scored mentions that day (v4: was / mentions)."),
            _c("tool_active_users", "INTEGER", "People active in any tool that day (tool_usage)."),
            _c("licence_utilisation", "DOUBLE",
               "Seat-weighted utilisation over all tools (licences and tool_usage)."),
            _c("sources_trusted", "INTEGER", "How many of the five sources are trusted that day."),
            _c("sources_missing", "VARCHAR[]",
               "(v3) The sources whose figures the row lacks, sorted: not trusted that day "
               "(data_trust), or their mart not built for it (tool_licences is held with "
               "tool_usage); their figures are NULL. Empty when all five are there; all five "
               "for a day data_trust has not built."),
            _c("feedback_scored_share", "DOUBLE",
               "(v4) Share of the day's feedback items whose sentiment is scored."),
            _c("feedback_languages", "VARCHAR",
               "(v4) The day's feedback items per detected language, as a JSON object."),
            _c("social_scored_share", "DOUBLE",
               "(v4) Share of the day's social mentions whose sentiment is scored."),
            _c("social_languages", "VARCHAR",
               "(v4) The day's social mentions per detected language, as a JSON object."),
            _c("app_reviews", "INTEGER", "(v4) App Store reviews that day (social)."),
            _c("app_avg_rating", "DOUBLE", "(v4) Their mean stars (1-5)."),
            PUBLISHED_AT,
        ),
        notes="(v3) Built every day from the trusted sources: a source not trusted on a day "
        "(a failed blocking check, nothing arrived, stale) gives NULL figures that day, "
        "never 0 and never an earlier day's figure, and is named in sources_missing.",
    ),
    Table(
        "marts.theme_impact",
        "what to fix first",
        "`week` x `window` x `theme`: `window` `week` is the ISO week; `28d` and `90d` the "
        "28 and 90 days ending on the week's Sunday (or the last day of data). The latest "
        "`28d` ranking answers what to fix first now; `90d` what has cost most this quarter. "
        "Quote `window` in SQL: it is a reserved word.",
        (
            WEEK,
            _c("window", "VARCHAR", "week, 28d (v2 addition) or 90d: the period the row covers."),
            _c("theme", "VARCHAR", "A theme of the taxonomy (other is left out)."),
            _c("nps_responses_mentioning", "INTEGER",
               "NPS responses in the period whose comment names the theme."),
            _c("nps_mentioning", "DOUBLE", "NPS of those responses."),
            _c("nps_not_mentioning", "DOUBLE",
               "NPS of the period's other responses with a comment."),
            _c("nps_gap", "DOUBLE", "nps_mentioning - nps_not_mentioning."),
            _c("nps_gap_margin_of_error", "DOUBLE",
               "95 % margin of the gap: sqrt of the sum of both adjusted-Wald margins squared. "
               "The gap is beyond noise when |nps_gap| exceeds it."),
            _c("nps_points_lost", "DOUBLE",
               "100 x the theme's detractors / all the period's responses: how much higher "
               "the period's NPS would be had they been passives."),
            _c("tickets", "INTEGER", "Feedback items (tickets, widget messages) with the theme."),
            _c("accounts_affected", "INTEGER",
               "Distinct accounts behind those responses and items."),
            _c("plans_affected", "VARCHAR[]", "Their plans, sorted."),
            _c("rank", "INTEGER",
               "1 = fix first: by nps_points_lost, then tickets, within week and window."),
            _c("is_partial_period", "BOOLEAN",
               "The data covers the period only in part (the current week; a 90-day window "
               "that starts before the first response)."),
            _c("sources_missing", "VARCHAR[]",
               "(v3) nps or feedback when one of the period's days (to the week's Sunday) "
               "was not trusted: the row's figures leave those days out."),
            PUBLISHED_AT,
        ),
        notes="Method: a theme's cost is the NPS its detractors take away, 100 x detractors "
        "naming it / all responses, additive over respondents and checkable by hand. The "
        "gap says whether naming the theme goes with a lower score beyond sampling noise "
        "(difference of two independent adjusted-Wald estimates, 95 %). A response naming "
        "two themes counts for both.",
    ),
    Table(
        "meta.publications",
        "what was published, when, by which run",
        "one row per publication (the serving file keeps the latest).",
        (
            _c("publication_id", "VARCHAR", "Unique id of the publication."),
            _c("published_at", "TIMESTAMP", "When the serving file was swapped in (UTC)."),
            _c("run_id", "VARCHAR", "The Dagster run that published it."),
            _c("row_counts", "VARCHAR", "Rows per table, as JSON."),
            _c("kept_from_previous", "VARCHAR[]",
               "Tables held: kept as the previous publication had them, because a source they "
               "are built from failed a blocking check on a day of the run (v3: only that "
               "source's tables), or their own check failed."),
            _c("code_version", "VARCHAR", "The marts' code version."),
            _c("taxonomy_version", "VARCHAR", "Hash of the theme taxonomy used."),
            _c("storage_version", "VARCHAR", "The DuckDB storage version of the file."),
            _c("fresh_tables", "VARCHAR[]",
               "(v3) Tables published fresh from this run's warehouse."),
            _c("held_reasons", "VARCHAR",
               "(v3) Why each held table is held, as JSON: {table: reason}."),
        ),
    ),
    Table(
        "meta.held_sources",
        "which sources are held back, since when, and what to do",
        "`source`: one row per source the latest publication holds back (none when all "
        "are fresh).",
        (
            _c("source", "VARCHAR", "nps, feedback, social, tool_usage or licences."),
            _c("held_since", "DATE",
               "The first day the source failed a blocking check, in the run that started "
               "holding it back."),
            _c("held_tables", "VARCHAR[]", "Its tables kept as last published."),
            _c("failed_checks", "VARCHAR[]", "The blocking checks that failed."),
            _c("what_to_do", "VARCHAR",
               "Fix the file and drop it again, or accept the day: the commands."),
        ),
        notes="(v3) A source's own marts wait for its own blocking checks only: while one "
        "fails they stay as last published, and every other table is published fresh.",
    ),
)
# fmt: on
BY_NAME = {t.name: t for t in TABLES}

DEFINITIONS = """\
- **NPS category** of a 0-10 answer: promoter 9-10, passive 7-8, detractor 0-6.
- **NPS** = 100 x (promoters - detractors) / responses; NULL with no responses.
- **NPS margin of error (95 %)** *(v2: adjusted Wald, Rocks 2016)*: with n' = n + 3,
  p' = (promoters + 0.75) / n' and d' = (detractors + 0.75) / n',
  margin = 100 x 1.96 x sqrt(((p' + d') - (p' - d')^2) / n'); NULL when n < 2. The
  interval (`nps_low`, `nps_high`) is centred on the adjusted estimate 100 (p' - d'). In
  a simulation over 7 true NPS mixes and n from 2 to 200 (`tests/test_statistics.py`)
  it covers the truth 94.4 % of the time on average, at least 88.5 % in every cell from
  n = 3 and 94 % from n = 20; the plain Wald interval covered 48.7 % at worst (n = 2) and
  is 0 for a unanimous small sample. nps +/- margin, centred on the raw NPS, covers
  89.7 % on average.
- **Significant NPS change** *(v2)*: between two periods with margins m1 and m2, the
  change is significant when |NPS2 - NPS1| > sqrt(m1^2 + m2^2) (1.96 standard errors of
  a difference of independent proportions' estimates).
- **Language** *(v4)* of a text: detected by lingua (ISO 639-1), NULL when the text is
  too short to tell.
- **Sentiment** of a text: a score in [-1, 1] from the scorer chosen for its language
  (VADER for English; see the README for the languages scored and how each measured on
  a labelled set); positive when >= 0.05, negative when <= -0.05, neutral otherwise.
  *(v4)* A text in a language no scorer handles has NULL sentiment, never 0: counts,
  shares and means of sentiment are over the scored items, and each table with
  sentiment says in `scored_share` and `languages` what they cover.
- **Theme**: a label of the taxonomy in `config/themes.toml` (keywords and patterns); an
  item may carry several; one that matches none is `other`. *(v4)* An item is matched
  against its own language's patterns (English ones for English and for text too short
  to tell); an item in a language without patterns is `other`.
- **Star rating** *(v4)*: an App Store review's 1-5 stars; its own metric, not an NPS.
- **Active user of a tool on a day**: a person with at least one successful sign-in to
  it that day. DAU, WAU and MAU count distinct active people in the day, the 7 days
  and the 30 days ending that day.
- **Licence utilisation** = 30-day active users / seats (not capped: above 1 means more
  people use the tool than seats were bought); NULL when seats = 0.
- **Recommended seats** *(v2)* = ceil(p90 of the 30-day active users over the 90 days
  ending the day / 0.9). **Savings at renewal** = max(seats - recommended, 0) x annual
  cost / seats.
- **Spike** *(v2)*: a day whose mentions x, against the median m and the median absolute
  deviation MAD of the 28 days before it, satisfy all of: x >= 2m + 10 (at least double
  the usual volume, and 10 more), x > m + 5 x 1.4826 x MAD (a robust 5 sigma, so that one
  busy day in the baseline neither hides the next nor lowers the bar) and
  2 (sqrt(x) - sqrt(m)) > 4 (beyond Poisson noise, for quiet sources whose MAD is 0).
  No spike is called before 28 days of history. False alarms on simulated quiet
  periods (0.5 to 400 mentions a day, weekday seasonality, Poisson and overdispersed):
  3 in 47,328 days, 0.06 per 1,000 (the v1 rule, mean + 3 sd: 76).
- **Emerging theme** *(v2)*: a full week whose items with the theme are at least twice
  their mean over the 4 full weeks before it, at least max(5, 1 % of all the source's
  weekly items), and beyond Poisson noise: 2 (sqrt(items) - sqrt(mean)) > 3.09 (one-sided
  0.1 %). The baseline is exactly the 4 calendar weeks just before, never more: a week
  among them without the theme counts as 0, and a week whose 4 weeks before are not all
  full (the first weeks of data) is never emerging. The 1 % is of the source's mean
  weekly items over the same 4 weeks (every item, whatever its themes). On simulated
  steady themes (0.5 to 200 items a week): 4 alarms in 10,472 weeks, 0.04 % (the v1
  rule: 1.9 %).
- **Partial period** *(v2)*: a week (or a 28- or 90-day window) that the data covers only
  in part is marked, and left out of baselines and period-on-period changes.
- A metric whose denominator is zero is NULL.
- **Held source** *(v3)*: a source whose blocking check failed in a run. Its own tables
  (nps: nps_daily, nps_comments; feedback: feedback_themes_weekly; social:
  social_sentiment_daily, app_reviews_daily (v4); tool_usage: tool_usage_daily, tool_licences; licences:
  tool_licences) stay as last published until the day is fixed or accepted; every
  other table is published fresh, and the tables that combine sources (kpi_daily,
  theme_impact, account_voice, data_trust) are built from the trusted source-days and
  name in `sources_missing` the sources a row lacks. `meta.held_sources` says which
  sources are held, since when, and what to do.
"""


def describe(table: str, column: str) -> str:
    """The contract's description of `schema.table`.`column`, or "" when it has none."""
    found = BY_NAME.get(table)
    return found.description(column) if found else ""


def render() -> str:
    """docs/contract.md."""
    lines = [
        "# The serving contract",
        "",
        "<!-- Generated from productops/contract.py: python -m productops.contract > "
        "docs/contract.md -->",
        "",
        "What BI tools, analysts and reports may rely on, in the serving DuckDB file "
        "(`data/serving.duckdb`), opened read-only while the pipeline runs. Names, columns "
        "and definitions change only on purpose, with a CHANGELOG entry. Times are UTC; "
        "ratios are fractions in [0, 1]; people appear only as salted hashes. The "
        "metric definitions follow.",
        "",
        "## Definitions",
        "",
        DEFINITIONS,
    ]
    for table in TABLES:
        lines += [f"## {table.name}: {table.question}", "", f"Grain: {table.grain}", ""]
        if table.notes:
            lines += [table.notes, ""]
        lines += ["| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{c.name}` | {c.type} | {c.description} |" for c in table.columns]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render())
