"""Any bytes in: a rejected file with its reason, or every record staged or quarantined with
a reason. Never an exception, never a record lost."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from productops.ingest import ingest_source
from productops.settings import DataPaths
from productops.sources import SOURCES
from productops.staging import build_staging, reconcile
from tests.helpers import warehouse

DAY = date(2026, 3, 2)
ARRIVED = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
SUFFIXES = [".jsonl", ".json", ".csv"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# Records that look like the vendors' (right keys, any values) and plain noise.
vendorish = st.fixed_dictionaries(
    {"id": json_values, "score": json_values, "created_at": json_values, "comment": json_values}
)
contents = st.one_of(
    st.binary(max_size=2048),
    st.lists(vendorish | json_values, max_size=8).map(
        lambda rs: "\n".join(json.dumps(r) for r in rs).encode()
    ),
    st.lists(st.lists(st.text(max_size=12), max_size=5), max_size=6).map(
        lambda rows: "\n".join(",".join(r) for r in [["id", "score", "created_at"], *rows]).encode()
    ),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    content=contents, suffix=st.sampled_from(SUFFIXES), source=st.sampled_from(["nps", "feedback"])
)
def test_any_file_ends_rejected_or_fully_accounted_for(
    content: bytes, suffix: str, source: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = DataPaths(Path(tmp) / "data")
        folder = paths.landing_dir(source)
        folder.mkdir(parents=True)
        (folder / f"drop{suffix}").write_bytes(content)
        report = ingest_source(paths, SOURCES[source], now=ARRIVED)
        (batch,) = report.new
        if batch.status == "rejected":
            assert batch.reason and "drop" in batch.reason
            return
        con = warehouse(paths)
        try:
            build_staging(con, paths, SOURCES[source], DAY, DAY)
            assert reconcile(con, paths, SOURCES[source]).ok
            reasons = con.execute(f"SELECT reason FROM quarantine.{source}").fetchall()
            assert all(r and f"landing/{source}/drop{suffix} record " in r for (r,) in reasons)
        finally:
            con.close()
