"""What every source declares, so that each one has the same shape.

A source is a set of SQL expressions over one raw record (`record`, the original
JSON text): how to find its natural key and creation time (which pick its raw
partition), how to type it for staging, and the rules that send it to quarantine.

Read a field as `record->>'$.path'` and an array's items as
`json_extract(record, '$.path[*]')`: ingest and staging turn every such read into one
parse of the record (`parsed_once`). Staging refuses `columns` that read `record` in
another way, since staged rows keep only those fields, not the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A creation time before this, or more than a day after the record arrived, is not
# believed: the record is filed under its arrival day and staging quarantines it.
EARLIEST_CREATED = "2000-01-01"
# A JSON path a source reads (`record->>'$.person.name'`), and one segment of it.
_READ_PATH = re.compile(r"record\s*->>?\s*'\$\.((?:[^']|'')+)'")
_SEGMENT = re.compile(r'"[^"]*"|[^.]+')


# A field read as text from the record's JSON text, and the items of an array field
# (`json_extract(record, '$.target[*]')`). DuckDB parses the whole text again for every
# such read: a dozen times per record for most sources' staging.
_TEXT_FIELD = re.compile(r"(?<![\w.])record->>'(\$(?:[^']|'')*)'")
_ITEMS = re.compile(r"\b(json_extract(?:_string)?)\(record, '(\$(?:[^'\[]|'')*)\[\*\]'\)")


def text_fields(*sql_texts: str) -> list[str]:
    """Every JSON path these SQL texts read from `record` (see `parsed_once`), in order."""
    found = {path for text in sql_texts for path in _TEXT_FIELD.findall(text)}
    found |= {path for text in sql_texts for _, path in _ITEMS.findall(text)}
    return sorted(found)


def parsed_once(sql_text: str, fields: list[str]) -> str:
    """`sql_text` reading its fields from `_f` instead of `record`: the record's `fields`
    extracted as text in one parse by `extract_fields` (the caller's CTE). An array's
    items are then read from the array's own (short) text."""
    text = _TEXT_FIELD.sub(lambda m: f"_f[{fields.index(m.group(1)) + 1}]", sql_text)
    return _ITEMS.sub(lambda m: _items(m.group(1), f"_f[{fields.index(m.group(2)) + 1}]"), text)


def array_text(field: str) -> str:
    """SQL: the text of field `field` (SQL for a string) when it starts like a JSON array,
    else NULL; read it under TRY.

    Extracted as text, a string is no longer told from an array: `"urgent"` becomes
    `urgent`, which is not JSON and would fail the whole query (no value may stop a
    source). A vendor's string that holds a whole JSON array (`"[\"a\"]"`) is read as
    that array.
    """
    return f"CASE WHEN starts_with({field}, '[') THEN {field} END"


def _items(function: str, field: str) -> str:
    """SQL: the items of the array `field` holds as text, as `function` reads them; no
    items when it holds something else, as when the record itself was read."""
    return f"coalesce(TRY({function}({array_text(field)}, '$[*]')), [])"


def extract_fields(fields: list[str]) -> str:
    """SQL: the list of `fields` of `record`, one parse (json_extract_string's path list)."""
    if not fields:
        return "NULL::VARCHAR[]"
    return "json_extract_string(record, [" + ", ".join(f"'{f}'" for f in fields) + "])"


def integer(text: str) -> str:
    """SQL: the whole number `text` (SQL for a string) writes, else NULL. A cast alone
    would round `9.5` to 10: a score a vendor did not give."""
    return (
        f"CASE WHEN regexp_full_match(trim({text}), '[+-]?[0-9]{{1,9}}') "
        f"THEN CAST(trim({text}) AS INTEGER) END"
    )


def plausible_created(created: str, arrived: str = "ingested_at") -> str:
    """SQL: true when the creation time `created` is one a real record can have."""
    return (
        f"(({created}) >= DATE '{EARLIEST_CREATED}' AND ({created}) < ({arrived}) + INTERVAL 1 DAY)"
    )


@dataclass(frozen=True)
class Rule:
    """A reason to quarantine a record: `when` is true for a bad record.

    `value` is SQL for the offending value, quoted in the reason so that whoever
    reads the quarantine sees what was wrong without opening the raw record.
    """

    name: str
    field: str
    when: str
    value: str = "NULL"
    detail: str = ""


@dataclass(frozen=True)
class Source:
    name: str
    table: str  # staging and quarantine table name
    description: str
    grain: str
    # SQL over `record` (JSON text) and `shape`: the natural key, NULL when missing.
    key: str
    # SQL: the record's creation time as TIMESTAMP (UTC), NULL when unparseable.
    created: str
    # SQL: the creation time as the record wrote it, quoted when it cannot be parsed.
    created_value: str
    # SQL: orders versions of one key, latest last.
    version: str
    # SQL select-list producing the typed staging columns (may use `record`, `shape`, `$salt`).
    columns: str
    rules: tuple[Rule, ...] = field(default_factory=tuple)
    # Landing file shapes, by file suffix; a tabular file (CSV, Parquet) with one of
    # `shape_by_column`'s columns, or a JSON file whose first record has one of them as a
    # top-level field, takes that shape instead (the first listed that it has).
    shapes: dict[str, str] = field(default_factory=dict)
    shape_by_column: dict[str, str] = field(default_factory=dict)
    daily: bool = True
    # What quarantine hides of a raw record: (dotted JSON path, SQL for its new value).
    # Quarantine keeps the record's shape for repair; the raw lake keeps the original.
    redactions: tuple[tuple[str, str], ...] = ()
    # SQL for the names of people a record names (survey person, requester, actor, owner):
    # kept per batch in the owner-only lake, and redacted wherever they appear in text.
    people: tuple[str, ...] = ()

    def redacted_record(self) -> str:
        """SQL: `record` (JSON) with every path of `redactions` that it has replaced."""
        out = "record"
        for path, value in self.redactions:
            parts = path.split(".")
            patch = f"json_object('{parts[-1]}', {value})"
            for part in reversed(parts[:-1]):
                patch = f"json_object('{part}', {patch})"
            out = f"json_merge_patch({out}, CASE WHEN json_exists(record, '$.{path}') THEN {patch} ELSE '{{}}' END)"
        return out

    def read_objects(self) -> tuple[str, ...]:
        """JSON paths of the nested objects whose fields this source reads.

        A key written twice in one of them makes the value read ambiguous, so the record is
        quarantined (staging's `duplicate_key` rule); a duplicate in a part the source never
        reads changes nothing it publishes. Found from the SQL itself, so a field added to
        `columns` is covered without a list to keep up to date.
        """
        sql_text = " ".join([self.key, self.created, self.version, self.columns, *self.people])
        found: set[str] = set()
        for path in _READ_PATH.findall(sql_text):
            segments = _SEGMENT.findall(path)
            for depth in range(1, len(segments)):
                prefix = segments[:depth]
                if not any("[" in s for s in prefix):
                    found.add("$." + ".".join(prefix))
        return tuple(sorted(found))

    def shape_for(self, suffix: str, columns: list[str] | None = None) -> str | None:
        """The shape of a landing file, or None when this source does not read it."""
        for column, shape in self.shape_by_column.items():
            if columns and column in columns:
                return shape
        return self.shapes.get(suffix)
