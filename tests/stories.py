"""What a Product Ops lead should read in the serving tables of any sample company: each
planted story found, and nothing found where none was planted. Written against the
published tables with independent arithmetic (the contract's formulas, restated here)."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import duckdb

from productops import alerts
from productops.sample.company import Stories


def adjusted_wald(p: int, d: int, n: int) -> tuple[float, float]:
    """NPS and its 95 % margin (Rocks 2016), restated from the contract."""
    nps = 100 * (p - d) / n
    n_, p_, d_ = n + 3, (p + 0.75) / (n + 3), (d + 0.75) / (n + 3)
    return nps, 100 * 1.96 * math.sqrt(((p_ + d_) - (p_ - d_) ** 2) / n_)


def period_nps(
    con: duckdb.DuckDBPyConnection, segment: str, value: str, first: date, last: date
) -> tuple[float, float, int]:
    p, d, n = con.execute(
        "SELECT sum(promoters), sum(detractors), sum(responses) FROM marts.nps_daily "
        "WHERE segment = ? AND segment_value = ? AND date BETWEEN ? AND ?",
        [segment, value, first, last],
    ).fetchall()[0]
    nps, moe = adjusted_wald(int(p), int(d), int(n))
    return nps, moe, int(n)


def change_around(
    con: duckdb.DuckDBPyConnection, st: Stories, segment: str, value: str, day: date
) -> tuple[float, float]:
    """NPS of the (up to) 28 days from `day` minus the (up to) 28 days before it, and the
    margin of that difference."""
    before, m1, _ = period_nps(
        con, segment, value, max(st.start, day - timedelta(28)), day - timedelta(1)
    )
    after, m2, _ = period_nps(con, segment, value, day, min(st.end, day + timedelta(27)))
    return after - before, math.hypot(m1, m2)


def story_problems(serving: Path, st: Stories, scale: float) -> list[str]:
    problems: list[str] = []
    with duckdb.connect(str(serving), read_only=True) as con:

        def q(sql: str, *params):
            return con.execute(sql, list(params)).fetchall()

        spikes = [d for (d,) in q("SELECT date FROM marts.social_sentiment_daily "
                                  "WHERE platform = 'all' AND is_spike ORDER BY date")]  # fmt: skip
        if spikes != [st.incident]:
            problems.append(f"spikes {spikes}, planted {st.incident}")
        # The incident is heard on every channel: each is above its 28-day median that day.
        quiet = q("""SELECT platform FROM (
                         SELECT platform, date, mentions, median(mentions) OVER (
                             PARTITION BY platform ORDER BY date RANGE BETWEEN
                             INTERVAL 28 DAYS PRECEDING AND INTERVAL 1 DAY PRECEDING) AS usual
                         FROM marts.social_sentiment_daily)
                     WHERE date = ? AND NOT mentions > usual ORDER BY 1""", st.incident)  # fmt: skip
        channels = {p for (p,) in q("SELECT DISTINCT platform FROM marts.social_sentiment_daily")}
        if quiet or len(channels) < 6:
            problems.append(f"incident not heard on {quiet}; channels {sorted(channels)}")

        # Told only in German: from a week after the app update to the day before the
        # incident (whose one-star burst lowers every storefront), the de storefront's
        # reviews are rated 2 stars or less, a fall at least three quarters of a star larger
        # than the English storefronts' (which move by noise alone: a few dozen reviews).
        def rating(storefronts: tuple[str, ...], first: date, last: date) -> float | None:
            got = q(f"SELECT sum(avg_rating * reviews) / sum(reviews) FROM marts.app_reviews_daily "
                    f"WHERE storefront IN {storefronts} AND date BETWEEN ? AND ?", first, last)  # fmt: skip
            return got[0][0] if got else None

        settled = st.app_update_de + timedelta(days=7)
        if settled + timedelta(days=7) < st.incident:
            before = rating(("de", "de"), st.start, st.app_update_de - timedelta(days=1))
            after = rating(("de", "de"), settled, st.incident - timedelta(days=1))
            en_before = rating(("us", "gb"), st.start, st.app_update_de - timedelta(days=1))
            en_after = rating(("us", "gb"), settled, st.incident - timedelta(days=1))
            if None in (before, after, en_before, en_after) or not (
                after <= 2.0 and before - after >= (en_before - en_after) + 0.75
            ):
                problems.append(
                    f"German app update: de rating {before} -> {after}, "
                    f"English storefronts {en_before} -> {en_after}"
                )

        change_week = st.price_change - timedelta(days=st.price_change.weekday())
        incident_week = st.incident - timedelta(days=st.incident.weekday())
        emerging = q("SELECT theme, week FROM marts.feedback_themes_weekly WHERE is_emerging")
        pricing = [w for t, w in emerging if t == "pricing"]
        # After the change and not before: while the 4-week baseline still holds weeks
        # before the change, pricing may stay emerging (one alert, see below).
        if not pricing or any(not change_week <= w <= change_week + timedelta(28) for w in pricing):
            problems.append(f"pricing emerging in {pricing}, price change {st.price_change}")
        others = [(t, w) for t, w in emerging if t != "pricing"]
        if any((t, w) != ("reliability", incident_week) for t, w in others):
            problems.append(f"unplanted emerging themes {others}")

        drop, moe = change_around(con, st, "all", "all", st.price_change)
        if not drop < -moe:
            problems.append(f"price change: NPS {drop:+.1f} +/- {moe:.1f}, not a significant drop")
        lift, moe = change_around(con, st, "plan", st.onboarding_plan, st.onboarding_fix)
        if not lift > moe:
            problems.append(
                f"onboarding fix: NPS {lift:+.1f} +/- {moe:.1f}, not a significant lift"
            )
        licences = q("SELECT tool, utilisation, recommended_seats, savings_at_renewal, seats "
                     "FROM marts.tool_licences WHERE date = ? ORDER BY utilisation", st.end)  # fmt: skip
        if not licences or licences[0][0] != st.underused_tool or not licences[0][1] < 0.4:
            problems.append(f"least used tool {licences[:1]}, planted {st.underused_tool}")
        if any(u < 0.4 for _, u, *_ in licences[1:]):
            problems.append(f"other tools under 40 %: {licences[1:3]}")

        # After the price change (28 days of it), pricing is what to fix first, beyond noise.
        after = st.price_change + timedelta(days=27)
        if after <= st.end:
            week = after - timedelta(days=after.weekday())
            top = q('SELECT theme, nps_gap, nps_gap_margin_of_error FROM marts.theme_impact '
                    'WHERE week = ? AND "window" = \'28d\' AND rank = 1', week)  # fmt: skip
            if not top or top[0][0] != "pricing" or not top[0][1] < -top[0][2]:
                problems.append(f"top theme 28 days after the price change: {top}")
        # Right-sizing: the under-used tool's recommendation follows its real users, about
        # 8 % of max(20, 500 x scale) employees (binomial), over a 0.9 target utilisation.
        employees = max(20, round(500 * scale))
        expected, sd = 0.08 * employees / 0.9, math.sqrt(employees * 0.08 * 0.92) / 0.9
        tool = [r for r in licences if r[0] == st.underused_tool]
        if not tool or not abs(tool[0][2] - expected) <= 4 * sd + 2 or not tool[0][3] > 0:
            problems.append(
                f"{st.underused_tool} right-sizing {tool}, expected about {expected:.0f}"
            )

        # One alert per planted event, none for anything else.
        found = alerts.detect(con, None, st.end)
    kinds: dict[str, list[alerts.Alert]] = {}
    for a in found:
        kinds.setdefault(a.kind, []).append(a)
    if [a.day for a in kinds.pop("social_spike", [])] != [st.incident]:
        problems.append(f"spike alerts {[a.key for a in found if a.kind == 'social_spike']}")
    drops = kinds.pop("nps_drop", [])
    if len(drops) > 1 or any(
        not st.price_change < a.day < st.price_change + timedelta(56) for a in drops
    ):
        problems.append(f"NPS drop alerts {[a.key for a in drops]}")
    if not drops and st.price_change + timedelta(days=55) <= st.end:
        problems.append("no NPS drop alert after the price change")
    emerging = [a.key for a in kinds.pop("emerging_theme", [])]
    if sum(k.startswith("emerging:pricing:") for k in emerging) != 1:
        problems.append(f"pricing emerging alerts {emerging}")
    if any(not k.startswith(("emerging:pricing:", "emerging:reliability:")) for k in emerging):
        problems.append(f"unplanted emerging alerts {emerging}")
    kinds.pop("licence_renewal", None)  # the inventory's dates, not a story
    if kinds:
        problems.append(f"unplanted alerts {[a.key for v in kinds.values() for a in v]}")
    return problems
