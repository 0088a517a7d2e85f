"""Landing files of every kind read into records; unreadable files are named with a reason."""

from __future__ import annotations

import json
import random
from pathlib import Path

import duckdb
import polars as pl
import pytest

from productops import sql
from productops.ingest import LandingFileError, Manifest, ingest_source, read_landing_file
from productops.sources import SOURCES
from tests.helpers import write_landing


@pytest.fixture
def con():
    with sql.connect() as c:
        yield c


def test_jsonl_keeps_every_line_with_its_line_number(tmp_path: Path, con) -> None:
    f = tmp_path / "tickets.jsonl"
    f.write_text(
        '{"id": 1}\n\n{"id": 2, "subject": "caf\\u00e9 \\ud83d\\ude80"}\r\n{"id": 3, "trunc\n'
    )
    found = read_landing_file(f, SOURCES["feedback"], con)
    shape, records = found.shape, found.records
    assert shape == "zendesk_ticket"
    assert records["record_no"].to_list() == [1, 3, 4]
    assert records["record"][2] == '{"id": 3, "trunc'


def test_json_document_array_and_envelope(tmp_path: Path, con) -> None:
    arr = tmp_path / "okta.json"
    arr.write_text(json.dumps([{"uuid": "a"}, {"uuid": "b"}]))
    page = tmp_path / "algolia_page.json"
    page.write_text(json.dumps({"hits": [{"objectID": "1"}, {"objectID": "2"}], "nbPages": 1}))
    a = read_landing_file(arr, SOURCES["tool_usage"], con).records
    p = read_landing_file(page, SOURCES["social"], con).records
    assert [json.loads(r)["uuid"] for r in a["record"]] == ["a", "b"]
    assert [json.loads(r)["objectID"] for r in p["record"]] == ["1", "2"]
    assert p["record_no"].to_list() == [1, 2]


def test_csv_rows_become_json_records_numbered_as_a_spreadsheet_shows(tmp_path: Path, con) -> None:
    f = tmp_path / "widget.csv"
    f.write_text('feedback_id,rating,message\nwf-1,5,"Great, really 👍"\nwf-2,,\n')
    found = read_landing_file(f, SOURCES["feedback"], con)
    shape, records = found.shape, found.records
    assert shape == "widget_feedback"
    assert records["record_no"].to_list() == [2, 3]
    assert json.loads(records["record"][0]) == {
        "feedback_id": "wf-1",
        "rating": "5",
        "message": "Great, really 👍",
    }


def test_parquet_export_is_read_with_nested_values(tmp_path: Path, con) -> None:
    f = tmp_path / "responses.parquet"
    pl.DataFrame({"id": ["1"], "score": [9], "person_properties": [{"Plan": "Pro"}]}).write_parquet(
        f
    )
    found = read_landing_file(f, SOURCES["nps"], con)
    shape, records = found.shape, found.records
    assert shape == "delighted_response"
    assert json.loads(records["record"][0])["person_properties"] == {"Plan": "Pro"}


def test_unreadable_csv_is_rejected_naming_the_file(tmp_path: Path, con) -> None:
    f = tmp_path / "broken.csv"
    f.write_text('tool,seats\nSlack,"520\nJira,400,extra,fields\n')
    with pytest.raises(LandingFileError, match=r"broken\.csv"):
        read_landing_file(f, SOURCES["licences"], con)


def test_unsupported_suffix_is_rejected(tmp_path: Path, con) -> None:
    f = tmp_path / "export.xlsx"
    f.write_bytes(b"PK\x03\x04")
    with pytest.raises(LandingFileError, match=r"export\.xlsx.*unsupported"):
        read_landing_file(f, SOURCES["nps"], con)


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf_8"), ("utf-8-sig", "utf_8_sig"), ("utf-16", "utf_16"), ("latin-1", "cp1252"),
     ("cp1252", "cp1252")],
)  # fmt: skip
def test_text_in_the_encodings_exports_use_is_decoded_intact(
    paths, encoding: str, expected: str
) -> None:
    folder = paths.landing_dir("feedback")
    folder.mkdir(parents=True)
    message = "Café crème — trop cher" if encoding != "latin-1" else "Café crème: trop cher"
    (folder / "widget.csv").write_bytes(
        f"feedback_id,submitted_at,message\nw1,2026-03-02 10:00:00,{message}\n".encode(encoding)
    )
    (batch,) = ingest_source(paths, SOURCES["feedback"]).new
    assert batch.status == "ingested" and batch.encoding == expected
    assert Manifest(paths, "feedback").batches()[batch.batch_id].encoding == expected
    record = duckdb.execute(
        f"SELECT record->>'$.message' FROM read_parquet('{paths.raw}/feedback/*/*.parquet')"
    ).fetchone()[0]
    assert record == message


def test_random_bytes_are_rejected_as_not_text_naming_the_file(paths) -> None:
    write_landing(paths, "licences", "inventory.csv", random.Random(3).randbytes(2048))
    (batch,) = ingest_source(paths, SOURCES["licences"]).new
    assert batch.status == "rejected"
    assert "inventory.csv" in batch.reason and "is not text" in batch.reason
