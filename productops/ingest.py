"""Landing files -> the raw lake: each file ingested exactly once, nothing lost.

A landing file is one batch, named by the hash of its content, so dropping the same
file twice (under any name) adds nothing. Its records are split by creation date
into `lake/raw/<source>/date=YYYY-MM-DD/<batch>.parquet`, each written under a
temporary name and renamed, and the batch's manifest entry is written last: a crash
half-way leaves no manifest entry, and the retry rewrites the same files.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import io
import json
import logging
import os
import shutil
import stat
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl
import polars.selectors as cs

from productops import encodings, sql
from productops.printable import printable
from productops.quoting import literal
from productops.settings import MAX_FILE_MB_ENV, DataPaths, max_landing_bytes
from productops.sources import Source
from productops.sources.base import extract_fields, parsed_once, plausible_created, text_fields

LOG = logging.getLogger(__name__)
SUPPORTED = (".jsonl", ".ndjson", ".json", ".csv", ".parquet")
# Vendors export any of these gzip-compressed. The first two bytes decide whether a file
# is gzip (`nps.csv` may hold gzip bytes); a `.gz` suffix only names it, and the suffix
# before it says how the records are written.
GZIP_MAGIC = b"\x1f\x8b"
GZIP_SUFFIX = ".gz"
READS = f"{', '.join(SUPPORTED)}, each also gzip-compressed ({GZIP_SUFFIX})"
# Envelopes whose list of records sits under one of these paths: Algolia pages, Zendesk
# export pages, Reddit listings, Bluesky searches, Mastodon searches, App Store review
# feeds, generic API dumps. The first that holds an array is the records.
_ENVELOPE_KEYS = (
    "hits", "tickets", "data.children", "posts", "statuses", "feed.entry", "results", "data",
    "items",
)  # fmt: skip


class LandingFileError(ValueError):
    """A landing file that cannot be read at all; the message names the file."""


@dataclass
class Batch:
    batch_id: str
    source: str
    file: str
    sha256: str
    size: int
    status: str  # "ingested" or "rejected"
    rows: int = 0
    bad_records: int = 0
    dates: list[str] = field(default_factory=list)
    reason: str | None = None
    ingested_at: str = ""
    encoding: str = ""  # how the file's bytes were decoded (utf_8, cp1252, gzip+utf_8, ...)


@dataclass
class IngestReport:
    source: str
    new: list[Batch] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # files whose content was seen before
    skipped: list[str] = field(default_factory=list)  # files of a kind this source does not read
    # symlinks, special files and files over the size limit: never opened
    refused: list[dict[str, str]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(b.rows for b in self.new)

    @property
    def dates(self) -> set[str]:
        return {d for b in self.new for d in b.dates}


def file_digest(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _lines_frame(text: str) -> pl.DataFrame:
    lines = pl.Series("record", text.split("\n"))
    frame = pl.DataFrame(lines).with_row_index("record_no", offset=1)
    return frame.with_columns(pl.col("record").str.strip_suffix("\r")).filter(
        pl.col("record").str.strip_chars() != ""
    )


def _json_document_frame(text: str, con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """A `.json` file: an array of records, an API page envelope, or one record."""
    if not con.execute("SELECT json_valid(?)", [text]).fetchall()[0][0]:
        # Not one document: perhaps JSON lines under a .json name.
        return _lines_frame(text)
    keys = ", ".join(f"'$.{k}'" for k in _ENVELOPE_KEYS)
    arrow = sql.arrow(
        con,
        f"""
        WITH doc AS (SELECT ?::JSON AS d),
        picked AS (
            SELECT CASE WHEN json_type(d) = 'ARRAY' THEN d
                        -- an App Store page: one review is an object, none is no entry
                        WHEN json_type(d, '$.feed') = 'OBJECT' AND json_extract(d, '$.feed.entry') IS NULL
                            THEN '[]'::JSON
                        WHEN json_type(d, '$.feed.entry') = 'OBJECT'
                            THEN json_array(json_extract(d, '$.feed.entry'))
                        ELSE coalesce(list_filter([{", ".join(f"json_extract(d, {k})" for k in keys.split(", "))}],
                                                  lambda x: json_type(x) = 'ARRAY')[1],
                                      json_array(d)) END AS arr
            FROM doc)
        SELECT unnest(range(1, json_array_length(arr)::BIGINT + 1)) AS record_no,
               unnest(CAST(json_extract(arr, '$[*]') AS VARCHAR[])) AS record
        FROM picked
        """,
        [text],
    )
    return pl.from_arrow(arrow)  # type: ignore[return-value]


def _first_fields(frame: pl.DataFrame, tries: int = 5) -> list[str]:
    """The top-level fields of the file's first record that is a JSON object ([] if none
    of the first few is): what tells a source's record shapes apart in one folder."""
    for text in frame["record"].head(tries).to_list() if "record" in frame.columns else []:
        try:
            first = json.loads(text)
        except (TypeError, ValueError):
            continue
        if isinstance(first, dict):
            return list(first)
    return []


def _table_frame(frame: pl.DataFrame, first_record_no: int) -> pl.DataFrame:
    """Tabular rows (CSV, Parquet) as JSON records; temporal values become ISO text."""
    frame = frame.with_columns(cs.temporal().cast(pl.String))
    return frame.select(record=pl.struct(pl.all()).struct.json_encode()).with_row_index(
        "record_no", offset=first_record_no
    )


# What a CSV row with the wrong number of fields is told in quarantine (staging's rule).
RAGGED = "has {} fields where the header has {}"


def _csv_file(text: str, source: Source) -> tuple[str, pl.DataFrame]:
    """A CSV's rows as records; line numbers as a spreadsheet shows them (header = 1)."""
    try:
        table = pl.read_csv(text.encode(), infer_schema=False)
        return source.shape_for(".csv", table.columns) or "", _table_frame(table, 2)
    except pl.exceptions.ComputeError:
        return _ragged_csv(text, source)


def _ragged_csv(text: str, source: Source) -> tuple[str, pl.DataFrame]:
    """A CSV with ragged rows, read by the standard library's csv module row by row.

    Polars rejects the whole file over one row with too many fields; here each such row
    is kept as its own text with a `reader_error`, and staging quarantines it by itself
    while the rest of the file flows. A Python loop, but only for files polars refused.
    """
    # strict: an unterminated quote is a broken file, not one huge last field.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = next(reader, [])
    numbers, records, errors = [], [], []
    for row in reader:
        if not row:
            continue
        numbers.append(reader.line_num)
        if len(row) == len(header):
            records.append(json.dumps(dict(zip(header, row, strict=True))))
            errors.append(None)
        else:
            records.append(",".join(row))
            errors.append(RAGGED.format(len(row), len(header)))
    frame = pl.DataFrame(
        {"record_no": numbers, "record": records, "reader_error": errors},
        schema={"record_no": pl.Int64, "record": pl.String, "reader_error": pl.String},
    )
    return source.shape_for(".csv", header) or "", frame


@dataclass(frozen=True)
class LandingFile:
    shape: str  # "" when the source does not read this kind of file
    records: pl.DataFrame  # record_no, record (JSON text) and, from some readers, reader_error
    # How the bytes were decoded: the text encoding ("" for Parquet), after "gzip+" for a
    # compressed file ("gzip+utf_8", "gzip" for compressed Parquet).
    encoding: str


def landing_format(path: Path) -> str:
    """The suffix that says how a landing file's records are written, lower case: `.csv`
    for `export.csv` and `export.CSV.gz` alike; "" for a bare `export.gz`."""
    name = path.name.lower()
    return Path(name.removesuffix(GZIP_SUFFIX)).suffix


def is_gzip(path: Path) -> bool:
    """Whether the file's bytes are gzip, by its magic number whatever its name."""
    with path.open("rb") as f:
        return f.read(len(GZIP_MAGIC)) == GZIP_MAGIC


# Decompressed a mebibyte at a time, so that the size is checked as it grows.
_GUNZIP_CHUNK = 1 << 20


def gunzip(path: Path, max_bytes: int) -> bytes:
    """A gzip file's content: what the same export uncompressed would hold.

    Streamed into one growing buffer, so memory is the content once, as for a plain
    file of that size, and a file that decompresses to more than `max_bytes` is
    rejected as it crosses the limit rather than filling memory (a gzip bomb).
    Concatenated gzip members are read one after another, as `gunzip` does. Raises
    LandingFileError, naming the file, when it is truncated, corrupt or too large.
    """
    out = io.BytesIO()
    try:
        with gzip.open(path, "rb") as f:
            while chunk := f.read(_GUNZIP_CHUNK):
                if out.tell() + len(chunk) > max_bytes:
                    raise LandingFileError(
                        f"{path}: decompresses to more than {max_bytes:,} bytes, the limit "
                        f"({MAX_FILE_MB_ENV})"
                    )
                out.write(chunk)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise LandingFileError(
            f"{path}: is gzip-compressed but cannot be decompressed (truncated or corrupt): {exc}"
        ) from exc
    return out.getvalue()


def read_landing_file(
    path: Path, source: Source, con: duckdb.DuckDBPyConnection, max_bytes: int | None = None
) -> LandingFile:
    """The file's shape, records and encoding, gzip-compressed or not.

    A compressed file reads exactly as its content would uncompressed; `max_bytes`
    (default: the `PRODUCTOPS_MAX_FILE_MB` setting) bounds that content.
    Raises LandingFileError, naming the file, when the file cannot be read at all.
    """
    suffix = landing_format(path)
    if suffix not in SUPPORTED:
        raise LandingFileError(f"{path}: unsupported file type {suffix!r}; expected one of {READS}")
    limit = max_landing_bytes() if max_bytes is None else max_bytes
    try:
        compressed = is_gzip(path)
        # The bytes are passed on, never kept here: once decoded, only the text stays.
        if suffix == ".parquet":
            table = pl.read_parquet(io.BytesIO(gunzip(path, limit)) if compressed else path)
            shape = source.shape_for(".parquet", table.columns) or ""
            found = LandingFile(shape, _table_frame(table, 1), "")
        else:
            text, encoding = encodings.decode(
                gunzip(path, limit) if compressed else path.read_bytes()
            )
            found = _text_file(text, encoding, suffix, source, con)
    except encodings.NotText as exc:
        raise LandingFileError(f"{path}: {exc}") from exc
    except csv.Error as exc:
        raise LandingFileError(f"{path}: cannot be read as CSV: {exc}") from exc
    except (pl.exceptions.PolarsError, duckdb.Error, OSError) as exc:
        raise LandingFileError(f"{path}: cannot be read as {suffix[1:].upper()}: {exc}") from exc
    if not compressed:
        return found
    encoding = "+".join(filter(None, ["gzip", found.encoding]))
    return LandingFile(found.shape, found.records, encoding)


def _text_file(
    text: str, encoding: str, suffix: str, source: Source, con: duckdb.DuckDBPyConnection
) -> LandingFile:
    """Records of a text file written as `suffix` (JSON lines, a JSON document, CSV)."""
    if suffix in (".jsonl", ".ndjson", ".json"):
        json_suffix = ".json" if suffix == ".json" else ".jsonl"
        frame = _json_document_frame(text, con) if suffix == ".json" else _lines_frame(text)
        fields = _first_fields(frame) if source.shape_by_column else None
        return LandingFile(source.shape_for(json_suffix, fields) or "", frame, encoding)
    shape, frame = _csv_file(text, source)
    return LandingFile(shape, frame, encoding)


def raw_key(source: Source, partition: str, batch_id: str) -> str:
    """A batch's records of one day: `raw/<source>/date=<day>/<batch>.parquet`."""
    return f"raw/{source.name}/{partition}/{batch_id}.parquet"


_ENTRIES: dict[tuple[str, str], Batch] = {}  # (lake, key) -> the manifest entry read there


class Manifest:
    """Which batches of a source are in the lake; one small JSON entry per batch, kept
    with the lake (`_manifest/<source>/`). The index of landing files already hashed is
    this machine's own (its landing folder), kept beside it in `lake/_manifest/`."""

    def __init__(self, paths: DataPaths, source: str) -> None:
        self.store = paths.store
        self.prefix = f"_manifest/{source}/"
        self.index_file = paths.manifest / source / "_files.json"

    def batches(self) -> dict[str, Batch]:
        keys = [
            k
            for k in self.store.keys(self.prefix)
            if k.endswith(".json") and not k.rsplit("/", 1)[-1].startswith("_")
        ]
        # An entry is written once, whole, under its batch's content hash: each is read
        # once per process (a run asks for a source's batches some six times; a year of
        # daily files is 365 entries a source).
        root = self.store.root
        unread = [k for k in keys if (root, k) not in _ENTRIES]
        for key, text in zip(unread, self.store.read_texts(unread), strict=True):
            _ENTRIES[root, key] = Batch(**json.loads(text))
        found = {}
        for key in keys:
            b = _ENTRIES[root, key]
            found[b.batch_id] = b
        return found

    def record(self, batch: Batch) -> None:
        key = f"{self.prefix}{batch.batch_id}.json"
        self.store.write_text(key, json.dumps(asdict(batch), indent=1))
        _ENTRIES[self.store.root, key] = batch

    def file_index(self) -> dict[str, dict[str, int | str]]:
        """Hashes of landing files already read, by path, size and mtime (saves re-hashing)."""
        if not self.index_file.exists():
            return {}
        return json.loads(self.index_file.read_text())

    def save_file_index(self, index: dict[str, dict[str, int | str]]) -> None:
        self.index_file.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write_text(self.index_file, json.dumps(index, indent=0, sort_keys=True))


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _stamp(path: Path) -> dict[str, int]:
    """What identifies a file's content without reading it. A file moved or copied in with
    its old modification time (`mv`, `cp -p`, `rsync -t`, unzip) still gets a new inode and
    change time, which no tool can set back."""
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns,
            "inode": st.st_ino}  # fmt: skip


def cached_digest(index: dict[str, dict[str, int | str]], rel: str, path: Path) -> str:
    """The file's SHA-256, from `index` when its stamp is unchanged; `index` is updated."""
    stamp = _stamp(path)
    cached = index.get(rel)
    if cached and all(cached.get(k) == v for k, v in stamp.items()):
        return str(cached["sha256"])
    digest = file_digest(path)
    index[rel] = {**stamp, "sha256": digest}
    return digest


def landing_files(paths: DataPaths, source: str) -> list[Path]:
    """Regular files in the source's landing folder, by name; dot-files are in flight."""
    return scan_landing(paths, source)[0]


def scan_landing(
    paths: DataPaths, source: str, max_bytes: int | None = None
) -> tuple[list[Path], list[tuple[str, str]]]:
    """The landing folder's files to read, and the entries refused with the reason.

    Landing is a boundary: only regular files inside it are read. A symbolic link (to a
    file or a folder) is refused, never followed; so is a FIFO, socket or device (opening
    a FIFO would block the run), and a file over `max_bytes` (default: the
    `PRODUCTOPS_MAX_FILE_MB` setting). Nothing refused is opened.
    """
    limit = max_landing_bytes() if max_bytes is None else max_bytes
    folder = paths.landing_dir(source)
    if folder.is_symlink():
        return [], [(str(folder.relative_to(paths.root)), "is a symbolic link; refused")]
    files: list[Path] = []
    refused: list[tuple[str, str]] = []
    for root, dirs, names in os.walk(folder, followlinks=False):
        here = Path(root)
        for d in list(dirs):
            if d.startswith(".") or (here / d).is_symlink():
                dirs.remove(d)
                if not d.startswith("."):
                    refused.append((str((here / d).relative_to(paths.root)), _SYMLINK))
        for name in names:
            if name.startswith("."):
                continue
            path = here / name
            mode = path.lstat()
            if stat.S_ISLNK(mode.st_mode):
                reason = _SYMLINK
            elif not stat.S_ISREG(mode.st_mode):
                reason = "is not a regular file (a FIFO, socket or device); refused"
            elif mode.st_size > limit:
                reason = (
                    f"is {mode.st_size:,} bytes, over the limit of {limit:,} "
                    f"({MAX_FILE_MB_ENV}); refused unread"
                )
            else:
                files.append(path)
                continue
            refused.append((str(path.relative_to(paths.root)), reason))
    return sorted(files), sorted(refused)


_SYMLINK = (
    "is a symbolic link; productops reads only regular files inside landing "
    "(copy the file in instead); refused, not followed"
)


def _dated_records_sql(source: Source, columns: list[str]) -> str:
    """The records of `landing_records` with provenance, key and the raw day they go to.

    Parameters: shape, ingestion time, source, shape, batch id, ingestion time, file.
    Each record's JSON is parsed once: one `json_extract_string` reads every field its
    key, creation time and people's names need (`parsed_once`). That parse fails (TRY
    gives NULL) for text that is not JSON; a record that is JSON but not an object does
    not start with `{`. Together they say what `json_type(record) = 'OBJECT'` said, which
    took a second parse (same answers on the edge cases in tests/test_ingest.py). A
    reader that could not make a record of a row (a ragged CSV row) says why in
    `reader_error`; staging quarantines such a row with that reason. `_people` holds the
    names the record gives (see `_write_people`); it is not written to the lake.
    """
    reader_error = "reader_error" if "reader_error" in columns else "NULL::VARCHAR"
    fields = text_fields(source.key, source.created, *source.people)
    key, created = (parsed_once(e, fields) for e in (source.key, source.created))
    people = ", ".join(f"TRY(({parsed_once(p, fields)})::VARCHAR)" for p in source.people)
    # Every source reads its key from the record, so there is a field to extract.
    assert fields, f"{source.name}: no field to read a record's key from"
    return f"""
        WITH landed AS (
            SELECT record_no, record, ? AS shape, ?::TIMESTAMP AS ingested_at,
                   {reader_error} AS reader_error,
                   CASE WHEN starts_with(ltrim(record, ' \t\n\r'), '{{')
                        THEN TRY({extract_fields(fields)}) END AS _f
            FROM landing_records
        ),
        typed AS (
            SELECT ?::VARCHAR AS source, ?::VARCHAR AS shape, ?::VARCHAR AS batch_id,
                   ?::TIMESTAMP AS ingested_at, ?::VARCHAR AS file,
                   record_no::BIGINT AS record_no,
                   TRY(({key})::VARCHAR) AS record_key,
                   TRY(({created})::TIMESTAMP) AS created,
                   record,
                   CASE WHEN reader_error IS NOT NULL THEN reader_error
                        WHEN _f IS NOT NULL THEN NULL
                        ELSE 'not a JSON object' END AS parse_error,
                   CASE WHEN _f IS NOT NULL THEN [{people}]::VARCHAR[] END AS _people
            FROM landed
        )
        SELECT * EXCLUDE (created),
               CASE WHEN {plausible_created("created")} THEN created::DATE
                    ELSE ingested_at::DATE END AS created_date
        FROM typed
    """


def file_days(path: Path, source: Source, now: datetime) -> list[date]:
    """The raw days a landing file's records would go to, without ingesting it.

    Raises LandingFileError when the file cannot be read at all.
    """
    with sql.connect() as con:
        found = read_landing_file(path, source, con)
        shape, records = found.shape, found.records
        con.register("landing_records", records)
        at = now.replace(tzinfo=None)
        days = con.execute(
            f"SELECT DISTINCT strftime(created_date, '%Y-%m-%d') "
            f"FROM ({_dated_records_sql(source, records.columns)})",
            [shape, at, source.name, shape, "", at, str(path)],
        ).fetchall()
    return sorted(date.fromisoformat(d) for (d,) in days)


def _write_batch(
    con: duckdb.DuckDBPyConnection,
    paths: DataPaths,
    source: Source,
    batch: Batch,
    shape: str,
    records: pl.DataFrame,
) -> None:
    """Split the batch's records by creation date and move them into the lake.

    Key and creation time are evaluated with TRY, so no value can fail the batch. A
    record whose creation time is missing or implausible (see `plausible_created`) is
    filed under the day it arrived: a run for that day stages it, and staging
    quarantines it with the reason. Dates stay text here: a year 99999 is valid in
    DuckDB but not in Python.
    """
    con.register("landing_records", records)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE batch AS {_dated_records_sql(source, records.columns)}",
        [
            shape,
            batch.ingested_at,
            source.name,
            shape,
            batch.batch_id,
            batch.ingested_at,
            batch.file,
        ],
    )
    con.unregister("landing_records")
    batch.rows, batch.bad_records = con.execute(
        "SELECT count(*), count(parse_error) FROM batch"
    ).fetchone()
    batch.dates = [
        d
        for (d,) in con.execute(
            "SELECT DISTINCT strftime(created_date, '%Y-%m-%d') FROM batch ORDER BY 1"
        ).fetchall()
    ]
    tmp = paths.lake / "_tmp" / source.name / batch.batch_id
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    # In record order without a sort: one thread inserted them in that order, and DuckDB
    # keeps insertion order. zstd's level 1 writes text a sixth faster than its default,
    # in files no larger (measured on Okta's events).
    con.execute(
        f"""COPY (SELECT * EXCLUDE (created_date, _people), created_date AS date FROM batch)
            TO {literal(tmp)} (FORMAT parquet, PARTITION_BY (date), FILENAME_PATTERN 'part',
                        COMPRESSION zstd, COMPRESSION_LEVEL 1, OVERWRITE_OR_IGNORE)"""
    )
    for written in sorted(tmp.glob("date=*/*.parquet")):
        paths.store.put(written, raw_key(source, written.parent.name, batch.batch_id))
    if source.people:
        _write_people(con, paths, source, batch.batch_id, "batch", tmp, "unnest(_people)")
    shutil.rmtree(tmp, ignore_errors=True)


def _write_people(
    con: duckdb.DuckDBPyConnection,
    paths: DataPaths,
    source: Source,
    batch_id: str,
    relation: str,
    tmp: Path,
    names: str | None = None,
) -> None:
    """The full names a batch's records name, to `lake/_people/<source>/<batch>.parquet`.

    `names` is SQL for them, one per row; by default read from each record's JSON."""
    if names is None:
        names = "unnest([" + ", ".join(f"TRY(({p})::VARCHAR)" for p in source.people) + "])"
    con.execute(
        f"""COPY (SELECT DISTINCT trim(n) AS name
                  FROM (SELECT {names} AS n FROM {relation} WHERE parse_error IS NULL)
                  WHERE contains(trim(n), ' ') AND length(trim(n)) >= 5)
            TO {literal(tmp / "people.parquet")} (FORMAT parquet)"""
    )
    paths.store.put(tmp / "people.parquet", f"_people/{source.name}/{batch_id}.parquet")


def backfill_people(paths: DataPaths, sources: Iterable[Source]) -> int:
    """Write the name list of every ingested batch that has none: lakes written before
    productops kept them. Read back from the batch's raw files; returns how many."""
    written = 0
    for source in sources:
        if not source.people:
            continue
        store = paths.store
        have = {k.rsplit("/", 1)[-1].removesuffix(".parquet")
                for k in store.keys(f"_people/{source.name}/")}  # fmt: skip
        missing = [
            b
            for b in Manifest(paths, source.name).batches().values()
            if b.status == "ingested" and b.batch_id not in have
        ]
        if not missing:
            continue
        raw = store.keys(f"raw/{source.name}/")
        for batch in missing:
            files = [store.url(k) for k in raw if k.endswith(f"/{batch.batch_id}.parquet")]
            if not files:
                continue
            tmp = paths.lake / "_tmp" / source.name / batch.batch_id
            tmp.mkdir(parents=True, exist_ok=True)
            with sql.connect() as con:
                relation = f"read_parquet([{', '.join(literal(f) for f in files)}])"
                _write_people(con, paths, source, batch.batch_id, relation, tmp)
            shutil.rmtree(tmp, ignore_errors=True)
            written += 1
    return written


# Landing files written to the lake at once. Each file's work is half Python (decoding,
# splitting lines) and half DuckDB on one thread, so two files in flight keep both
# cores busy: 1.6 M Okta events in 90 files, 17 s -> 13 s.
INGEST_THREADS = 2


def _ingest_file(
    con: duckdb.DuckDBPyConnection, paths: DataPaths, source: Source, path: Path, batch: Batch
) -> Batch:
    """Write one landing file's batch to the lake (or mark it rejected, with the reason)."""
    try:
        found = read_landing_file(path, source, con)
        batch.encoding = found.encoding
        if not found.shape:
            raise LandingFileError(
                f"{batch.file}: {source.name} does not read {landing_format(path)} files"
            )
        _write_batch(con, paths, source, batch, found.shape, found.records)
    except (LandingFileError, duckdb.Error, pl.exceptions.PolarsError) as exc:
        # Content that no record-level rule can hold; the machine's own errors
        # (disk, permissions) are not the file's fault and fail the step instead.
        reason = str(exc) if isinstance(exc, LandingFileError) else f"{batch.file}: {exc}"
        batch.status, batch.reason = "rejected", reason
    finally:
        with contextlib.suppress(duckdb.Error):
            con.unregister("landing_records")
    return batch


@contextmanager
def _per_thread_connections() -> Iterator[Callable[[], duckdb.DuckDBPyConnection]]:
    """A DuckDB connection per ingest thread, each on one core, kept for all the files the
    thread writes. A new database per file cost far more than its 40 ms of opening: the
    process faulted its memory in again for every file (90 Okta files at scale 10:
    19.5 s -> 11.8 s, system time of the backfill 31 s -> 14 s)."""
    local = threading.local()
    stack = contextlib.ExitStack()

    def connection() -> duckdb.DuckDBPyConnection:
        con = getattr(local, "con", None)
        if con is None:
            con = local.con = stack.enter_context(sql.connect())
            con.execute("SET threads = 1")  # the files run side by side instead
        return con

    with stack:
        yield connection


def ingest_source(
    paths: DataPaths,
    source: Source,
    *,
    now: datetime | None = None,
    log: logging.Logger | logging.LoggerAdapter = LOG,
) -> IngestReport:
    """Ingest every landing file of `source` that the lake has not seen yet.

    Which files are new is decided first, in order (a file dropped twice in one go is a
    duplicate of the first); they are then written two at a time, and each batch's
    manifest entry is written in file order as its files are in place.
    """
    now = now or datetime.now(UTC)
    manifest = Manifest(paths, source.name)
    known = manifest.batches()
    index = manifest.file_index()
    indexed = dict(index)
    report = IngestReport(source.name)
    files, refused = scan_landing(paths, source.name)
    for rel, reason in refused:
        report.refused.append({"file": rel, "reason": reason})
        log.error(f"Landing entry {printable(rel)} {reason}.")
    todo: list[tuple[Path, Batch]] = []
    rels = [str(path.relative_to(paths.root)) for path in files]
    # Hashed side by side: hashlib lets go of the GIL on a file's blocks (1.7 GB of Okta
    # logs, 1.1 s of one core). Each file has its own entry in `index`.
    with ThreadPoolExecutor(INGEST_THREADS, thread_name_prefix="hash") as pool:
        digests = list(pool.map(lambda f: cached_digest(index, *f), zip(rels, files, strict=True)))
    for path, rel, digest in zip(files, rels, digests, strict=True):
        batch_id = digest[:16]
        if batch_id in known:
            if known[batch_id].file != rel:
                report.duplicates.append(rel)
            continue
        if landing_format(path) not in SUPPORTED:
            report.skipped.append(rel)
            log.warning(f"{printable(rel)}: skipped, not a file type productops reads ({READS})")
            continue
        batch = Batch(
            batch_id=batch_id,
            source=source.name,
            file=rel,
            sha256=digest,
            size=path.stat().st_size,
            status="ingested",
            ingested_at=now.replace(tzinfo=None).isoformat(timespec="milliseconds"),
        )
        known[batch_id] = batch
        todo.append((path, batch))
    with (
        _per_thread_connections() as connection,
        ThreadPoolExecutor(INGEST_THREADS, thread_name_prefix="ingest") as pool,
    ):
        done = pool.map(lambda job: _ingest_file(connection(), paths, source, *job), todo)
        for i, batch in enumerate(done, 1):
            if batch.status == "rejected":
                log.error(
                    f"Landing file rejected: {printable(batch.reason or '')}. The file stays "
                    "in landing; fix it and drop it again."
                )
            if batch.bad_records:
                log.warning(
                    f"{printable(batch.file)}: {batch.bad_records} of {batch.rows} records could "
                    "not be read (not a JSON object, or a row with the wrong number of fields); "
                    "they are kept in raw and will be quarantined with the reason."
                )
            manifest.record(batch)
            report.new.append(batch)
            if i % 25 == 0 or i == len(todo):
                log.info(
                    f"{source.name}: {i}/{len(todo)} new landing files, {report.rows} new records"
                )
    if index != indexed:  # rewritten only when a file was hashed (a year of entries)
        manifest.save_file_index(index)
    return report
