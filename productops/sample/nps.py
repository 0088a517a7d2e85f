"""Delighted survey responses, as `GET /v1/survey_responses.json?expand[]=person` returns them."""

from __future__ import annotations

import numpy as np
import polars as pl

from productops.sample import languages, messy
from productops.sample.company import (
    NPS_CHANNEL_WEIGHTS,
    NPS_CHANNELS,
    Company,
    daily_counts,
    seconds_in_day,
)
from productops.sample.text import THEMES, add_emoji, compose, pick_neutral, pick_phrases

# P(promoter), P(detractor) per plan before the price change; the price change then
# moves every plan by PRICE_CHANGE_SHIFT.
BASE = (0.50, 0.22)
STARTER_BEFORE_FIX = (0.30, 0.42)
STARTER_AFTER_FIX = (0.62, 0.12)
PRICE_CHANGE_SHIFT = (-0.14, +0.20)


def responses(company: Company) -> pl.DataFrame | None:
    """One row per response version, with the day of the export file it lands in (None: none)."""
    rng = company.rng(1)
    days = company.days
    st = company.stories
    counts = daily_counts(rng, days, 45 * company.scale, 18 * company.scale)
    n = int(counts.sum())
    if n == 0:
        return None
    day_idx = np.repeat(np.arange(len(days)), counts)
    created = company.day0 + day_idx * 86400 + seconds_in_day(rng, n)

    customers = company.customers.sample(n, with_replacement=True, seed=company.seed)
    people = customers.join(company.accounts, on="account_id", how="left")
    plan = people["plan"].to_numpy()

    after_price = day_idx >= company.day_of(st.price_change)
    after_fix = day_idx >= company.day_of(st.onboarding_fix)
    starter = plan == st.onboarding_plan
    starter_p = np.where(after_fix, STARTER_AFTER_FIX[0], STARTER_BEFORE_FIX[0])
    starter_d = np.where(after_fix, STARTER_AFTER_FIX[1], STARTER_BEFORE_FIX[1])
    p_promoter = np.where(starter, starter_p, BASE[0]) + after_price * PRICE_CHANGE_SHIFT[0]
    p_detractor = np.where(starter, starter_d, BASE[1]) + after_price * PRICE_CHANGE_SHIFT[1]
    u = rng.random(n)
    category = np.where(u < p_promoter, 2, np.where(u < p_promoter + p_detractor, 0, 1))
    score = np.select(
        [category == 2, category == 1],
        [rng.integers(9, 11, n), rng.integers(7, 9, n)],
        rng.integers(0, 7, n),
    )

    theme = rng.choice(np.array(THEMES), n)
    theme = np.where(after_price & (category == 0) & (rng.random(n) < 0.6), "pricing", theme)
    theme = np.where(starter & (rng.random(n) < 0.5), "onboarding", theme)
    negative = category == 0
    comment = pick_phrases(rng, theme, negative)
    comment = pl.Series(np.where(category == 1, pick_neutral(rng, n), comment.to_numpy()))
    comment = add_emoji(rng, compose(rng, comment), 0.03)
    tone = np.select([category == 0, category == 2], ["neg", "pos"], "neu")
    lang_rng = company.rng(7)  # the languages' own stream: English comments stay as they were
    lang = languages.draw(lang_rng, n)
    _, comment = languages.localise(lang_rng, comment, comment, theme, tone, lang, 0.03)
    # Typed on purpose: from a numpy object array polars infers Object when the first value is None.
    keep = pl.Series(rng.random(n) < 0.6)
    comment = pl.select(
        pl.when(keep).then(pl.Series(comment, dtype=pl.String)).otherwise(None).alias("comment")
    ).to_series()
    comment = messy.leak_pii(rng, comment, people, 0.01)

    plan_text = np.where(
        rng.random(n) < 0.05, np.char.upper(plan.astype(str)), np.char.capitalize(plan.astype(str))
    )
    channel = rng.choice(np.array(NPS_CHANNELS), n, p=NPS_CHANNEL_WEIGHTS)
    ids = company.seed * 10**12 + 431 * 10**9 + company.serial(n)

    frame = pl.DataFrame(
        {
            "id": ids.astype(str),
            "score": score,
            "created_at": created,
            "plan": plan_text,
            "region": people["region"],
            "channel": np.char.capitalize(channel.astype(str)),
            "account_id": people["account_id"],
            "person_id": people["person_id"],
            "email": people["email"],
            "name": people["name"],
            "phone": people["phone"],
            "comment": comment,
            "token": rng.integers(10**15, 10**16, n).astype(str),
        }
    )
    # About 4 % of responses are edited a few days later (a new score or comment).
    edited = frame.filter(pl.Series(rng.random(n) < 0.04))
    edited = edited.with_columns(
        updated_at=pl.col("created_at") + pl.Series(rng.integers(86400, 5 * 86400, edited.height)),
        score=pl.Series(rng.integers(0, 11, edited.height)),
    )
    versions = pl.concat(
        [frame.with_columns(updated_at=pl.col("created_at") + 60), edited], how="vertical"
    )
    # Out-of-range scores and missing ids: what the validation has to catch.
    m = versions.height
    versions = versions.with_columns(
        score=pl.when(messy.mask(rng, m, 0.003)).then(pl.lit(11)).otherwise(pl.col("score")),
        id=pl.when(messy.mask(rng, m, 0.002)).then(None).otherwise(pl.col("id")),
    )
    return versions.filter(pl.col("updated_at") < company.window_end)


def export_lines(company: Company) -> pl.DataFrame:
    """Encode each version as the API's JSON and assign it to its export day."""
    v = responses(company)
    if v is None:
        return messy.NO_LINES
    rng = company.rng(2)
    record = pl.struct(
        pl.col("id"),
        person=pl.struct(
            id=pl.col("person_id"),
            email=pl.col("email"),
            name=pl.col("name"),
            created_at=pl.col("created_at") - 90 * 86400,
            phone_number=pl.col("phone"),
            last_sent_at=pl.col("created_at") - 3600,
            last_responded_at=pl.col("created_at"),
            next_survey_scheduled_at=pl.col("created_at") + 90 * 86400,
        ),
        survey_type=pl.lit("nps"),
        score=pl.col("score"),
        comment=pl.col("comment"),
        permalink=pl.lit("https://app.delighted.com/r/") + pl.col("token"),
        created_at=pl.col("created_at"),
        updated_at=pl.col("updated_at"),
        person_properties=pl.struct(
            **{
                "Delighted Source": pl.col("channel"),
                "Plan": pl.col("plan"),
                "Region": pl.col("region"),
                "Account ID": pl.col("account_id"),
                "Delighted Device Type": pl.lit("desktop"),
            }
        ),
        notes=pl.lit([], dtype=pl.List(pl.String)),
        tags=pl.lit([], dtype=pl.List(pl.String)),
        additional_answers=pl.lit([], dtype=pl.List(pl.String)),
    )
    lines = v.sort("updated_at").select(
        day=pl.from_epoch("updated_at", time_unit="s").dt.date(),
        line=record.struct.json_encode(),
    )
    lines = messy.break_field(
        rng,
        lines,
        r'"created_at":\d+,"updated_at"',
        '"created_at":"2025-02-30 25:61","updated_at"',
        0.002,
    )
    lines = messy.duplicate_lines(rng, lines, 0.004)
    return messy.truncate_lines(rng, lines, 0.0005)
