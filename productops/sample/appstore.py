"""App Store customer reviews as the storefronts' review feeds return them: one entry per
line, with the storefront the connector read it from (`productops_storefront`).

Every value is a string under `label`; `updated` is Pacific time, the only date a
review has. A review its author rewrites comes again with a later `updated`.

The German app update is told here and only here: from `Stories.app_update_de`, German
reviews in the `de` storefront turn to one or two stars about the app crashing since
the update, more of them every day for two weeks. English reviews, and every other
storefront, go on as before.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

from productops.sample import languages, messy
from productops.sample.company import Company, daily_counts, seconds_in_day
from productops.sample.languages import de
from productops.sample.mentions import day_of, outage_count, people, themes_for

STREAM = 14
WEEKDAY, WEEKEND = 5, 6  # reviews a day at scale 1 (phones get more use at weekends)
SPIKE = (5, 15)  # the incident day: 5 weekdays' reviews and 15 more, mostly one star
STOREFRONTS = {"us": 0.42, "gb": 0.14, "de": 0.13, "fr": 0.11, "es": 0.10, "br": 0.10}
LANGUAGE = {"us": "en", "gb": "en", "de": "de", "fr": "fr", "es": "es", "br": "pt"}
LOCAL = 0.85  # reviews in the storefront's language; the others are in English
STARS = (0.22, 0.11, 0.12, 0.2, 0.35)  # one to five stars
APP_ID = "6447283910"
# The German story: the share of German `de` reviews about the crash rises to STORY_SHARE
# over STORY_RAMP days, and STORY_EXTRA more such reviews a day (at scale 1) join them.
STORY_RAMP, STORY_SHARE, STORY_EXTRA = 14, 0.85, 3.0
REWRITTEN = 0.02  # reviews rewritten one to ten days later


def _versions(rng: np.random.Generator, day_idx: np.ndarray, update_idx: int) -> np.ndarray:
    """The app version a review was written on: 4.3.0 from the update's day on, and some
    reviewers a version behind."""
    behind = rng.random(len(day_idx)) < 0.12
    after = day_idx >= update_idx
    return np.where(after, np.where(behind, "4.2.1", "4.3.0"), np.where(behind, "4.1.3", "4.2.1"))


def _titles() -> dict[str, tuple[str, ...]]:
    titles = {
        f"{lang}|{tone}": ts
        for lang, titles in languages.part("review_titles").items()
        for tone, ts in titles.items()
    }
    return {**titles, "story": de.APP_UPDATE_TITLES}


def reviews(company: Company) -> pl.DataFrame:
    """One row per review of this chunk (its first version), with its storefront,
    language, stars and whether it tells the German story."""
    rng = company.rng(STREAM)
    days = company.days
    st = company.stories
    s = company.scale
    counts = np.maximum(daily_counts(rng, days, WEEKDAY * s, WEEKEND * s), 1)
    incident_idx, update_idx = company.day_of(st.incident), company.day_of(st.app_update_de)
    if 0 <= incident_idx < len(days):
        counts[incident_idx] = outage_count(rng, SPIKE, WEEKDAY * s)
    ramp = np.clip((np.arange(len(days)) - update_idx + 1) / STORY_RAMP, 0, 1)
    extra = rng.poisson(ramp * STORY_EXTRA * s)
    every_day = np.arange(len(days))
    day_idx = np.concatenate([np.repeat(every_day, counts), np.repeat(every_day, extra)])
    n = len(day_idx)
    added = np.arange(n) >= counts.sum()  # the story's extra reviews
    incident = (day_idx == incident_idx) & ~added

    names = np.array(list(STOREFRONTS))
    storefront = np.where(added, "de", rng.choice(names, n, p=list(STOREFRONTS.values())))
    native = pl.Series(storefront, dtype=pl.String).replace_strict(LANGUAGE).to_numpy()
    lang = np.where(added | (rng.random(n) < LOCAL), native, "en").astype(str)
    stars = rng.choice(np.arange(1, 6), n, p=STARS)
    stars = np.where(incident & (rng.random(n) < 0.9), 1, stars)
    crashes = (storefront == "de") & (lang == "de") & (rng.random(n) < STORY_SHARE * ramp[day_idx])
    story = added | crashes
    stars = np.where(story, np.where(rng.random(n) < 0.7, 1, 2), stars)
    tone = np.select([stars <= 2, stars == 3], ["neg", "neu"], "pos")
    theme = themes_for(rng, tone, incident)

    phrase = languages.phrases(rng, lang, theme, tone)
    phrase = np.where(story, rng.choice(np.array(de.APP_UPDATE), n), phrase)
    keys = np.where(story, "story", np.char.add(np.char.add(lang, "|"), tone))
    reviewer = rng.integers(0, 10**6, n)
    first, last = people(reviewer)
    nickname = np.where(
        reviewer % 3 == 0,
        np.char.add(first, (reviewer % 100).astype(str)),
        np.char.add(np.char.add(first, " "), np.char.add(last.astype("U1"), ".")),
    )
    return pl.DataFrame(
        {
            "id": (company.seed * 10**11 + 44 * 10**9 + company.serial(n)).astype(str),
            "updated": company.day0 + day_idx * 86400 + seconds_in_day(rng, n),
            "storefront": storefront,
            "lang": lang,
            "stars": stars.astype(str),
            "story": story,
            "version": _versions(rng, day_idx, update_idx),
            "title": pl.Series(languages.choose(rng, _titles(), keys), dtype=pl.String),
            "content": languages.compose(rng, phrase, lang),
            "author": nickname,
            "author_id": rng.integers(10**8, 2 * 10**9, n).astype(str),
            "votes": rng.geometric(0.6, n) - 1,
        }
    )


def review_lines(company: Company) -> pl.DataFrame:
    """The review entries, as the feed serves them (a rewritten review twice)."""
    return _lines(company)[0]


def rewrite_lines(company: Company) -> pl.DataFrame:
    """What the connector lands when it meets a review rewritten on a later day: the
    earlier day's version tombstoned (staging keys a review by its id and the UTC day of
    `updated`), in files of their own (a file's shape is its first record's)."""
    return _lines(company)[1]


def _lines(company: Company) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = reviews(company)
    rng = company.rng(STREAM + 100)
    n = frame.height
    frame = frame.with_columns(helpful=pl.Series(rng.binomial(frame["votes"].to_numpy(), 0.6)))
    # A rewritten review comes back to the top of the feed with a new `updated`.
    again = frame.filter(messy.mask(rng, n, REWRITTEN) & ~pl.col("story"))
    notes = languages.choose(rng, languages.part("edit_notes"), again["lang"].to_numpy())
    first = again["updated"]
    again = again.with_columns(
        updated=pl.col("updated") + pl.Series(rng.integers(86400, 10 * 86400, again.height)),
        content=pl.col("content") + "\n\n" + pl.Series(notes, dtype=pl.String),
    )
    label = lambda value: pl.struct(label=value)  # noqa: E731
    pacific = (
        pl.from_epoch("updated", time_unit="s")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone("America/Los_Angeles")
        .dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
    )
    country = pl.col("storefront")
    entry = pl.struct(
        **{
            "author": pl.struct(
                uri=label(
                    pl.lit("https://itunes.apple.com/")
                    + country
                    + "/reviews/id"
                    + pl.col("author_id")
                ),
                name=label(pl.col("author")),
                label=pl.lit(""),
            ),
            "im:version": label(pl.col("version")),
            "im:rating": label(pl.col("stars")),
            "id": label(pl.col("id")),
            "title": label(pl.col("title")),
            "content": pl.struct(
                label=pl.col("content"), attributes=pl.struct(type=pl.lit("text"))
            ),
            "link": pl.struct(
                attributes=pl.struct(
                    rel=pl.lit("related"),
                    href=pl.lit("https://itunes.apple.com/")
                    + country
                    + f"/review?id={APP_ID}&type=Purple%20Software",
                )
            ),
            "im:voteSum": label(pl.col("helpful").cast(pl.String)),
            "im:contentType": pl.struct(
                attributes=pl.struct(term=pl.lit("Application"), label=pl.lit("Application"))
            ),
            "im:voteCount": label(pl.col("votes").cast(pl.String)),
            "updated": label(pacific),
            "productops_storefront": country,
        }
    )
    lines = pl.concat([frame, again]).sort("updated", maintain_order=True)
    end = datetime.fromtimestamp(company.window_end, UTC).date()
    lines = lines.select(day_of("updated"), line=entry.struct.json_encode())
    gone = again.with_columns(first=first).select(
        day_of("updated"),
        line=pl.struct(
            productops_tombstone=pl.struct(
                channel=pl.lit("app_store"),
                key=pl.lit("appstore:")
                + pl.col("id")
                + "@"
                + pl.from_epoch("first", time_unit="s").dt.date().cast(pl.String),
                created_at=pl.from_epoch("first", time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
                deleted_at=pl.from_epoch("updated", time_unit="s").dt.strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
            )
        ).struct.json_encode(),
    )  # every rewrite is on a later UTC day (1 to 10 days later)
    reviews_out = messy.duplicate_lines(rng, lines.filter(pl.col("day") < end), 0.004)
    return reviews_out, gone.filter(pl.col("day") < end)
