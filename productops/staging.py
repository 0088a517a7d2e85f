"""Raw lake -> staging and quarantine tables in the DuckDB warehouse.

For a window of days, every raw version of a record is read, the latest version of
each natural key is kept, and that version is either typed into `staging.<table>`
or sent to `quarantine.<source>` with the rule that rejected it. Both tables
replace exactly the window, in one transaction, so re-running a day is idempotent
and a failure leaves the previous state in place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import duckdb

from productops import day_summaries, ledger, sql
from productops.ingest import Batch, Manifest, backfill_people
from productops.quoting import literal
from productops.settings import DataPaths
from productops.sources import SOURCES, Rule, Source
from productops.sources.base import (
    EARLIEST_CREATED,
    extract_fields,
    parsed_once,
    plausible_created,
    text_fields,
)
from productops.sql import table_columns, transaction, use_known_names

# The raw lake's columns (see `productops.ingest`), for windows that have no file yet.
RAW_COLUMNS = """
    NULL::VARCHAR AS source, NULL::VARCHAR AS shape, NULL::VARCHAR AS batch_id,
    NULL::TIMESTAMP AS ingested_at, NULL::VARCHAR AS file, NULL::BIGINT AS record_no,
    NULL::VARCHAR AS record_key, NULL::VARCHAR AS record, NULL::VARCHAR AS parse_error,
    NULL::DATE AS date
"""
# Landing files that could not be read at all, mirrored from the manifest so that
# data_trust can tell BI (a file is not a record: it has no day but the one it arrived).
REJECTED_FILES_DDL = """
CREATE SCHEMA IF NOT EXISTS quarantine;
CREATE TABLE IF NOT EXISTS quarantine.files (
    source VARCHAR, batch_id VARCHAR, file VARCHAR, reason VARCHAR, arrived_at TIMESTAMP);
"""
QUARANTINE_COLUMNS = (
    "date, source, shape, batch_id, ingested_at, file, record_no, record_key, "
    "_rule AS rule, _field AS field, _reason AS reason"
)


@dataclass(frozen=True)
class StagingResult:
    source: str
    start: date | None
    end: date | None
    raw_rows: int
    staged: int
    quarantined: int
    by_rule: dict[str, int]
    files: int
    recreated: bool = False  # the table's columns changed: every raw day was re-staged
    # Days outside the window that were re-staged because a late batch touched them.
    late_days: tuple[date, ...] = ()


def days_of(start: date, end: date) -> list[date]:
    return [start + timedelta(days=k) for k in range((end - start).days + 1)]


def known_names(paths: DataPaths) -> list[str]:
    """Every full name any batch of any source has named (see `Source.people`)."""
    store = paths.store
    return list(
        _names_in(tuple(store.url(k) for k in store.keys("_people/") if k.endswith(".parquet")))
    )


@lru_cache(maxsize=8)
def _names_in(files: tuple[str, ...]) -> tuple[str, ...]:
    """The names in these per-batch lists. A batch's list is written once and never
    changed, so the same files give the same names: each staging step and each table's
    checks in a run ask, and only the first reads them."""
    if not files:
        return ()
    with sql.scratch() as con:
        rows = con.execute(
            "SELECT DISTINCT name FROM read_parquet(?) WHERE name IS NOT NULL ORDER BY name",
            [list(files)],
        ).fetchall()
    return tuple(n for (n,) in rows)


def raw_files(paths: DataPaths, source: Source, start: date | None, end: date | None) -> list[str]:
    """The raw Parquet files of a window (every file, for a source that is not daily),
    as DuckDB reads them: paths, or URLs on object storage."""
    if start is None or end is None:
        store = paths.store
        return [store.url(k) for k in _raw_keys(paths, source)]
    return raw_files_of_days(paths, source, days_of(start, end))


def raw_files_of_days(paths: DataPaths, source: Source, days: list[date]) -> list[str]:
    wanted = {f"date={d.isoformat()}" for d in days}
    store = paths.store
    return [store.url(k) for k in _raw_keys(paths, source) if k.split("/")[2] in wanted]


def _raw_keys(paths: DataPaths, source: Source) -> list[str]:
    """`raw/<source>/date=<day>/<batch>.parquet` keys, by day, then batch."""
    return [
        k
        for k in paths.store.keys(f"raw/{source.name}/")
        if k.count("/") == 3 and k.startswith(f"raw/{source.name}/date=") and k.endswith(".parquet")
    ]


def pending_batches(
    con: duckdb.DuckDBPyConnection,
    paths: DataPaths,
    source: Source,
    batches: dict[str, Batch] | None = None,
) -> dict[str, list[date]]:
    """Batches in the lake that staging has not merged yet, with the days they touched."""
    merged = ledger.merged_batches(con, source.name)
    batches = Manifest(paths, source.name).batches() if batches is None else batches
    return {
        b.batch_id: [date.fromisoformat(d) for d in b.dates]
        for b in batches.values()
        if b.status == "ingested" and b.batch_id not in merged
    }


def parquet_row_count(files: list[str]) -> int:
    """Rows in Parquet files, from their footers alone."""
    if not files:
        return 0
    with sql.scratch() as con:
        found = con.execute(
            "SELECT sum(num_rows) FROM parquet_file_metadata(?)", [[str(f) for f in files]]
        ).fetchone()
    return int(found[0] or 0)


def raw_preview(files: list[str], limit: int = 5) -> str:
    """The newest raw rows' provenance as a markdown table (never the record itself)."""
    if not files:
        return "(no raw rows in this window)"
    with sql.scratch() as con:
        rows = con.execute(
            f"SELECT date, batch_id, file, record_no, record_key, parse_error "
            f"FROM ({raw_relation(files[-limit:])}) ORDER BY date DESC, record_no LIMIT {limit}"
        ).fetchall()
    head = "| date | batch | file | record | key | parse error |\n|---|---|---|---|---|---|"
    return "\n".join(
        [head, *("| " + " | ".join("" if v is None else str(v) for v in r) + " |" for r in rows)]
    )


def _object_paths(source: Source) -> list[str]:
    """The JSON objects checked for a key written twice: the record and those it reads."""
    return ["$", *source.read_objects()]


def _base_rules(source: Source) -> tuple[Rule, ...]:
    # `_duplicate_keys[i]` is computed once per record for every path (see _window_sql).
    duplicates = [
        Rule("duplicate_key", "(record)" if path == "$" else path.removeprefix("$."),
             f"_duplicate_keys[{i}]",
             "array_to_string(json_keys(record" + ("" if path == "$" else f", {literal(path)}")
             + "), ', ')", "has a key more than once")
        for i, path in enumerate(_object_paths(source), 1)
    ]  # fmt: skip
    rules = [
        Rule("ragged_row", "(row)", "starts_with(parse_error, 'has ')", "left(raw_record, 60)",
             "does not have as many fields as the header"),
        Rule("invalid_json", "(record)", "parse_error IS NOT NULL", "left(raw_record, 60)",
             "is not a JSON object"),
        # JSON allows a key twice; which value the vendor meant is unknown, so neither is used.
        *duplicates,
        Rule("missing_id", "id", "record_key IS NULL", "NULL", "is missing"),
    ]  # fmt: skip
    if source.daily:
        rules.append(
            Rule("unparseable_timestamp", "created_at", "created_at IS NULL", source.created_value,
                 "is missing or not a valid timestamp")
        )  # fmt: skip
        rules.append(
            Rule("implausible_timestamp", "created_at", f"NOT {plausible_created('created_at')}",
                 source.created_value,
                 f"is before {EARLIEST_CREATED} or later than a day after the record arrived")
        )  # fmt: skip
    return (*rules, *source.rules)


def _rule_number(source: Source) -> str:
    """SQL: the number (from 1) of the first rule that rejects the record, NULL if none.

    Each rule's test runs once per record, here; the rule's name, field and reason are
    then looked up by number, so no JSON is parsed again for them.
    """
    rules = _base_rules(source)
    return "CASE " + " ".join(f"WHEN {r.when} THEN {i}" for i, r in enumerate(rules, 1)) + " END"


def _rule_columns(source: Source) -> str:
    rules = _base_rules(source)
    names = "[" + ", ".join(literal(r.name) for r in rules) + "][_rule_no]"
    fields = "[" + ", ".join(literal(r.field) for r in rules) + "][_rule_no]"
    reason = " ".join(
        f"WHEN {i} THEN format('{{}} record {{}}: field {{}} = {{}} {{}}', file, record_no, "
        f"{literal(r.field)}, coalesce('''' || left(redact(({r.value})::VARCHAR, NULL), 80) || "
        f"'''', 'null'), "
        f"{literal(r.detail)})"
        for i, r in enumerate(rules, 1)
    )
    return f"{names} AS _rule, {fields} AS _field, CASE _rule_no {reason} END AS _reason"


# `record` itself (not `raw_record`, `record_key`, ...): what window rows keep for
# quarantined records only.
_RECORD = re.compile(r"(?<![\w.])record\b")


def _fields(source: Source) -> list[str]:
    """Every JSON path the source's staging SQL reads as text (see `parsed_once`)."""
    rules = [f"{r.when} {r.value}" for r in _base_rules(source)]
    return text_fields(
        source.created, source.version, source.columns, source.redacted_record(), *rules
    )


def _window_sql(source: Source, raw_relation: str) -> str:
    """The latest version of every key in the window, with the rule (if any) that rejects it.

    Written for speed on millions of records: the JSON text is kept once (`record`, NULL
    when it did not parse; `raw_record` only then), parsed once for every field the
    source reads as text (`_f`, see `parsed_once`), every object's keys are listed in
    one parse, each rule is tested once (`_rule_no`), and only the records quarantine
    keeps carry their text on: 35 s -> 10 s for 1.6 M Okta events, then window and
    staging select 18 s -> 9 s with `_f` and the text dropped (1.5 GB memory limit).
    """
    paths = ", ".join(literal(p) for p in _object_paths(source))
    fields = _fields(source)
    judged = f"""
    timed AS (
        SELECT *, TRY(({source.created})::TIMESTAMP) AS created_at,
               TRY({source.version}) AS _version
        FROM versions
    ),
    keyed AS (
        SELECT *, list_transform(json_keys(record, [{paths}]),
                                 lambda k: len(k) <> len(list_distinct(k))) AS _duplicate_keys
        FROM timed
    ),
    judged AS (SELECT * EXCLUDE (_duplicate_keys), {_rule_number(source)} AS _rule_no FROM keyed),
    -- Staging reads `_f`; the JSON text goes on only with the records quarantine holds
    -- (rules test one record each, so they can run before the versions are ranked).
    slim AS (
        SELECT * EXCLUDE (record), CASE WHEN _rule_no IS NOT NULL THEN record END AS record
        FROM judged
    ),
    latest AS (
        -- The latest version of a key on its day: every version of a record is filed under
        -- its creation day, so a day holds whole histories, and staging a day alone is right.
        SELECT * FROM slim {"" if not source.daily else f"QUALIFY {_newest('date')} = 1"}
    )
    SELECT * EXCLUDE (_rule_no), {_rule_columns(source)} FROM latest
    {"" if source.daily else _inventory_rows()}
    """
    return f"""
    WITH raw AS ({raw_relation}),
    parsed AS (
        SELECT * EXCLUDE (record),
               CASE WHEN parse_error IS NOT NULL THEN record END AS raw_record,
               CASE WHEN parse_error IS NULL THEN record END AS record
        FROM raw
    ),
    versions AS (SELECT *, CASE WHEN record IS NOT NULL THEN {extract_fields(fields)} END AS _f FROM parsed),
    {parsed_once(judged, fields)}
    """


_ORDER = "ORDER BY _version DESC NULLS LAST, ingested_at DESC, batch_id DESC, record_no DESC"


def _newest(*also: str) -> str:
    """SQL: a record's rank among the versions of its key (1 = newest)."""
    by = ", ".join(["coalesce(record_key, batch_id || '#' || record_no::VARCHAR)", *also])
    return f"row_number() OVER (PARTITION BY {by} {_ORDER})"


def _inventory_rows() -> str:
    """QUALIFY for an inventory (not daily): per key, the newest good row, and the newest
    row when it is bad. A hand-kept file that breaks one row then quarantines that row
    and keeps the tool's last good one in staging (marked stale by the mart), instead
    of making the tool vanish."""
    return f"QUALIFY {_newest()} = 1 OR (_rule_no IS NULL AND {_newest('_rule_no IS NULL')} = 1)"


def raw_relation(files: list[str]) -> str:
    """SQL for the raw lake's rows in `files` (every column; none when `files` is empty):
    what staging and the quality checks both read the lake through."""
    if not files:
        return f"SELECT {RAW_COLUMNS} WHERE false"
    listed = ", ".join(literal(f) for f in files)
    return (
        f"SELECT * FROM read_parquet([{listed}], hive_partitioning = true, "
        "hive_types = {'date': DATE}, union_by_name = true)"
    )


def _staging_select(source: Source) -> str:
    # An inventory's staged row may stand for a key whose newest row is quarantined:
    # its key tells the two apart (reconcile, marts.tool_licences' is_stale).
    key = "" if source.daily else "record_key AS _key, "
    select = parsed_once(
        f"""
        SELECT {source.columns},
               date, {key}batch_id AS _batch_id, file AS _file, record_no AS _record_no
        FROM window_rows WHERE _rule IS NULL
    """,
        _fields(source),
    )
    if _RECORD.search(select):  # window_rows keeps the text of quarantined records only
        raise ValueError(
            f"source {source.name}: its columns read `record` other than as "
            "record->>'$.path' or json_extract[_string](record, '$.path[*]'); staged rows "
            "have only the fields those name (`_f`)"
        )
    return select


def raw_days(paths: DataPaths, source: Source) -> list[date]:
    """Every day the source's raw lake has a partition for."""
    found = {_partition_day(k.split("/")[2]) for k in _raw_keys(paths, source)}
    return sorted(d for d in found if d is not None)


def _partition_day(name: str) -> date | None:
    try:
        return date.fromisoformat(name.removeprefix("date="))
    except ValueError:  # not a folder productops wrote
        return None


def _shape_changed(con: duckdb.DuckDBPyConnection, source: Source, selects: dict[str, str]) -> bool:
    """True when a table exists with other columns than its select now gives (a new
    version of productops): staging then rebuilds it from the whole raw lake, so that
    an upgrade never leaves days empty."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE window_rows AS {_window_sql(source, raw_relation([]))}"
    )
    for table, select in selects.items():
        have = table_columns(con, table)
        if have and have != [(c[0], c[1]) for c in con.execute(f"DESCRIBE {select}").fetchall()]:
            return True
    return False


def _ensure_table(con: duckdb.DuckDBPyConnection, table: str, select: str) -> bool:
    """Create `table` from the select's columns; recreate it when they changed. True if recreated."""
    probe = con.execute(f"DESCRIBE {select}").fetchall()
    wanted = [(c[0], c[1]) for c in probe]
    have = table_columns(con, table)
    if have == wanted:
        return False
    con.execute(f"CREATE OR REPLACE TABLE {table} AS {select} LIMIT 0")
    return bool(have)


def build_staging(
    con: duckdb.DuckDBPyConnection,
    paths: DataPaths,
    source: Source,
    start: date | None,
    end: date | None,
) -> StagingResult:
    """Bring the source's staging and quarantine tables up to date for [start, end].

    Besides the window, every day touched by a batch staging has not merged yet is
    re-staged (late updates, records filed under their arrival day), and those days
    are logged in `ops.day_changes` for the marts. For a source that is not daily,
    pass None for both: the whole table is replaced. `con` must have the shared macros
    and a PII salt (`productops.sql.prepare`).
    """
    con.execute("CREATE SCHEMA IF NOT EXISTS staging")
    con.execute(REJECTED_FILES_DDL)
    backfill_people(paths, SOURCES.values())
    use_known_names(con, known_names(paths))
    batches = Manifest(paths, source.name).batches()
    pending = pending_batches(con, paths, source, batches)
    rejected = [b for b in batches.values() if b.status == "rejected"]
    late: set[date] = set()
    staging_table = f"staging.{source.table}"
    quarantine_table = f"quarantine.{source.name}"
    staging_select = _staging_select(source)
    quarantine_select = parsed_once(
        f"""
        SELECT {QUARANTINE_COLUMNS},
               CASE WHEN record IS NULL THEN redact(raw_record, NULL)
                    ELSE ({source.redacted_record()})::VARCHAR END AS record
        FROM window_rows WHERE _rule IS NOT NULL""",
        _fields(source),
    )
    reshaped = _shape_changed(
        con, source, {staging_table: staging_select, quarantine_table: quarantine_select}
    )
    if start is None or end is None:
        days: list[date] | None = None
        files = raw_files(paths, source, None, None)
    else:
        window = set(days_of(start, end))
        late = {d for dates in pending.values() for d in dates} - window
        if reshaped:  # a new version's columns: every day the lake holds is staged again
            late |= set(raw_days(paths, source)) - window
        days = sorted(window | late)
        files = raw_files_of_days(paths, source, days)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE window_rows AS {_window_sql(source, raw_relation(files))}"
    )
    if days is None:
        where, params = "true", []
    else:
        where, params = "list_contains(?::DATE[], date)", [days]
    with transaction(con):
        recreated = _ensure_table(con, staging_table, staging_select)
        recreated |= _ensure_table(con, quarantine_table, quarantine_select)
        for table, select in (
            (staging_table, staging_select),
            (quarantine_table, quarantine_select),
        ):
            con.execute(f"DELETE FROM {table} WHERE {where}", params)
            con.execute(f"INSERT INTO {table} BY NAME {select}")
        ledger.record_merged(con, source.name, pending)
        con.execute("DELETE FROM quarantine.files WHERE source = ?", [source.name])
        if rejected:
            con.executemany(
                "INSERT INTO quarantine.files VALUES (?, ?, ?, ?, ?)",
                [(source.name, b.batch_id, b.file, b.reason, b.ingested_at) for b in rejected],
            )
        if days:
            ledger.record_changes(con, staging_table, days)
        if late:
            ledger.record_unchecked(con, source.name, late)
    raw_rows = con.execute(f"SELECT count(*) FROM ({raw_relation(files)})").fetchone()[0]
    counts = dict(
        con.execute("SELECT coalesce(_rule, ''), count(*) FROM window_rows GROUP BY ALL").fetchall()
    )
    staged = counts.pop("", 0)
    con.execute("DROP TABLE window_rows")
    return StagingResult(
        source=source.name,
        start=start,
        end=end,
        raw_rows=raw_rows,
        staged=staged,
        quarantined=sum(counts.values()),
        by_rule=dict(sorted(counts.items())),
        files=len(files),
        recreated=recreated,
        late_days=tuple(sorted(late)),
    )


@dataclass(frozen=True)
class Reconciliation:
    """Raw keys against staging + quarantine rows, over every merged batch in the lake."""

    raw_keys: int
    staged: int
    quarantined: int
    # (day, raw keys, staged, quarantined) for every day that does not add up.
    mismatched: list[tuple[date | None, int, int, int]]

    @property
    def ok(self) -> bool:
        return not self.mismatched


def reconcile(
    con: duckdb.DuckDBPyConnection, paths: DataPaths, source: Source, remember: bool = False
) -> Reconciliation:
    """Every raw record of a merged batch is in staging or quarantine, day by day.

    A day's raw keys are its distinct natural keys plus its records without one;
    staging keeps the latest version of each on its day, or quarantine says why not.
    Batches not merged yet (arriving while this runs) are left out. The raw side is
    counted again only for days whose merged files changed (`_raw_key_counts`).
    """
    by_day = "date" if source.daily else "NULL::DATE"
    # An inventory's quarantined newest row of a key with a staged (older, good) row is
    # the same key, counted once.
    stale = (
        ""
        if source.daily
        else f"WHERE record_key IS NULL OR record_key NOT IN "
        f"(SELECT _key FROM staging.{source.table} WHERE _key IS NOT NULL)"
    )
    with transaction(con):  # one snapshot: a batch merged meanwhile is on neither side
        raw = _raw_key_counts(con, paths, source, remember)
        kept = {
            day: (staged, quarantined)
            for day, staged, quarantined in con.execute(
                f"""
                SELECT day, sum(s)::BIGINT, sum(q)::BIGINT FROM (
                    SELECT {by_day} AS day, count(*) AS s, 0 AS q FROM staging.{source.table} GROUP BY 1
                    UNION ALL SELECT {by_day}, 0, count(*) FROM quarantine.{source.name} {stale} GROUP BY 1
                ) GROUP BY day
                """
            ).fetchall()
        }
    days = sorted(raw.keys() | kept.keys(), key=lambda d: (d is None, d))
    rows = [(d, raw.get(d, 0), *kept.get(d, (0, 0))) for d in days]
    return Reconciliation(
        raw_keys=sum(r[1] for r in rows),
        staged=sum(r[2] for r in rows),
        quarantined=sum(r[3] for r in rows),
        mismatched=[r for r in rows if r[1] != r[2] + r[3]],
    )


def _raw_key_counts(
    con: duckdb.DuckDBPyConnection, paths: DataPaths, source: Source, remember: bool
) -> dict[date | None, int]:
    """Raw keys per day of the merged batches, read again only for days whose files
    changed (`productops.day_summaries`). `remember` stores what was counted (a check
    step); a reader only uses what is stored."""
    merged = (
        ledger.merged_batches_read_only(con, source.name)
        if ledger.exists(con)
        else None  # a warehouse from before the ledger: every batch counts
    )
    groups: dict[date | None, list[str]] = {}
    for key in _raw_keys(paths, source):
        _, _, folder, name = key.split("/")
        if merged is None or name.removesuffix(".parquet") in merged:
            day = _partition_day(folder) if source.daily else None
            groups.setdefault(day, []).append(paths.store.url(key))
    by_day = "date" if source.daily else "NULL::DATE"
    counted = day_summaries.per_day(
        con,
        source.name,
        "raw_keys",
        groups,
        lambda files: (
            f"""SELECT {by_day} AS day,
                                 count(DISTINCT record_key) + count(*) FILTER (record_key IS NULL)
                          FROM ({raw_relation(files)}) GROUP BY day"""
        ),
        remember=remember,
    )
    return {day: rows[0][0] if rows else 0 for day, rows in counted.items()}
