"""Text arrives intact or is quarantined with the reason; nothing a cell holds executes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from productops import sql
from productops.marts import ensure_tables
from productops.serving import publish
from tests.helpers import rows, stage, write_jsonl, write_landing

DAY = date(2026, 3, 2)
T0 = 1772409600  # 2026-03-02 00:00:00 UTC


def nps(id_: str, score, comment=None) -> dict:
    return {"id": id_, "score": score, "survey_type": "nps", "created_at": T0 + 60,
            "comment": comment, "person": {"email": f"{id_}@example.com"}}  # fmt: skip


def test_scores_that_are_not_whole_numbers_are_quarantined_not_rounded(paths) -> None:
    write_jsonl(
        paths, "nps", "s.jsonl", [nps("a", 9.5), nps("b", "9.5"), nps("c", "10"), nps("d", 7)]
    )
    con = stage(paths, "nps", DAY, DAY)
    assert rows(con, "SELECT response_id, score FROM staging.nps_responses ORDER BY 1") == [
        {"response_id": "c", "score": 10}, {"response_id": "d", "score": 7},
    ]  # fmt: skip
    reasons = dict(con.execute("SELECT record_key, reason FROM quarantine.nps").fetchall())
    assert set(reasons) == {"a", "b"}
    assert "field score = '9.5' is not an integer" in reasons["a"]


def test_a_key_given_twice_is_quarantined(paths) -> None:
    twice = json.dumps(nps("t", 3))[:-1] + ', "score": 10}'
    write_jsonl(paths, "nps", "dup.jsonl", [twice, nps("ok", 8)])
    con = stage(paths, "nps", DAY, DAY)
    assert [
        r["response_id"] for r in rows(con, "SELECT response_id FROM staging.nps_responses")
    ] == ["ok"]
    (rule, reason), = con.execute("SELECT rule, reason FROM quarantine.nps").fetchall()  # fmt: skip
    assert rule == "duplicate_key" and "has a key more than once" in reason


def test_a_key_given_twice_inside_an_object_the_source_reads_is_quarantined(paths) -> None:
    """`person.email` twice: which person answered is unknown. A duplicate in an object
    the source never reads (`notes_meta`) changes nothing published, so the record flows."""
    inner = json.dumps(nps("n", 6)).replace(
        '"email": "n@example.com"', '"email": "n@example.com", "email": "m@example.com"'
    )
    unread = json.dumps({**nps("u", 9), "notes_meta": {"k": 1}}).replace('"k": 1', '"k": 1, "k": 2')
    write_jsonl(paths, "nps", "nested.jsonl", [inner, unread, nps("ok", 8)])
    con = stage(paths, "nps", DAY, DAY)
    staged = rows(con, "SELECT response_id FROM staging.nps_responses ORDER BY 1")
    assert [r["response_id"] for r in staged] == ["ok", "u"]
    (key, rule, reason), = con.execute("SELECT record_key, rule, reason FROM quarantine.nps").fetchall()  # fmt: skip
    assert (key, rule) == ("n", "duplicate_key")
    assert "person" in reason and "has a key more than once" in reason


def test_entities_decode_as_the_standard_library_does_and_control_characters_go(paths) -> None:
    comment = "It&#8217;s &eacute;t&eacute;&hellip; &amp;amp; &lt;b&gt;\x00\x07\x1b[31m done"
    write_jsonl(paths, "nps", "e.jsonl", [nps("e", 8, comment)])
    con = stage(paths, "nps", DAY, DAY)
    (text,) = con.execute("SELECT comment FROM staging.nps_responses").fetchone()
    assert text == "It\u2019s été\u2026 &amp; <b>[31m done"


def test_a_widget_rating_of_four_and_a_half_is_quarantined(paths) -> None:
    write_landing(
        paths,
        "feedback",
        "w.csv",
        "feedback_id,submitted_at,rating,message\nw1,2026-03-02 10:00:00,4.5,hm\n"
        "w2,2026-03-02 10:00:00,4,ok\n",
    )
    con = stage(paths, "feedback", DAY, DAY)
    assert [r["feedback_id"] for r in rows(con, "SELECT feedback_id FROM staging.feedback")] == [
        "widget:w2"
    ]
    (rule,) = con.execute("SELECT rule FROM quarantine.feedback").fetchone()
    assert rule == "rating_invalid"


def test_published_cells_never_run_as_spreadsheet_formulas(tmp_path: Path) -> None:
    with sql.connect(tmp_path / "warehouse.duckdb") as con:
        ensure_tables(con)
        con.execute(
            "INSERT INTO marts.tool_usage_daily (date, tool, dau) VALUES (?, ?, 1), (?, ?, 2)",
            [DAY, "=cmd|' /C calc'!A0", DAY, "Figma"],
        )
        con.execute(
            "INSERT INTO marts.nps_comments (response_id, date, comment, themes) VALUES (?, ?, ?, ?)",
            ["r1", DAY, "@SUM(A1) is what I pay", ["+pricing", "other"]],
        )
        serving = tmp_path / "serving.duckdb"
        for _ in range(2):  # the second publishes over the first (the previous one attached)
            publish(con, serving, run_id="t", published_at=datetime.now(UTC), versions={})
    with duckdb.connect(str(serving), read_only=True) as con:
        tools = sorted(
            t for (t,) in con.execute("SELECT tool FROM marts.tool_usage_daily").fetchall()
        )
        comment, themes = con.execute("SELECT comment, themes FROM marts.nps_comments").fetchone()
    assert tools == ["'=cmd|' /C calc'!A0", "Figma"]
    assert comment == "'@SUM(A1) is what I pay" and themes == ["'+pricing", "other"]
