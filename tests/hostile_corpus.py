"""A landing corpus of bad input, the way vendors, people and broken disks produce it.

Every file goes next to a sample company's good files. Each bad record is dated on a day
of its own among the good ones, so that no single day's quarantine share makes a
blocking check fail: the run must stay green while every bad value is quarantined.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from productops.settings import DataPaths

HUGE = 99999999999999


@dataclass
class Corpus:
    files: list[Path] = field(default_factory=list)
    # (source, key) of every bad record that must end in quarantine
    quarantined: set[tuple[str, str]] = field(default_factory=set)
    # (source, key) of good records in the same files that must reach staging
    staged: set[tuple[str, str]] = field(default_factory=set)

    @property
    def inputs(self) -> int:
        return len(self.files)


def _write(paths: DataPaths, source: str, name: str, data: bytes | str, corpus: Corpus) -> None:
    folder = paths.landing_dir(source)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    target.write_bytes(data if isinstance(data, bytes) else data.encode())
    corpus.files.append(target)


def _epoch(day: date, hour: int = 12) -> int:
    return int(datetime.combine(day, time(hour), UTC).timestamp())


def write_hostile_corpus(paths: DataPaths, days: list[date], seed: int) -> Corpus:
    """Write the corpus; `days` are days of the window the bad records may be dated on."""
    rng = random.Random(seed)
    corpus = Corpus()
    tag = f"h{seed}"
    pick = iter(rng.sample(days, len(days)))

    def nps(key: str, created, **more) -> str:
        return json.dumps({"id": key, "score": more.pop("score", 7), "survey_type": "nps",
                           "created_at": created, **more})  # fmt: skip

    # Out-of-range, overflowing and implausible times; one good record dated in the window.
    bad_times = {"huge": HUGE, "neg": -HUGE, "y1900": -2208988800, "y1969": -3600,
                 "y2999": 32472144000, "text": "last tuesday", "float": 1.5e300}  # fmt: skip
    lines = [nps(f"{tag}-{k}", v) for k, v in bad_times.items()]
    lines.append(nps(f"{tag}-good1", _epoch(next(pick))))
    _write(paths, "nps", f"{tag} poison values.jsonl", "\n".join(lines) + "\n", corpus)
    corpus.quarantined |= {("nps", f"{tag}-{k}") for k in bad_times}
    corpus.staged.add(("nps", f"{tag}-good1"))

    hn = [
        {"objectID": f"{tag}-hn-huge", "created_at_i": HUGE, "title": "x", "_tags": ["story"]},
        {"objectID": f"{tag}-hn-2999", "created_at_i": 32472144000, "title": "x", "_tags": ["story"]},
        {"objectID": f"{tag}-hn-good", "created_at_i": _epoch(next(pick)), "title": "fine",
         "_tags": ["story"], "points": 3},
    ]  # fmt: skip
    _write(paths, "social", f"{tag}_hn.jsonl", "".join(json.dumps(h) + "\n" for h in hn), corpus)
    corpus.quarantined |= {("social", f"{tag}-hn-huge"), ("social", f"{tag}-hn-2999")}
    corpus.staged.add(("social", f"{tag}-hn-good"))

    # Widget CSV: impossible dates and a ragged row among good rows.
    good_day = next(pick)
    csv = (
        "feedback_id,submitted_at,rating,message,user_email,account_id,plan\n"
        f"{tag}-w1,{good_day} 10:00:00,4,fine,a@example.com,ACC-1,pro\n"
        f"{tag}-w2,99999-01-01,3,far future,b@example.com,ACC-1,pro\n"
        f"{tag}-w3,1900-01-01,3,far past,c@example.com,ACC-1,pro\n"
        f"{tag}-w4,{good_day} 11:00:00,3,too,many,fields,here,and,more\n"
        f"{tag}-w5,{good_day} 12:00:00\n"
    )
    _write(paths, "feedback", f"{tag}_widget.csv", csv, corpus)
    corpus.staged.add(("feedback", f"widget:{tag}-w1"))
    corpus.quarantined |= {("feedback", f"widget:{tag}-w2"), ("feedback", f"widget:{tag}-w3")}

    # Broken documents: truncated JSON, invalid JSON, a depth-10,000 document, empty files,
    # random bytes, a 10 MB comment, wrong encodings, odd file names.
    _write(
        paths,
        "nps",
        f"{tag}_truncated.jsonl",
        nps(f"{tag}-t", _epoch(next(pick)))[:25] + "\n",
        corpus,
    )
    _write(paths, "nps", f"{tag}_invalid.json", '{"results": [{"id": 1,,}', corpus)
    _write(paths, "nps", f"{tag}_deep.json", "[" * 10_000 + "]" * 10_000, corpus)
    _write(paths, "nps", f"{tag}_deep_field.jsonl",
           nps(f"{tag}-deep", _epoch(next(pick)), nested="[" * 10_000 + "]" * 10_000) + "\n",
           corpus)  # fmt: skip
    corpus.staged.add(("nps", f"{tag}-deep"))
    _write(paths, "nps", f"{tag}_empty.jsonl", b"", corpus)
    _write(paths, "tool_usage", f"{tag}_empty.json", b"", corpus)
    _write(paths, "social", f"{tag}_random.jsonl", rng.randbytes(4096), corpus)
    _write(paths, "licences", f"{tag}_random.csv", rng.randbytes(2048), corpus)
    big_day = next(pick)
    _write(paths, "nps", f"{tag}_big_comment.jsonl",
           nps(f"{tag}-big", _epoch(big_day), comment="so slow " * 1_300_000) + "\n", corpus)  # fmt: skip
    corpus.staged.add(("nps", f"{tag}-big"))
    latin = f"feedback_id,submitted_at,rating,message\n{tag}-l1,{next(pick)} 09:00:00,2,café crème trop cher\n"
    _write(paths, "feedback", f"{tag}_latin1.csv", latin.encode("latin-1"), corpus)
    utf16 = f"feedback_id,submitted_at,rating,message\n{tag}-u1,{next(pick)} 09:00:00,5,naïve ☃\n"
    _write(paths, "feedback", f"{tag}_utf16.csv", utf16.encode("utf-16"), corpus)
    for name in ("$(touch pwned); rm -rf ~.jsonl", "-n --dash.jsonl", "名前 ünïcødé.jsonl",
                 "new\nline.jsonl", "'quote\".jsonl"):  # fmt: skip
        key = f"{tag}-name-{len(corpus.files)}"
        _write(paths, "nps", name, nps(key, _epoch(next(pick))) + "\n", corpus)
        corpus.staged.add(("nps", key))
    return corpus


def late_updates(
    paths: DataPaths, when: datetime, oldest: timedelta, seed: int
) -> dict[tuple[str, str], object]:
    """New versions of records created up to `oldest` before `when`; returns the final values."""
    rng = random.Random(seed)
    expected: dict[tuple[str, str], object] = {}
    since = (when - oldest).date()
    out = []
    for f in sorted(paths.landing_dir("feedback").glob("zendesk_*.jsonl")):
        for line in f.read_text().splitlines():
            try:
                t = json.loads(line)
            except json.JSONDecodeError:
                continue
            if (
                not isinstance(t, dict)
                or not isinstance(t.get("created_at"), str)
                or not t.get("id")
            ):
                continue
            if t["created_at"][:10] >= since.isoformat() and rng.random() < 0.05:
                status = rng.choice(["solved", "pending", "closed"])
                t.update(status=status, updated_at=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         generated_timestamp=int(when.timestamp()))  # fmt: skip
                out.append(t)
    # A record's last version in this file wins; later files win over it.
    for t in out:
        expected[("feedback", f"zendesk:{t['id']}")] = t["status"]
    name = f"late_{when:%Y%m%dT%H%M%S}.jsonl"
    (paths.landing_dir("feedback") / name).write_text("".join(json.dumps(t) + "\n" for t in out))
    return expected
