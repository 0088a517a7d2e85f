"""DuckDB connections and the SQL macros every layer shares."""

from __future__ import annotations

import contextlib
import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from productops import extensions, objectstore, pii

EMAIL_RE = pii.EMAIL.pattern
# Control characters (all but tab, newline and carriage return): out of staged text.
CONTROL_RE = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]"
# Seven digits or more with only a phone number's separators between them: the only
# texts libphonenumber is asked about (it costs ~0.1 ms a text; "ws-4732, project p129"
# has seven digits but no phone number's shape, and is not asked).
PHONE_CANDIDATE_RE = r"([0-9][ ()./+-]*){7}"
_TAGS_OUT = r"regexp_replace(regexp_replace(t, '<(p|br)\s*/?>', chr(10), 'gi'), '<[^>]+>', '', 'g')"

MACROS = f"""
-- Tags out, then every HTML entity decoded as Python's html.unescape does (a UDF,
-- called only for text with an ampersand), control characters out, spaces folded.
CREATE OR REPLACE TEMP MACRO strip_html(t) AS
    trim(regexp_replace(regexp_replace(
        CASE WHEN contains({_TAGS_OUT}, '&') THEN decode_entities({_TAGS_OUT}) ELSE {_TAGS_OUT} END,
        '{CONTROL_RE}', '', 'g'), '[ \t]+', ' ', 'g'), ' ' || chr(10) || chr(13));
-- Phone numbers by libphonenumber (productops.pii, a UDF called only for text with seven
-- digits in a phone number's shape; `region` is the record's country when it gives one), e-mail
-- addresses by their grammar, the writer's own name and every name a source has named.
CREATE OR REPLACE TEMP MACRO phones_out(t, region) AS
    CASE WHEN regexp_matches(t, '{PHONE_CANDIDATE_RE}') THEN redact_phones(t, region) ELSE t END;
CREATE OR REPLACE TEMP MACRO contacts_out(t, region) AS
    phones_out(regexp_replace(t, '{EMAIL_RE}', '[email]', 'g'), region);
CREATE OR REPLACE TEMP MACRO redact(t, who, region := NULL) AS
    redact_names(CASE WHEN who IS NULL OR length(trim(who)) < 3 THEN contacts_out(t, region)
                      ELSE replace(contacts_out(t, region), trim(who), '[name]') END);
-- The no_personal_data check asks the same detector: what redaction misses, it finds.
-- CASE, not AND/OR: DuckDB evaluates both sides of an AND for a whole vector (15 s
-- instead of 0.1 s for 70 k texts); only CASE keeps libphonenumber to the texts that
-- look like they hold a number.
CREATE OR REPLACE TEMP MACRO has_personal_data(t, region := NULL) AS
    CASE WHEN t IS NULL THEN false
         WHEN regexp_matches(t, '{EMAIL_RE}') THEN true
         WHEN regexp_matches(t, '{PHONE_CANDIDATE_RE}')
              THEN CASE WHEN has_phone(t, region) THEN true
                        ELSE redact_names(t) IS DISTINCT FROM t END
         ELSE redact_names(t) IS DISTINCT FROM t END;
-- Epoch seconds as a UTC timestamp; NULL (not an error) when out of range, so that no
-- value in a file can fail a step.
CREATE OR REPLACE TEMP MACRO epoch_ts(x) AS TRY(to_timestamp(x))::TIMESTAMP;
CREATE OR REPLACE TEMP MACRO pii_hash(x) AS
    CASE WHEN nullif(trim(x), '') IS NULL THEN NULL
         ELSE sha256(getvariable('pii_salt') || lower(trim(x))) END;
"""


def use_known_names(con: duckdb.DuckDBPyConnection, names: list[str]) -> None:
    """Make `redact()` on this connection also replace these people's names."""
    with contextlib.suppress(duckdb.InvalidInputException, duckdb.CatalogException):
        con.remove_function("redact_names")
    con.create_function(
        "redact_names", pii.name_redactor(names), ["VARCHAR"], "VARCHAR", side_effects=False
    )


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One transaction: committed on exit, rolled back on an error.

    A commit that fails (a DuckLake warehouse refuses one that conflicts with another
    worker's) has already ended the transaction; its error, not the rollback's, is raised.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.TransactionException):
            con.execute("ROLLBACK")
        raise


def is_conflict(exc: BaseException) -> bool:
    """A commit another writer's commit refused (DuckLake); the work can be redone."""
    return isinstance(exc, duckdb.TransactionException) and "conflict" in str(exc).lower()


def arrow(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> pa.Table:
    """The query's result as an Arrow table.

    Through `execute`, never `con.sql(query, params=...)`: with parameters, DuckDB's
    relation API materialises the result through Python values first, ten times slower
    (1.6 M staged Okta events for their check: 3.0 s, against 0.3 s here; DuckDB 1.5.5).
    """
    return con.execute(query, params or []).to_arrow_table()


def table_columns(
    con: duckdb.DuckDBPyConnection, table: str, catalog: str | None = None
) -> list[tuple[str, str]]:
    """(name, type) of every column of `schema.table` in `catalog` (default: the current
    one), in order; empty if it does not exist.

    From `duckdb_columns()`, the catalog function `information_schema.columns` is a view
    over: the same rows, without the view's cost (2 ms against 23 ms a call on a
    warehouse at scale 10; a daily run asks some 80 times)."""
    schema, name = table.split(".")
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = coalesce(?, current_database()) AND schema_name = ? "
        "AND table_name = ? ORDER BY column_index",
        [catalog, schema, name],
    ).fetchall()


def prepare(
    con: duckdb.DuckDBPyConnection, *, salt: str | None = None
) -> duckdb.DuckDBPyConnection:
    """UTC everywhere, and the shared macros; `salt` enables `pii_hash`."""
    con.execute("SET TimeZone = 'UTC'")
    text = ["VARCHAR"]
    # NULLs reach the functions ("special"): a NULL region must not make the text NULL.
    udfs = [
        # The standard library knows all 2,231 HTML5 entities; no SQL list would.
        ("decode_entities", lambda t: t and html.unescape(t), text, "VARCHAR"),
        ("redact_phones", pii.redact_phones, text * 2, "VARCHAR"),
        ("has_phone", lambda t, r: bool(t and pii.phone_spans(t, r)), text * 2, "BOOLEAN"),
        ("phone_region", pii.region_hint, text, "VARCHAR"),
        ("redact_names", pii.name_redactor([]), text, "VARCHAR"),  # see use_known_names
    ]
    for name, fn, params, returns in udfs:
        with contextlib.suppress(duckdb.CatalogException, duckdb.InvalidInputException):
            con.create_function(
                name, fn, params, returns, side_effects=False, null_handling="special"
            )
    if salt is not None:
        con.execute("SET VARIABLE pii_salt = ?", [salt])
    if objectstore.on_object_store():  # the raw lake is read by s3:// URL
        objectstore.ObjectStore.from_env().register(con)
    con.execute(MACROS)
    return con


_scratch: duckdb.DuckDBPyConnection | None = None
_scratch_lock = threading.Lock()


@contextmanager
def scratch() -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection for a short question about files or values (a row count, a preview,
    whether a regex compiles): no macros, settings or UTC.

    A cursor on one in-memory database kept by the process: a new database takes 11 ms
    to open, and a daily run asked some 25 such questions. On object storage, where
    reading needs a secret that nothing should hold longer than a connection, it is a
    connection of its own (`connect`).
    """
    if objectstore.on_object_store():
        with connect() as con:
            yield con
        return
    global _scratch
    with _scratch_lock:
        if _scratch is None:
            _scratch = duckdb.connect()
        cursor = _scratch.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


@contextmanager
def connect(
    path: Path | str = ":memory:",
    *,
    read_only: bool = False,
    salt: str | None = None,
    memory_limit: str | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with the macros loaded, closed on exit."""
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    config = {**extensions.CONFIG, **({"memory_limit": memory_limit} if memory_limit else {})}
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    try:
        yield prepare(con, salt=salt)
    finally:
        con.close()
