"""Reading a record's fields from one parse gives what reading them one by one gave.

Staging and ingest rewrite every `record->>'$.path'` (and an array's `[*]` items) of a
source's SQL to read from `_f`, the fields extracted in one `json_extract_string` call
(productops.sources.base.parsed_once). This evaluates each source's columns, rules and
redacted record both ways on a company the fixtures do not use and on the hostile
corpus, and compares every row.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest

from productops import sql
from productops.ingest import ingest_source
from productops.sample import write_sample
from productops.sources import SOURCES
from productops.sources.base import extract_fields, parsed_once
from productops.staging import _base_rules, _fields, known_names, raw_files, raw_relation
from tests.conftest import SALT
from tests.helpers import write_jsonl
from tests.hostile_corpus import write_hostile_corpus

END = date(2026, 5, 31)
pytestmark = pytest.mark.slow  # a company and the hostile corpus, ingested


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory):
    from productops.settings import data_paths

    paths = data_paths(tmp_path_factory.mktemp("parsed") / "data")
    write_sample(paths, seed=4242, scale=0.1, days=21, end=END)
    write_hostile_corpus(paths, [END - timedelta(days=d) for d in range(21)], seed=99)
    _not_lists(paths)
    for source in SOURCES.values():
        ingest_source(paths, source)
    return paths


# List fields holding something else. Not a string holding a JSON array: one parse reads
# that as the array (see `productops.sources.base._items`), the record itself as no items.
NOT_LISTS = ["urgent", "[1", "", 7, True, {"a": [1]}, None]


def _not_lists(paths) -> None:
    at = f"{END}T10:00:00Z"
    fields = {
        "tool_usage": ("okta_not_lists.jsonl", "target",
                       {"uuid": "u", "published": at, "actor": {"alternateId": "a@example.com"},
                        "outcome": {"result": "SUCCESS"}}),
        "social": ("hn_not_lists.jsonl", "_tags",
                   {"objectID": "h", "created_at_i": 1780221600, "title": "t"}),
        "feedback": ("zendesk_not_lists.jsonl", "tags",
                     {"id": 1, "created_at": at, "updated_at": at, "subject": "s"}),
    }  # fmt: skip
    for source, (name, field, record) in fields.items():
        records = [{**record, field: v, "custom_fields": v} for v in NOT_LISTS]
        for i, r in enumerate(records):
            key = next(k for k in ("uuid", "objectID", "id") if k in r)
            r[key] = f"{r[key]}{i}" if isinstance(r[key], str) else r[key] + i
        write_jsonl(paths, source, name, records)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_expression_reads_the_same_from_one_parse(lake, name: str) -> None:
    source = SOURCES[name]
    fields = _fields(source)
    expressions = {
        "columns": source.columns,
        "created": f"TRY(({source.created})::TIMESTAMP) AS x",
        "version": f"TRY({source.version}) AS x",
        "redacted": f"({source.redacted_record()})::VARCHAR AS x",
        **{
            f"rule {r.name}": f"({r.when}) AS when_, ({r.value})::VARCHAR AS value_"
            for r in _base_rules(source)
            if "_duplicate_keys" not in r.when
        },
    }
    with duckdb.connect() as con:
        sql.prepare(con, salt=SALT)
        sql.use_known_names(con, known_names(lake))
        files = raw_files(lake, source, None, None)
        assert files, f"no raw files for {name}"
        con.execute(
            f"""CREATE TABLE base AS
                SELECT *, CASE WHEN parse_error IS NOT NULL THEN record END AS raw_record,
                       TRY(({source.created})::TIMESTAMP) AS created_at, 1 AS _rule_no
                FROM ({raw_relation(files)}) WHERE parse_error IS NULL"""
        )
        con.execute(f"CREATE TABLE once AS SELECT *, {extract_fields(fields)} AS _f FROM base")
        rows = con.execute("SELECT count(*) FROM base").fetchone()[0]
        assert rows > 0
        for what, select in expressions.items():
            rewritten = parsed_once(select, fields)
            assert "record->>" not in rewritten, what  # every text read goes through _f
            one_by_one = f"SELECT record_no, batch_id, {select} FROM base"
            from_f = f"SELECT record_no, batch_id, {rewritten} FROM once"
            differ = con.execute(
                f"SELECT count(*) FROM (({one_by_one} EXCEPT ALL {from_f}) "
                f"UNION ALL ({from_f} EXCEPT ALL {one_by_one}))"
            ).fetchone()[0]
            assert differ == 0, f"{name} {what}: {differ} rows differ"
