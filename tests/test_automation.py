"""The landing sensor: a new file asks for one run over the recent days, once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg

from pipelines.automation import LANDING_LOOKBACK_DAYS, landing_sensor
from resources import DataFolder


def evaluate(data: DataFolder, cursor: str | None = None) -> dg.SensorResult:
    with dg.build_sensor_context(cursor=cursor, resources={"data": data}) as ctx:
        return landing_sensor(ctx)


def test_a_dropped_file_requests_one_run_of_the_recent_days(paths) -> None:
    data = DataFolder(data_dir=str(paths.root))
    assert evaluate(data).run_requests in ([], None)

    folder = paths.landing_dir("nps")
    folder.mkdir(parents=True)
    (folder / "export.jsonl").write_text('{"id": "1"}\n')
    result = evaluate(data)
    (request,) = result.run_requests
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    rng = request.partition_key_range
    assert date.fromisoformat(rng.end) == yesterday
    assert (yesterday - date.fromisoformat(rng.start)).days == LANDING_LOOKBACK_DAYS - 1

    assert evaluate(data, cursor=result.cursor).run_requests in (
        [],
        None,
    )  # the same file: no new run
