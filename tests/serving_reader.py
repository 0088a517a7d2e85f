"""A BI stand-in: queries the serving file read-only in a loop and checks each publication is whole.

Usage: python serving_reader.py PATH. It reads until its standard input is closed, prints
`seen <publication_id>` the first time it sees a publication (so a test can wait for that
event instead of a number of seconds), and last `reads=N errors=M publications=K`.
"""

import json
import sys
import threading

import duckdb


def check_publication(con: duckdb.DuckDBPyConnection) -> str:
    """The current publication's id, after checking that every table in it is whole."""
    pid, counts, kept = con.execute(
        "SELECT publication_id, row_counts, kept_from_previous FROM meta.publications "
        "ORDER BY published_at DESC LIMIT 1"
    ).fetchall()[0]
    tables = json.loads(counts)
    refreshed = [t for t in tables if t not in (kept or [])]
    for table, expected in tables.items():
        got = con.execute(f"SELECT count(*) FROM marts.{table}").fetchall()[0][0]
        if got != expected:
            raise AssertionError(f"{table}: {got} rows, publication says {expected}")
    if not refreshed:  # a publication may carry every table over as last published
        return pid
    stamps = con.execute(
        "SELECT count(DISTINCT _published_at) FROM ("
        + " UNION ALL ".join(f"SELECT _published_at FROM marts.{t}" for t in refreshed)
        + ")"
    ).fetchall()[0][0]
    if stamps > 1:  # tables carried over keep their own stamp
        raise AssertionError(f"{stamps} different _published_at in one publication")
    return pid


def main(path: str) -> None:
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    reads = errors = 0
    seen: set[str] = set()
    while not stop.is_set():
        try:
            with duckdb.connect(path, read_only=True) as con:
                pid = check_publication(con)
            reads += 1
            if pid not in seen:
                seen.add(pid)
                print(f"seen {pid}", flush=True)
        except Exception as exc:  # report, keep going: every error counts against the pipeline
            errors += 1
            print(f"error: {exc}", file=sys.stderr, flush=True)
    print(f"reads={reads} errors={errors} publications={len(seen)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
