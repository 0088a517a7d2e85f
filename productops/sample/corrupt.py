"""A realistically broken day, for seeing the quality gate work (`productops sample --corrupt`).

Three things vendors really do: a Delighted re-export where a third of the scores are
out of range (a scale bug), an in-app widget export whose columns were renamed by a
tool upgrade, and an Okta export delivered twice (same records, different bytes).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from productops.sample.company import build_company
from productops.sample.text import THEMES, pick_phrases
from productops.settings import DataPaths

RECORDS = 60  # enough that the broken share shows whatever the scale


def write_corrupt_day(
    paths: DataPaths, day: date, *, seed: int = 7, scale: float = 1.0
) -> list[Path]:
    """Write the broken files for `day` into landing; returns their paths."""
    company = build_company(seed, scale, day, 14)
    rng = np.random.default_rng(seed * 1_000 + day.toordinal())
    written = [
        _delighted_scale_bug(paths, company, rng, day),
        _widget_renamed_columns(paths, company, rng, day),
    ]
    okta = paths.landing_dir("tool_usage") / f"okta_system_log_{day.isoformat()}.jsonl"
    if okta.exists():  # the same export again, its lines in another order: new bytes, same records
        lines = okta.read_text().splitlines()
        again = okta.with_name(f"okta_system_log_{day.isoformat()}_resent.jsonl")
        _write(again, "\n".join(reversed(lines)) + "\n")
        written.append(again)
    return written


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _delighted_scale_bug(paths: DataPaths, company, rng: np.random.Generator, day: date) -> Path:
    people = company.customers.sample(RECORDS, seed=int(rng.integers(1 << 30))).join(
        company.accounts, on="account_id", how="left"
    )
    t0 = int(datetime.combine(day, datetime.min.time(), UTC).timestamp())
    created = t0 + np.sort(rng.integers(8 * 3600, 20 * 3600, RECORDS))
    scores = rng.integers(0, 11, RECORDS)
    broken = rng.permutation(RECORDS)[: RECORDS // 3]
    scores[broken] = rng.integers(11, 20, broken.size)  # a 0-20 scale leaked into the export
    comments = pick_phrases(rng, rng.choice(np.array(THEMES), RECORDS), scores < 7)
    records = [
        {
            "id": str(company.seed * 1_000_000_000 + 990_000_000 + day.toordinal() * 100 + i),
            "person": {"id": row["person_id"], "email": row["email"], "name": row["name"]},
            "survey_type": "nps",
            "score": int(scores[i]),
            "comment": comments[i],
            "created_at": int(created[i]),
            "updated_at": int(created[i]) + 60,
            "person_properties": {
                "Delighted Source": "Email",
                "Plan": row["plan"].title(),
                "Region": row["region"],
                "Account ID": row["account_id"],
            },
        }
        for i, row in enumerate(people.iter_rows(named=True))
    ]
    path = paths.landing_dir("nps") / f"delighted_survey_responses_{day.isoformat()}_reexport.jsonl"
    _write(path, "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    return path


def _widget_renamed_columns(paths: DataPaths, company, rng: np.random.Generator, day: date) -> Path:
    people = company.customers.sample(RECORDS // 2, seed=int(rng.integers(1 << 30))).join(
        company.accounts, on="account_id", how="left"
    )
    n = people.height
    negative = rng.random(n) < 0.5
    frame = pl.DataFrame(
        {
            "feedback_id": [f"wf-{company.seed:02d}-x{day.toordinal()}{i:03d}" for i in range(n)],
            "submitted_at": [f"{day.isoformat()} {h:02d}:15:00" for h in rng.integers(8, 20, n)],
            "user_email": people["email"],
            "user_name": people["name"],
            "account_id": people["account_id"],
            "plan": people["plan"],
            "page": "/dashboard",
            # A widget upgrade renamed `rating` and `message`.
            "stars": np.where(negative, rng.integers(1, 3, n), rng.integers(4, 6, n)).astype(str),
            "feedback_text": pick_phrases(rng, rng.choice(np.array(THEMES), n), negative),
        }
    )
    path = paths.landing_dir("feedback") / f"feedback_widget_{day.isoformat()}_v2.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)
    return path
