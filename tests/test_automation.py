"""The landing sensor: a file with new content asks for exactly the days it touches, once,
whatever its name or modification time."""

from __future__ import annotations

import json
import os
import shutil

import dagster as dg

from pipelines.automation import build_landing_sensor
from pipelines.definitions import load_options
from productops.ingest import ingest_source
from productops.sources import SOURCES
from resources import DataFolder
from tests.helpers import write_landing

T0 = 1772409600  # 2026-03-02 00:00:00 UTC
OLD = (1_500_000_000, 1_500_000_000)  # 2017: older than any file here


def evaluate(data: DataFolder, cursor: str | None = None) -> dg.SensorResult:
    with dg.build_sensor_context(cursor=cursor, resources={"data": data}) as ctx:
        return build_landing_sensor(load_options().daily)(ctx)


def ranges(result: dg.SensorResult) -> list[tuple[str, str]]:
    return [
        (r.partition_key_range.start, r.partition_key_range.end) for r in result.run_requests or []
    ]


def nps_line(i: int, day: int) -> str:
    return json.dumps({"id": str(i), "score": 8, "created_at": T0 + day * 86400 + 60})


def test_new_content_asks_for_its_days_once_whatever_its_name_or_time(paths, tmp_path) -> None:
    data = DataFolder(data_dir=str(paths.root))
    assert ranges(evaluate(data)) == []

    folder = write_landing(
        paths, "nps", "export.jsonl", f"{nps_line(1, 0)}\n{nps_line(2, 1)}\n"
    ).parent
    first = evaluate(data)
    assert ranges(first) == [("2026-03-02", "2026-03-03")]
    assert ranges(evaluate(data, first.cursor)) == []  # asked for already

    # The same content under another name, with an old modification time: nothing new.
    shutil.copy2(folder / "export.jsonl", folder / "copy.jsonl")
    os.utime(folder / "copy.jsonl", OLD)
    assert ranges(evaluate(data, first.cursor)) == []

    # New content moved in with a modification time older than everything (mv, cp -p,
    # rsync -t, unzip): asked for, for exactly its two separate days.
    outside = tmp_path / "late.jsonl"
    outside.write_text(f"{nps_line(3, 10)}\n{nps_line(4, 20)}\n")
    os.utime(outside, OLD)
    shutil.move(outside, folder / "late.jsonl")
    second = evaluate(data, first.cursor)
    assert ranges(second) == [("2026-03-12", "2026-03-12"), ("2026-03-22", "2026-03-22")]

    # Once ingested, a file leaves the cursor; nothing is asked for again.
    ingest_source(paths, SOURCES["nps"])
    third = evaluate(data, second.cursor)
    assert ranges(third) == [] and json.loads(third.cursor) == []


def test_an_unreadable_file_still_asks_for_a_run_that_reports_it(paths) -> None:
    write_landing(paths, "licences", "inventory.csv", b"\xff\xfe\x00garbage")
    (request,) = evaluate(DataFolder(data_dir=str(paths.root))).run_requests
    assert request.partition_key_range.start == request.partition_key_range.end
