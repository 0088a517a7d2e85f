"""Landing -> raw: each file exactly once, partitioned by creation day, crash-safe."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

import duckdb

from productops.ingest import Manifest, ingest_source
from productops.sources import SOURCES
from tests.helpers import write_jsonl

NPS = SOURCES["nps"]
T0 = 1772409600  # 2026-03-02 00:00:00 UTC
ARRIVED = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def response(i: int, day: int = 0) -> dict:
    return {"id": str(i), "score": 8, "created_at": T0 + day * 86400 + 60}


def raw_rows(paths) -> list[tuple]:
    return duckdb.execute(
        f"SELECT date::VARCHAR, record_key, record_no FROM read_parquet('{paths.raw}/nps/*/*.parquet',"
        " hive_partitioning = true) ORDER BY ALL"
    ).fetchall()


def test_records_land_in_their_creation_day_with_provenance(paths) -> None:
    write_jsonl(paths, "nps", "export.jsonl", [response(1), response(2, day=1), "not json"])
    report = ingest_source(paths, NPS, now=ARRIVED)
    (batch,) = report.new
    assert batch.rows == 3 and batch.bad_records == 1
    assert sorted(p.parent.name for p in (paths.raw / "nps").glob("*/*.parquet")) == [
        "date=2026-03-02", "date=2026-03-03", "date=2026-03-10",
    ]  # fmt: skip
    # The unparseable line is kept under the day it arrived, for staging to quarantine.
    assert raw_rows(paths) == [
        ("2026-03-02", "1", 1), ("2026-03-03", "2", 2), ("2026-03-10", None, 3),
    ]  # fmt: skip
    row = duckdb.execute(
        f"SELECT * FROM read_parquet('{paths.raw}/nps/date=2026-03-02/*.parquet')"
    ).fetchone()
    cols = [
        "source",
        "shape",
        "batch_id",
        "ingested_at",
        "file",
        "record_no",
        "record_key",
        "record",
    ]
    got = dict(zip(cols, row[: len(cols)], strict=True))
    assert got["file"] == "landing/nps/export.jsonl" and got["batch_id"] == batch.batch_id
    assert json.loads(got["record"]) == response(1)


# Lines that are, or nearly are, a JSON object: whitespace, trailing text, two objects,
# lone surrogates, comments, NaN, control characters, other JSON values.
ALMOST_OBJECTS = [
    ' {"id": "w1", "created_at": 1772409660}',
    '\t{"id": "w2"}',
    '{"id": "t1"} x',
    '{"id": "t2"}{"id": "t3"}',
    "[1, 2]",
    '"text"',
    "1",
    "null",
    "{",
    '{"id":}',
    '{"id": "c1",}',
    '\ufeff{"id": "b1"}',
    '{"id": "\\ud800"}',
    '{"id": "s1"} ',
    "{}",
    'x{"id": "x1"}',
    "{'id': 'q1'}",
    '{"id": NaN}',
    '/*c*/{"id": "k1"}',
    '{"id": 01}',
    '{"id": "\x01"}',
    '{"id": "n1", "nested": {"a": [1, {"b": null}]}}',
]


def test_a_record_is_an_object_exactly_when_duckdb_says_its_json_is_one(paths) -> None:
    """Ingest parses each record once and tells objects from the rest without asking
    `json_type`; the raw lake's verdicts must be json_type's, line by line, and records
    of several days stay in file order within each day's file."""
    days = [response(i, day=i % 3) for i in range(30)]
    write_jsonl(paths, "nps", "mixed.jsonl", [*days, *ALMOST_OBJECTS])
    (batch,) = ingest_source(paths, NPS, now=ARRIVED).new
    rows = duckdb.execute(
        f"""SELECT filename, record_no, parse_error IS NULL AS is_object,
                   coalesce(TRY(json_type(record)) = 'OBJECT', false) AS json_type_says
            FROM read_parquet('{paths.raw}/nps/*/*.parquet', filename = true)"""
    ).fetchall()
    assert len(rows) == batch.rows == len(days) + len(ALMOST_OBJECTS)
    assert [(n, a) for _, n, a, b in rows if a != b] == []
    assert sum(a for _, _, a, _ in rows) == len(days) + 7  # the objects among the lines
    by_file: dict[str, list[int]] = {}
    for file, n, _, _ in rows:
        by_file.setdefault(file, []).append(n)
    assert len(by_file) == 4 and all(ns == sorted(ns) for ns in by_file.values())


def test_the_same_file_dropped_twice_is_ingested_once(paths) -> None:
    f = write_jsonl(paths, "nps", "export.jsonl", [response(1), response(2)])
    ingest_source(paths, NPS)
    before = raw_rows(paths)
    shutil.copy(f, f.with_name("export (copy).jsonl"))
    again = ingest_source(paths, NPS)
    assert again.new == [] and again.duplicates == ["landing/nps/export (copy).jsonl"]
    assert raw_rows(paths) == before


def test_a_crash_before_the_manifest_is_written_is_retried_without_duplicates(paths) -> None:
    write_jsonl(paths, "nps", "export.jsonl", [response(i, day=i % 3) for i in range(30)])
    first = ingest_source(paths, NPS)
    # Simulate a crash after the lake files were written, before the manifest entry.
    (paths.manifest / "nps" / f"{first.new[0].batch_id}.json").unlink()
    before = raw_rows(paths)
    retry = ingest_source(paths, NPS)
    assert len(retry.new) == 1 and retry.new[0].batch_id == first.new[0].batch_id
    assert raw_rows(paths) == before
    assert set(Manifest(paths, "nps").batches()) == {first.new[0].batch_id}


def test_an_unreadable_file_is_reported_and_the_other_files_still_flow(paths) -> None:
    write_jsonl(paths, "nps", "good.jsonl", [response(1)])
    bad = paths.landing_dir("nps") / "bad.csv"
    bad.write_text('id,score\n1,"9\n2,3,4\n')
    report = ingest_source(paths, NPS)
    by_file = {b.file: b for b in report.new}
    assert by_file["landing/nps/good.jsonl"].status == "ingested"
    rejected = by_file["landing/nps/bad.csv"]
    assert rejected.status == "rejected"
    assert str(bad) in (rejected.reason or "")
    assert raw_rows(paths) == [("2026-03-02", "1", 1)]


def test_files_written_side_by_side_are_recorded_in_order_and_a_twin_in_the_same_drop_once(
    paths,
) -> None:
    for i in range(7):  # more files than ingest writes at once
        write_jsonl(
            paths, "nps", f"export-{i}.jsonl", [response(10 * i + j, day=i) for j in (1, 2)]
        )
    write_jsonl(paths, "nps", "export-3.jsonl.bak.jsonl", [response(31, 3), response(32, 3)])
    write_jsonl(paths, "nps", "export-5-broken.jsonl", ["{not json"])
    report = ingest_source(paths, NPS, now=ARRIVED)
    assert [b.file for b in report.new] == sorted(b.file for b in report.new)
    # The twin sorts after the original: the original is ingested, the twin is the duplicate.
    assert report.duplicates == ["landing/nps/export-3.jsonl.bak.jsonl"]
    assert len(raw_rows(paths)) == 7 * 2 + 1  # the broken file: one unreadable record kept
    manifest = Manifest(paths, "nps").batches()
    assert {b.batch_id for b in report.new} == set(manifest)


def test_a_machine_error_fails_the_source_and_leaves_the_files_not_started(
    paths, monkeypatch
) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import pytest

    from productops import ingest

    for i in range(12):
        write_jsonl(paths, "nps", f"export-{i:02}.jsonl", [response(i, day=i % 5)])
    started, cancelled = [], threading.Event()
    write_batch = ingest._write_batch

    def disk_full(con, paths_, source, batch, *rest) -> None:
        started.append(batch.file)
        if batch.file.endswith("export-00.jsonl"):
            raise OSError(28, "No space left on device")
        cancelled.wait()  # the other workers hold their file until the rest is cancelled
        write_batch(con, paths_, source, batch, *rest)

    class Pool(ThreadPoolExecutor):
        def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
            super().shutdown(wait=False, cancel_futures=cancel_futures)
            # Only the pool that wrote batches lets its workers go: new files are hashed
            # in a pool of their own first, whose end must not release them early (on a
            # busy machine more files then started before the failure was seen).
            if started:
                cancelled.set()
            super().shutdown(wait=wait)

    monkeypatch.setattr(ingest, "_write_batch", disk_full)
    monkeypatch.setattr(ingest, "ThreadPoolExecutor", Pool)
    with pytest.raises(OSError, match="No space left"):
        ingest_source(paths, NPS, now=ARRIVED)
    # `Executor.map` cancels what has not started when its results raise; the failed
    # file's worker may take one more file before that, no more.
    assert len(started) <= ingest.INGEST_THREADS + 1 < 12
    assert Manifest(paths, "nps").batches() == {}  # none recorded: a retry ingests them all
