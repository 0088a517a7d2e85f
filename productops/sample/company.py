"""The sample company: its calendar, its people and the stories planted in its data.

Everything is drawn from one seeded generator so the same arguments always write
byte-identical landing files.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl

PLANS = ("starter", "pro", "enterprise")
PLAN_WEIGHTS = (0.5, 0.35, 0.15)
REGIONS = ("NA", "EMEA", "APAC", "LATAM")
REGION_WEIGHTS = (0.45, 0.3, 0.17, 0.08)
NPS_CHANNELS = ("email", "web", "sms")
NPS_CHANNEL_WEIGHTS = (0.6, 0.3, 0.1)

FIRST_NAMES = (
    "Amara", "Bjorn", "Chloe", "Dmitri", "Elena", "Farid", "Greta", "Hiroshi", "Ines",
    "Jonah", "Keiko", "Liam", "Maya", "Nikhil", "Olga", "Priya", "Quentin", "Rosa",
    "Sanjay", "Tamsin", "Umar", "Valeria", "Wendell", "Ximena", "Yusuf", "Zofia",
)  # fmt: skip
LAST_NAMES = (
    "Okafor", "Lindqvist", "Moreau", "Petrov", "Garcia", "Haddad", "Schmidt", "Tanaka",
    "Silva", "Whitfield", "Nakamura", "Byrne", "Kowalski", "Raman", "Ivanova", "Patel",
    "Dubois", "Ferreira", "Mehta", "Harlow", "Siddiqui", "Castillo", "Brooks", "Ortega",
)  # fmt: skip


@dataclass(frozen=True)
class Stories:
    """The dates of the stories the generator plants; the README lists what each does."""

    start: date
    end: date
    onboarding_fix: date
    price_change: date
    incident: date
    app_update_de: date  # German App Store reviews turn to crashes since the update
    onboarding_plan: str = "starter"
    underused_tool: str = "Productboard"


def stories_for(end: date, days: int) -> Stories:
    """Place the stories at fixed fractions of the window.

    With 90 days, the onboarding fix and the price change are 30 days apart, so each has
    a clean 28-day NPS window before and after it, and the incident has 28 days of
    history for the spike rule. The German app update (40 %) is told only in German App
    Store reviews, two weeks of growing complaints before the price change.
    """
    start = end - timedelta(days=days - 1)
    return Stories(
        start=start,
        end=end,
        onboarding_fix=start + timedelta(days=round(days * 0.25)),
        price_change=start + timedelta(days=round(days * 0.58)),
        incident=start + timedelta(days=round(days * 0.75)),
        app_update_de=start + timedelta(days=round(days * 0.40)),
    )


# Days generated at once: a week, fewer above scale 10 (a day at scale 70 and above). The
# files are written a chunk at a time, so memory depends on the scale, never on the
# window's length.
CHUNK_DAYS = 7


def chunk_days(scale: float) -> int:
    return max(1, min(CHUNK_DAYS, int(70 // scale)))


# Room for the ids one chunk draws (records per chunk stay far below it up to scale 100).
IDS_PER_CHUNK = 10_000_000


@dataclass(frozen=True)
class Company:
    """The company, seen through one chunk of its window (`chunks()`), or all of it."""

    seed: int
    scale: float
    stories: Stories
    accounts: pl.DataFrame  # account_id, plan, region
    customers: pl.DataFrame  # person_id, account_id, name, email, phone
    employees: pl.DataFrame  # okta_id, name, login
    first: date | None = None  # the chunk's first and last day (None: the whole window)
    last: date | None = None
    chunk: int = 0

    @property
    def days(self) -> list[date]:
        first, last = self.first or self.stories.start, self.last or self.stories.end
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def chunks(self, size: int | None = None) -> Iterator[Company]:
        """The window in chunks of `size` days (by default `chunk_days`), in order."""
        st = self.stories
        size = size or chunk_days(self.scale)
        for i, offset in enumerate(range(0, (st.end - st.start).days + 1, size)):
            first = st.start + timedelta(days=offset)
            yield replace(
                self, first=first, last=min(st.end, first + timedelta(days=size - 1)), chunk=i
            )

    def rng(self, stream: int) -> np.random.Generator:
        """The generator of one data stream in this chunk: the same arguments, the same bytes."""
        return np.random.default_rng([self.seed * 101 + stream, self.chunk])

    def day_of(self, day: date) -> int:
        """`day`'s index in this chunk's days (outside it when negative or past the end)."""
        return (day - self.days[0]).days

    @property
    def day0(self) -> int:
        """Epoch seconds of the chunk's first midnight (UTC)."""
        return int(datetime.combine(self.days[0], datetime.min.time(), UTC).timestamp())

    @property
    def window_end(self) -> int:
        """Epoch seconds just after the whole window: nothing is exported later."""
        end = self.stories.end + timedelta(days=1)
        return int(datetime.combine(end, datetime.min.time(), UTC).timestamp())

    def serial(self, n: int) -> np.ndarray:
        """n ids unique across the chunks of the window."""
        return self.chunk * IDS_PER_CHUNK + np.arange(n)


def _names(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    first = rng.choice(np.array(FIRST_NAMES), n)
    last = rng.choice(np.array(LAST_NAMES), n)
    return first, last


def build_company(seed: int, scale: float, end: date, days: int) -> Company:
    rng = np.random.default_rng(seed)
    n_accounts = max(50, round(5000 * scale))
    n_customers = n_accounts * 2
    n_employees = max(20, round(500 * scale))

    accounts = pl.DataFrame(
        {
            "account_id": [f"ACC-{seed:02d}{i:06d}" for i in range(n_accounts)],
            "plan": rng.choice(np.array(PLANS), n_accounts, p=PLAN_WEIGHTS),
            "region": rng.choice(np.array(REGIONS), n_accounts, p=REGION_WEIGHTS),
        }
    )
    first, last = _names(rng, n_customers)
    ids = np.arange(n_customers)
    customers = pl.DataFrame(
        {
            "person_id": (seed * 10_000_000 + ids).astype(str),
            "account_id": accounts["account_id"].to_numpy()[
                rng.integers(0, n_accounts, n_customers)
            ],
            "first": first,
            "last": last,
        }
    ).with_columns(
        name=pl.col("first") + " " + pl.col("last"),
        email=(pl.col("first") + "." + pl.col("last")).str.to_lowercase()
        + pl.Series(ids).cast(pl.String)
        + "@example-customer.com",
        phone=pl.lit("+1415")
        + pl.Series(rng.integers(1_000_000, 9_999_999, n_customers)).cast(pl.String),
    )
    first, last = _names(rng, n_employees)
    eids = np.arange(n_employees)
    employees = pl.DataFrame({"first": first, "last": last}).with_columns(
        okta_id=pl.lit("00u") + pl.Series(seed * 1_000_000 + eids).cast(pl.String),
        name=pl.col("first") + " " + pl.col("last"),
        login=(pl.col("first") + "." + pl.col("last")).str.to_lowercase()
        + pl.Series(eids).cast(pl.String)
        + "@productops-sample.com",
    )
    return Company(
        seed=seed,
        scale=scale,
        stories=stories_for(end, days),
        accounts=accounts,
        customers=customers,
        employees=employees,
    )


def daily_counts(
    rng: np.random.Generator, days: list[date], weekday: float, weekend: float
) -> np.ndarray:
    """Poisson counts per day with weekday seasonality."""
    lam = np.array([weekday if d.weekday() < 5 else weekend for d in days])
    return rng.poisson(lam)


def seconds_in_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Times of day clustered around working hours (UTC), in seconds."""
    hours = np.clip(rng.normal(14.5, 3.5, n), 0, 23.999)
    return (hours * 3600).astype(np.int64)
