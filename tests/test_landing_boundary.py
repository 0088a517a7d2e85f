"""Landing is a boundary: only regular files inside it are read; a name is only data."""

from __future__ import annotations

import json
import os

import duckdb
import pytest

from productops.ingest import ingest_source
from productops.sources import SOURCES
from tests.helpers import write_jsonl

NPS = SOURCES["nps"]
T0 = 1772409600  # 2026-03-02 00:00:00 UTC


def line(i: str) -> dict:
    return {"id": i, "score": 8, "created_at": T0 + 60}


def test_links_special_files_and_oversized_files_are_refused_unread(
    paths, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_jsonl(paths, "nps", "good.jsonl", [line("good")])
    folder = paths.landing_dir("nps")
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.jsonl"
    secret.write_text(json.dumps(line("secret")) + "\n")
    (folder / "link.jsonl").symlink_to(secret)
    (folder / "linked_folder").symlink_to(outside, target_is_directory=True)
    os.mkfifo(folder / "pipe.jsonl")  # opening it would block the run forever
    (folder / "big.jsonl").write_text(json.dumps(line("big")) + "\n" + " " * 3_000_000)
    monkeypatch.setenv("PRODUCTOPS_MAX_FILE_MB", "2")

    report = ingest_source(paths, NPS)

    refused = {r["file"]: r["reason"] for r in report.refused}
    assert set(refused) == {
        "landing/nps/link.jsonl", "landing/nps/linked_folder", "landing/nps/pipe.jsonl",
        "landing/nps/big.jsonl",
    }  # fmt: skip
    assert "symbolic link" in refused["landing/nps/link.jsonl"]
    assert "not a regular file" in refused["landing/nps/pipe.jsonl"]
    assert "over the limit of 2,097,152" in refused["landing/nps/big.jsonl"]
    keys = duckdb.execute(
        f"SELECT record_key FROM read_parquet('{paths.raw}/nps/*/*.parquet')"
    ).fetchall()
    assert keys == [("good",)]


def test_a_file_name_is_data_never_a_command_or_a_path(paths, tmp_path, caplog) -> None:
    names = ["$(touch pwned).jsonl", "; rm -rf ~ ;.jsonl", "-n --dash.jsonl",
             "new\nline INFO forged.jsonl", "'quote\".jsonl", "名前 ünïcødé.jsonl"]  # fmt: skip
    for i, name in enumerate(names):
        write_jsonl(paths, "nps", name, [line(f"n{i}"), "not json"])
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        report = ingest_source(paths, NPS)
    finally:
        os.chdir(cwd)
    assert sorted(b.file for b in report.new) == sorted(f"landing/nps/{n}" for n in names)
    assert not (tmp_path / "pwned").exists() and not any(tmp_path.glob("pwned*"))
    assert all("\n" not in r.getMessage() for r in caplog.records)
