"""Okta System Log `user.authentication.sso` events: who signed in to which tool."""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import polars as pl

from productops.sample import messy
from productops.sample.company import Company, seconds_in_day


@dataclass(frozen=True)
class Tool:
    name: str
    seats: int  # at scale 1
    annual_cost: float  # per seat, in `currency`
    owner: str
    adoption: float  # share of employees who use it at all
    daily: float  # chance an adopter uses it on a working day
    currency: str = "USD"


TOOLS = (
    Tool("Slack", 520, 87.0, "IT", 0.98, 0.92),
    Tool("Google Workspace", 520, 144.0, "IT", 1.0, 0.9),
    Tool("Zoom", 500, 150.0, "IT", 0.9, 0.55),
    Tool("Jira", 400, 91.0, "Engineering", 0.7, 0.7),
    Tool("Confluence", 400, 66.0, "Engineering", 0.6, 0.35),
    Tool("GitHub", 250, 252.0, "Engineering", 0.45, 0.8),
    Tool("Notion", 300, 96.0, "Product Ops", 0.5, 0.4),
    Tool("Figma", 120, 540.0, "Design", 0.2, 0.6),
    Tool("Miro", 200, 96.0, "Design", 0.3, 0.2),
    Tool("Productboard", 150, 708.0, "Product Ops", 0.08, 0.25),
    Tool("Zendesk", 80, 1380.0, "Support", 0.14, 0.8, "EUR"),
    Tool("Amplitude", 60, 600.0, "Product Ops", 0.1, 0.4),
)


def event_lines(company: Company) -> pl.DataFrame:
    adoption = np.random.default_rng(company.seed * 101 + 6)  # who uses what: the whole window
    rng = company.rng(6)
    days = company.days
    emp = company.employees
    n_emp = emp.height
    weekday = np.array([d.weekday() < 5 for d in days])
    frames = []
    for t_idx, tool in enumerate(TOOLS):
        # Exactly the tool's share of employees adopt it: a binomial draw would leave a
        # small company's 20-seat tool at 35 % by chance, a story nobody planted.
        adopters = np.sort(adoption.choice(n_emp, round(tool.adoption * n_emp), replace=False))
        if adopters.size == 0:
            continue
        p = np.where(weekday, tool.daily, tool.daily * 0.08)
        active = rng.random((adopters.size, len(days))) < p[None, :]
        e_idx, d_idx = np.nonzero(active)
        if e_idx.size == 0:  # a tiny company's rare tool on a quiet chunk: no frame, whose
            continue  # empty columns polars would type Null and refuse to stack
        reps = 1 + rng.poisson(0.25, e_idx.size)
        frames.append(
            pl.DataFrame(
                {
                    "emp": np.repeat(adopters[e_idx], reps),
                    "day": np.repeat(d_idx, reps),
                    "tool": t_idx,
                }
            )
        )
    ev = pl.concat(frames) if frames else pl.DataFrame()
    n = ev.height
    if n == 0:
        return messy.NO_LINES
    ms = (
        company.day0 + ev["day"].to_numpy() * 86400 + seconds_in_day(rng, n)
    ) * 1000 + rng.integers(0, 1000, n)
    ev = ev.with_columns(
        ms=pl.Series(ms),
        uuid=_uuids(rng, n),
        failed=pl.Series(rng.random(n) < 0.02),
        order=pl.Series(rng.integers(0, 10, n)),
        ip=pl.Series(rng.integers(1, 255, n)).cast(pl.String),
    ).sort("ms")
    tools = pl.DataFrame(
        {
            "tool": range(len(TOOLS)),
            "app": [t.name for t in TOOLS],
            "app_id": [f"0oa{company.seed:02d}{i:08d}" for i in range(len(TOOLS))],
        }
    ).with_columns(pl.col("tool").cast(ev["tool"].dtype))
    ev = ev.join(tools, on="tool", how="left").join(
        emp.with_row_index("emp").with_columns(pl.col("emp").cast(ev["emp"].dtype)),
        on="emp",
        how="left",
    )
    app_instance = pl.struct(
        id=pl.col("app_id"),
        type=pl.lit("AppInstance"),
        alternateId=pl.col("app"),
        displayName=pl.col("app"),
        detailEntry=pl.struct(signOnModeType=pl.lit("SAML_2_0")),
    )
    app_user = pl.struct(
        id=pl.lit("0ua") + pl.col("okta_id").str.slice(3),
        type=pl.lit("AppUser"),
        alternateId=pl.col("login"),
        displayName=pl.col("name"),
        detailEntry=pl.lit(None, dtype=pl.Struct({"signOnModeType": pl.String})),
    )
    published = pl.from_epoch("ms", time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%S.%3fZ")
    record = pl.struct(
        uuid=pl.col("uuid"),
        published=published,
        eventType=pl.lit("user.authentication.sso"),
        version=pl.lit("0"),
        severity=pl.when(pl.col("failed")).then(pl.lit("WARN")).otherwise(pl.lit("INFO")),
        legacyEventType=pl.lit("app.auth.sso"),
        displayMessage=pl.lit("User single sign on to app"),
        actor=pl.struct(
            id=pl.col("okta_id"),
            type=pl.lit("User"),
            alternateId=pl.col("login"),
            displayName=pl.col("name"),
            detailEntry=pl.lit(None, dtype=pl.String),
        ),
        client=pl.struct(
            userAgent=pl.struct(
                rawUserAgent=pl.lit(
                    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 Chrome/126.0"
                ),
                os=pl.lit("Mac OS X"),
                browser=pl.lit("CHROME"),
            ),
            zone=pl.lit("null"),
            device=pl.lit("Computer"),
            id=pl.lit(None, dtype=pl.String),
            ipAddress=pl.lit("203.0.113.") + pl.col("ip"),
        ),
        outcome=pl.struct(
            result=pl.when(pl.col("failed")).then(pl.lit("FAILURE")).otherwise(pl.lit("SUCCESS")),
            reason=pl.when(pl.col("failed")).then(pl.lit("INVALID_CREDENTIALS")).otherwise(None),
        ),
        debugContext=pl.struct(
            debugData=pl.struct(
                requestId=pl.col("uuid").str.slice(0, 20),
                initiationType=pl.lit("SP_INITIATED"),
                signOnMode=pl.lit("SAML 2.0"),
            )
        ),
        transaction=pl.struct(type=pl.lit("WEB"), id=pl.col("uuid").str.slice(0, 20)),
        # The AppInstance is not always first, and the AppUser is sometimes absent.
        target=pl.when(pl.col("order") < 2)
        .then(pl.concat_list(app_user, app_instance))
        .when(pl.col("order") < 3)
        .then(pl.concat_list(app_instance))
        .otherwise(pl.concat_list(app_instance, app_user)),
    )
    lines = ev.select(
        day=pl.from_epoch("ms", time_unit="ms").dt.date(), line=record.struct.json_encode()
    )
    lines = messy.break_field(
        rng, lines, r'"published":"[^"]+"', '"published":"2025-02-30T25:99:00.000Z"', 0.001
    )
    lines = messy.break_field(rng, lines, r'"uuid":"[^"]+",', "", 0.001)
    return messy.duplicate_lines(rng, lines, 0.002)


def _uuids(rng: np.random.Generator, n: int) -> pl.Series:
    """Time-based-looking UUIDs, as Okta's are."""
    hexed = np.frombuffer(binascii.hexlify(rng.bytes(16 * n)), dtype="S32").astype("U32")
    s = pl.Series(hexed)
    return (
        s.str.slice(0, 8) + "-" + s.str.slice(8, 4) + "-1" + s.str.slice(13, 3) + "-"
        + s.str.slice(16, 4) + "-" + s.str.slice(20, 12)
    )  # fmt: skip


def licence_rows(company: Company) -> pl.DataFrame:
    """The licence inventory as IT keeps it: one CSV row per tool."""
    rng = np.random.default_rng(company.seed * 101 + 7)
    end = company.stories.end
    rows = pl.DataFrame(
        {
            "tool": [t.name for t in TOOLS],
            "seats": [str(max(1, round(t.seats * company.scale))) for t in TOOLS],
            "annual_cost": [f"{t.annual_cost * round(t.seats * company.scale):.2f}" for t in TOOLS],
            "currency": [t.currency for t in TOOLS],
            "owner": [t.owner for t in TOOLS],
            "renewal_date": [
                (end + timedelta(days=int(d))).isoformat()
                for d in rng.integers(30, 365, len(TOOLS))
            ],
        }
    )
    # Real inventories are hand-kept: a lower-case currency and an unknown seat count.
    return rows.with_columns(
        currency=pl.when(pl.col("tool") == "Miro")
        .then(pl.lit("usd"))
        .otherwise(pl.col("currency")),
    ).vstack(
        pl.DataFrame(
            {
                "tool": ["Loom"],
                "seats": ["n/a"],
                "annual_cost": ["1800.00"],
                "currency": ["USD"],
                "owner": ["Marketing"],
                "renewal_date": ["2027-03-01"],
            }
        )
    )
