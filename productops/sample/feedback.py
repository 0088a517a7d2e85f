"""Zendesk tickets (incremental cursor export) and the in-app feedback widget's CSV export."""

from __future__ import annotations

import numpy as np
import polars as pl

from productops.sample import languages, messy
from productops.sample.company import Company, daily_counts, seconds_in_day
from productops.sample.text import THEMES, add_emoji, compose, pick_phrases

ACCOUNT_FIELD_ID = 360_000_001  # the "Account ID" custom field of the sample Zendesk
PLAN_FIELD_ID = 360_000_002
ISO = "%Y-%m-%dT%H:%M:%SZ"


def _themes(
    company: Company, rng: np.random.Generator, day_idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Themes and tone per item, with the price change and the incident in them."""
    st = company.stories
    n = len(day_idx)
    theme = rng.choice(np.array(THEMES), n)
    after_price = day_idx >= company.day_of(st.price_change)
    incident = day_idx == company.day_of(st.incident)
    theme = np.where(after_price & (rng.random(n) < 0.35), "pricing", theme)
    theme = np.where(incident & (rng.random(n) < 0.7), "reliability", theme)
    negative = rng.random(n) < np.where(theme == "pricing", np.where(after_price, 0.9, 0.3), 0.45)
    return theme, negative


def _localised(
    rng: np.random.Generator,
    phrase: pl.Series,
    text: pl.Series,
    theme: np.ndarray,
    negative: np.ndarray,
    emoji: float,
) -> tuple[pl.Series, pl.Series]:
    """A fifth of the items written in German, French, Spanish or Portuguese instead, drawn
    from `rng`, the languages' own stream, so the English items stay as they were."""
    lang = languages.draw(rng, len(text))
    tone = np.where(negative, "neg", "pos")
    return languages.localise(rng, phrase, text, theme, tone, lang, emoji)


def ticket_lines(company: Company) -> pl.DataFrame:
    rng = company.rng(3)
    days = company.days
    counts = daily_counts(rng, days, 70 * company.scale, 20 * company.scale)
    incident_idx = company.day_of(company.stories.incident)
    if 0 <= incident_idx < len(days):
        counts[incident_idx] *= 3
    n = int(counts.sum())
    if n == 0:
        return messy.NO_LINES
    day_idx = np.repeat(np.arange(len(days)), counts)
    created = company.day0 + day_idx * 86400 + seconds_in_day(rng, n)
    people = company.customers.sample(n, with_replacement=True, seed=company.seed + 1).join(
        company.accounts, on="account_id", how="left"
    )
    theme, negative = _themes(company, rng, day_idx)
    phrase = pick_phrases(rng, theme, negative)
    text = add_emoji(rng, compose(rng, phrase), 0.02)
    phrase, text = _localised(company.rng(8), phrase, text, theme, negative, 0.02)
    amp = rng.random(n) < 0.02
    text = pl.Series(
        np.where(amp, text.str.replace(" and ", " &amp; ").to_numpy(), text.to_numpy())
    )
    body = messy.leak_pii(rng, text, people, 0.01)
    tickets = pl.DataFrame(
        {
            "id": company.seed * 10**11 + company.serial(n),
            "created_at": created,
            "subject": phrase.str.slice(0, 60),
            "description": body,
            "requester_id": people["person_id"].cast(pl.Int64),
            "email": people["email"],
            "name": people["name"],
            "account_id": people["account_id"],
            "plan": people["plan"],
            "theme": theme,
            "channel": rng.choice(
                np.array(["web", "email", "api", "native_messaging"]), n, p=[0.45, 0.4, 0.05, 0.1]
            ),
            "priority": rng.choice(
                np.array(["low", "normal", "high", "urgent"]), n, p=[0.2, 0.6, 0.15, 0.05]
            ),
            "type": rng.choice(
                np.array(["question", "incident", "problem", "task"]), n, p=[0.5, 0.25, 0.15, 0.1]
            ),
            "good": rng.random(n) < np.where(negative, 0.3, 0.85),
        }
    )
    # Each ticket is exported once per update: new, then open, then solved.
    opened = rng.random(n) < 0.75
    solved = opened & (rng.random(n) < 0.8)
    deleted = rng.random(n) < 0.005
    v_new = tickets.with_columns(status=pl.lit("new"), updated_at=pl.col("created_at") + 30)
    v_open = tickets.filter(pl.Series(opened)).with_columns(
        status=pl.lit("open"),
        updated_at=pl.col("created_at") + pl.Series(rng.integers(3600, 86400, int(opened.sum()))),
    )
    v_solved = tickets.filter(pl.Series(solved)).with_columns(
        status=pl.lit("solved"),
        updated_at=pl.col("created_at")
        + pl.Series(rng.integers(86400, 4 * 86400, int(solved.sum()))),
    )
    v_deleted = tickets.filter(pl.Series(deleted)).with_columns(
        status=pl.lit("deleted"), updated_at=pl.col("created_at") + 5 * 86400
    )
    versions = pl.concat([v_new, v_open, v_solved, v_deleted])
    versions = versions.filter(pl.col("updated_at") < company.window_end)
    m = versions.height
    versions = versions.with_columns(
        generated_timestamp=pl.col("updated_at") + pl.Series(rng.integers(0, 5, m)),
        id=pl.when(messy.mask(rng, m, 0.002)).then(None).otherwise(pl.col("id")),
    ).sort("generated_timestamp")

    def iso(col: str) -> pl.Expr:
        return pl.from_epoch(col, time_unit="s").dt.strftime(ISO)

    record = pl.struct(
        url=pl.lit("https://beacon.zendesk.com/api/v2/tickets/")
        + pl.col("id").cast(pl.String)
        + ".json",
        id=pl.col("id"),
        external_id=pl.lit(None, dtype=pl.String),
        via=pl.struct(
            channel=pl.col("channel"),
            source=pl.struct(
                **{
                    "from": pl.struct(address=pl.col("email"), name=pl.col("name")),
                    "to": pl.struct(
                        address=pl.lit("support@beacon.example"), name=pl.lit("Beacon")
                    ),
                    "rel": pl.lit(None, dtype=pl.String),
                }
            ),
        ),
        created_at=iso("created_at"),
        updated_at=iso("updated_at"),
        generated_timestamp=pl.col("generated_timestamp"),
        type=pl.col("type"),
        subject=pl.col("subject"),
        raw_subject=pl.col("subject"),
        description=pl.col("description"),
        priority=pl.col("priority"),
        status=pl.col("status"),
        recipient=pl.lit("support@beacon.example"),
        requester_id=pl.col("requester_id"),
        submitter_id=pl.col("requester_id"),
        assignee_id=pl.lit(None, dtype=pl.Int64),
        organization_id=pl.lit(None, dtype=pl.Int64),
        tags=pl.concat_list(pl.col("theme"), pl.lit("beacon")),
        custom_fields=pl.concat_list(
            pl.struct(id=pl.lit(ACCOUNT_FIELD_ID), value=pl.col("account_id")),
            pl.struct(id=pl.lit(PLAN_FIELD_ID), value=pl.col("plan")),
        ),
        satisfaction_rating=pl.when(pl.col("status") == "solved")
        .then(
            pl.struct(score=pl.when(pl.col("good")).then(pl.lit("good")).otherwise(pl.lit("bad")))
        )
        .otherwise(pl.struct(score=pl.lit("unoffered"))),
        is_public=pl.lit(True),
        brand_id=pl.lit(360_000_100),
    )
    lines = versions.select(
        day=pl.from_epoch("updated_at", time_unit="s").dt.date(), line=record.struct.json_encode()
    )
    lines = messy.break_field(
        rng, lines, r'"created_at":"[^"]+"', '"created_at":"2025-13-45T99:00:00Z"', 0.002
    )
    lines = messy.duplicate_lines(rng, lines, 0.004)
    return messy.truncate_lines(rng, lines, 0.0005)


def widget_rows(company: Company) -> pl.DataFrame:
    """The in-app widget's CSV export: one row per submission, strings as exported."""
    rng = company.rng(4)
    days = company.days
    counts = daily_counts(rng, days, 25 * company.scale, 10 * company.scale)
    n = int(counts.sum())
    if n == 0:
        return pl.DataFrame(schema={"day": pl.Date})
    day_idx = np.repeat(np.arange(len(days)), counts)
    at = company.day0 + day_idx * 86400 + seconds_in_day(rng, n)
    people = company.customers.sample(n, with_replacement=True, seed=company.seed + 2).join(
        company.accounts, on="account_id", how="left"
    )
    theme, negative = _themes(company, rng, day_idx)
    phrase = pick_phrases(rng, theme, negative)
    message = add_emoji(rng, compose(rng, phrase), 0.03)
    _, message = _localised(company.rng(9), phrase, message, theme, negative, 0.03)
    message = messy.leak_pii(rng, message, people, 0.01)
    rating = np.where(negative, rng.integers(1, 3, n), rng.integers(4, 6, n))
    rating = np.where(rng.random(n) < 0.003, 9, rating)
    frame = pl.DataFrame(
        {
            "feedback_id": f"wf-{company.seed:02d}-"
            + pl.Series(company.serial(n)).cast(pl.String).str.zfill(9),
            "submitted_at": pl.Series(at).cast(pl.Int64),
            "user_email": people["email"],
            "user_name": people["name"],
            "account_id": people["account_id"],
            "plan": people["plan"],
            "page": rng.choice(
                np.array(
                    ["/dashboard", "/reports", "/settings/billing", "/onboarding", "/integrations"]
                ),
                n,
            ),
            "rating": rating.astype(str),
            "message": message,
        }
    ).with_columns(
        day=pl.from_epoch("submitted_at", time_unit="s").dt.date(),
        submitted_at=pl.from_epoch("submitted_at", time_unit="s").dt.strftime("%Y-%m-%d %H:%M:%S"),
    )
    bad_time = messy.mask(rng, n, 0.002)
    missing = messy.mask(rng, n, 0.002)
    frame = frame.with_columns(
        submitted_at=pl.when(bad_time)
        .then(pl.lit("31/02/2025 7pm"))
        .otherwise(pl.col("submitted_at")),
        feedback_id=pl.when(missing).then(None).otherwise(pl.col("feedback_id")),
    )
    dup = frame.filter(messy.mask(rng, n, 0.004))
    return pl.concat([frame, dup]).sort("day", maintain_order=True)
