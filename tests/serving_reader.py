"""A BI stand-in: queries the serving file read-only in a loop and checks each publication is whole.

Usage: python serving_reader.py PATH SECONDS. Prints `reads=N errors=M publications=K`.
"""

import json
import sys
import time

import duckdb


def main(path: str, seconds: float) -> None:
    reads = errors = 0
    seen: set[str] = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with duckdb.connect(path, read_only=True) as con:
                pid, counts = con.execute(
                    "SELECT publication_id, row_counts FROM meta.publications "
                    "ORDER BY published_at DESC LIMIT 1"
                ).fetchall()[0]
                for table, expected in json.loads(counts).items():
                    got = con.execute(f"SELECT count(*) FROM marts.{table}").fetchall()[0][0]
                    if got != expected:
                        raise AssertionError(f"{table}: {got} rows, publication says {expected}")
                stamps = con.execute(
                    "SELECT count(DISTINCT _published_at) FROM ("
                    + " UNION ALL ".join(
                        f"SELECT _published_at FROM marts.{t}" for t in json.loads(counts)
                    )
                    + ")"
                ).fetchall()[0][0]
                if stamps != 1:
                    raise AssertionError(f"{stamps} different _published_at in one publication")
            seen.add(pid)
            reads += 1
        except Exception as exc:  # report, keep going: every error counts against the pipeline
            errors += 1
            print(f"error: {exc}", file=sys.stderr)
    print(f"reads={reads} errors={errors} publications={len(seen)}")


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
