"""A gzip-compressed landing file reads exactly as the same export uncompressed: the same
records in raw, staging and quarantine, named by the file as it landed. gzip is told by
its bytes, not its name; a file that cannot be decompressed is rejected on its own."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import pytest

from pipelines.automation import build_landing_sensor
from pipelines.definitions import load_options
from productops import sql
from productops.ingest import LandingFileError, ingest_source, read_landing_file
from productops.settings import DataPaths, data_paths
from productops.sources import SOURCES
from productops.staging import build_staging
from resources import DataFolder
from tests.helpers import warehouse, write_landing

T0 = 1772409600  # 2026-03-02 00:00:00 UTC
DAY = date(2026, 3, 2)
ARRIVED = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def _nps(i: int, score: Any = 8, day: int = 0) -> dict[str, Any]:
    return {"id": f"r{i}", "score": score, "survey_type": "nps",
            "created_at": T0 + day * 86400 + 60 * i, "comment": f"réponse {i}"}  # fmt: skip


# Each export holds good records and bad ones: a line that is not JSON, a score out of
# range (a quarantine rule), a CSV row with too many fields (the reader's own error).
NPS_LINES = "\n".join(
    [json.dumps(_nps(1)), json.dumps(_nps(2, day=1)), "not json", json.dumps(_nps(3, score=11))]
).encode()
WIDGET_CSV = (
    "feedback_id,submitted_at,account_id,rating,message\n"
    'w1,2026-03-02 10:00:00,acc-1,5,"Great, really 👍"\n'
    "w2,2026-03-02 11:00:00,acc-2,4,fine,and,more\n"
    "w3,2026-03-03 09:30:00,acc-3,9,out of range\n"
).encode()
SOCIAL_PAGE = json.dumps(
    {"hits": [{"objectID": "1", "created_at_i": T0 + 60, "title": "Launch"},
              {"objectID": "2", "created_at_i": T0 + 86400, "title": "Ask HN"},
              {"created_at_i": T0 + 120, "title": "no id"}], "nbPages": 1}
).encode()  # fmt: skip


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


NPS_PARQUET = _parquet(pl.DataFrame([_nps(4), _nps(5, score=-1, day=2)]))

# (source, the plain export's name, its bytes, the compressed drop's name)
DROPS = [
    ("nps", "responses.jsonl", NPS_LINES, "responses.jsonl.gz"),
    ("nps", "responses.jsonl", NPS_LINES, "nps_2026-03-02.jsonl"),  # gzip bytes, plain name
    ("feedback", "widget.csv", WIDGET_CSV, "widget.csv.gz"),
    ("feedback", "widget.csv", WIDGET_CSV, "widget_2026-03-02.csv"),  # gzip bytes, plain name
    ("social", "page.json", SOCIAL_PAGE, "page.JSON.GZ"),
    ("nps", "responses.parquet", NPS_PARQUET, "responses.parquet.gz"),
]


def _lake_and_warehouse(paths: DataPaths, source: str) -> dict[str, list[str]]:
    """Every row the drop put in raw, staging and quarantine (files included), as text."""
    src = SOURCES[source]
    ingest_source(paths, src, now=ARRIVED)
    with warehouse(paths) as con:
        build_staging(con, paths, src, DAY, DAY)
        relations = {
            "raw": f"read_parquet('{paths.raw}/{source}/*/*.parquet', hive_partitioning = true)",
            "staging": f"staging.{src.table}",
            "quarantine": f"quarantine.{source}",
            "files": "quarantine.files",
        }
        return {
            name: sorted(str(row) for row in con.execute(f"SELECT * FROM {rel}").fetchall())
            for name, rel in relations.items()
        }


def _as_landed(tables: dict[str, list[str]], replace: dict[str, str]) -> dict[str, list[str]]:
    out = {}
    for name, rows in tables.items():
        for old, new in replace.items():
            rows = [row.replace(old, new) for row in rows]
        out[name] = sorted(rows)
    return out


def _batch(paths: DataPaths, source: str) -> str:
    (found,) = {p.stem for p in (paths.raw / source).glob("*/*.parquet")}
    return found


@pytest.mark.parametrize(
    ("source", "plain_name", "content", "drop_name"), DROPS, ids=[d[-1] for d in DROPS]
)
def test_a_compressed_drop_reads_as_its_plain_export(
    paths: DataPaths, tmp_path: Path, source: str, plain_name: str, content: bytes, drop_name: str
) -> None:
    plain = data_paths(tmp_path / "plain")
    write_landing(plain, source, plain_name, content)
    write_landing(paths, source, drop_name, gzip.compress(content))

    expected = _lake_and_warehouse(plain, source)
    got = _lake_and_warehouse(paths, source)

    # Record for record the same, once the batch (named by the bytes) and the file name
    # are the drop's: quarantine reasons name the compressed file as it landed.
    assert any(expected["quarantine"]) and all(drop_name in r for r in got["quarantine"])
    assert got == _as_landed(
        expected,
        {
            f"landing/{source}/{plain_name}": f"landing/{source}/{drop_name}",
            _batch(plain, source): _batch(paths, source),
        },
    )


def test_gzip_is_told_by_its_bytes_so_a_gz_name_over_plain_text_reads_as_text(paths) -> None:
    write_landing(paths, "nps", "responses.jsonl.gz", NPS_LINES)
    (batch,) = ingest_source(paths, SOURCES["nps"], now=ARRIVED).new
    assert (batch.status, batch.rows, batch.bad_records, batch.encoding) == (
        "ingested", 4, 1, "utf_8",
    )  # fmt: skip


def test_the_manifest_says_the_file_was_compressed(paths) -> None:
    write_landing(paths, "feedback", "widget.csv.gz", gzip.compress(WIDGET_CSV))
    write_landing(paths, "nps", "responses.parquet.gz", gzip.compress(NPS_PARQUET))
    (widget,) = ingest_source(paths, SOURCES["feedback"], now=ARRIVED).new
    (responses,) = ingest_source(paths, SOURCES["nps"], now=ARRIVED).new
    assert (widget.encoding, responses.encoding) == ("gzip+utf_8", "gzip")


def test_a_bare_gz_or_a_compressed_kind_not_read_is_skipped_as_its_plain_twin(paths) -> None:
    write_landing(paths, "nps", "export.gz", gzip.compress(NPS_LINES))
    write_landing(paths, "nps", "export.xlsx.gz", gzip.compress(b"PK\x03\x04"))
    report = ingest_source(paths, SOURCES["nps"], now=ARRIVED)
    assert report.new == []
    assert report.skipped == ["landing/nps/export.gz", "landing/nps/export.xlsx.gz"]


def _truncated() -> bytes:
    return gzip.compress(NPS_LINES * 20)[:-40]


def _corrupt_body() -> bytes:
    data = bytearray(gzip.compress(NPS_LINES * 20))
    data[30:60] = bytes(30)
    return bytes(data)


def _bad_checksum() -> bytes:
    data = bytearray(gzip.compress(NPS_LINES))
    data[-8] ^= 0xFF  # the CRC-32 of the content, in the trailer
    return bytes(data)


@pytest.mark.parametrize(
    "broken",
    [_truncated(), _corrupt_body(), _bad_checksum(), b"\x1f\x8b but nothing more"],
    ids=["truncated", "corrupt", "bad_checksum", "magic_only"],
)
def test_a_broken_gzip_is_rejected_naming_the_file_and_the_others_flow(
    paths, broken: bytes
) -> None:
    write_landing(paths, "nps", "a_good.jsonl.gz", gzip.compress(NPS_LINES))
    bad = write_landing(paths, "nps", "b_broken.jsonl.gz", broken)
    write_landing(paths, "nps", "c_plain.jsonl", json.dumps(_nps(9)) + "\n")

    report = ingest_source(paths, SOURCES["nps"], now=ARRIVED)
    by_file = {b.file: b for b in report.new}
    assert [b.status for b in report.new] == ["ingested", "rejected", "ingested"]
    assert by_file["landing/nps/a_good.jsonl.gz"].rows == 4
    reason = by_file["landing/nps/b_broken.jsonl.gz"].reason or ""
    assert reason.startswith(f"{bad}: is gzip-compressed but cannot be decompressed")

    with warehouse(paths) as con:
        build_staging(con, paths, SOURCES["nps"], DAY, DAY)
        assert con.execute("SELECT file, reason FROM quarantine.files").fetchall() == [
            ("landing/nps/b_broken.jsonl.gz", reason)
        ]
        staged = con.execute("SELECT response_id FROM staging.nps_responses ORDER BY 1").fetchall()
    assert staged == [("r1",), ("r2",), ("r9",)]


def test_content_over_the_size_limit_is_rejected_as_it_decompresses(tmp_path: Path) -> None:
    bomb = tmp_path / "responses.jsonl.gz"
    bomb.write_bytes(gzip.compress(b" " * 5_000_000 + NPS_LINES))  # 5 MB in 5 KB
    with sql.connect() as con, pytest.raises(LandingFileError) as caught:
        read_landing_file(bomb, SOURCES["nps"], con, max_bytes=1_000_000)
    assert str(caught.value) == (
        f"{bomb}: decompresses to more than 1,000,000 bytes, the limit (PRODUCTOPS_MAX_FILE_MB)"
    )
    with sql.connect() as con:
        found = read_landing_file(bomb, SOURCES["nps"], con, max_bytes=6_000_000)
    assert found.records.height == 4


def _asked(paths: DataPaths, cursor: str | None = None) -> dg.SensorResult:
    data = DataFolder(data_dir=str(paths.root))
    with dg.build_sensor_context(cursor=cursor, resources={"data": data}) as ctx:
        return build_landing_sensor(load_options().daily)(ctx)


def _ranges(result: dg.SensorResult) -> list[tuple[str, str]]:
    return [(r.partition_key_range.start, r.partition_key_range.end)
            for r in result.run_requests or []]  # fmt: skip


def test_the_landing_sensor_asks_for_a_compressed_drop_s_days_once(paths, tmp_path) -> None:
    plain = data_paths(tmp_path / "plain")
    write_landing(plain, "nps", "responses.jsonl", NPS_LINES)
    write_landing(plain, "feedback", "widget.csv", WIDGET_CSV)
    write_landing(paths, "nps", "nps_2026-03-02.jsonl", gzip.compress(NPS_LINES))
    write_landing(paths, "feedback", "widget.csv.gz", gzip.compress(WIDGET_CSV))

    # The records' own days, as for the uncompressed exports: not only the fallback day
    # asked for a file that cannot be read.
    first = _asked(paths)
    assert _ranges(first) == _ranges(_asked(plain))
    assert ("2026-03-02", "2026-03-03") in _ranges(first)
    assert _ranges(_asked(paths, first.cursor)) == []  # asked for already

    for source in ("nps", "feedback"):
        ingest_source(paths, SOURCES[source])
    after = _asked(paths, first.cursor)
    assert _ranges(after) == [] and json.loads(after.cursor) == []


def test_reading_a_compressed_file_directly_matches_the_plain_one(tmp_path: Path) -> None:
    plain = tmp_path / "widget.csv"
    plain.write_bytes(WIDGET_CSV)
    packed = tmp_path / "widget.csv.gz"
    packed.write_bytes(gzip.compress(WIDGET_CSV))
    with sql.connect() as con:
        a = read_landing_file(plain, SOURCES["feedback"], con)
        b = read_landing_file(packed, SOURCES["feedback"], con)
    assert (a.shape, a.encoding, b.shape, b.encoding) == (
        "widget_feedback", "utf_8", "widget_feedback", "gzip+utf_8",
    )  # fmt: skip
    assert a.records.equals(b.records)
