"""When things run: a daily schedule for yesterday, and a sensor for files dropped in landing."""

from datetime import UTC, datetime, timedelta

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from productops.ingest import landing_files
from productops.settings import SOURCES
from resources import DataFolder

# A dropped file usually holds recent days; re-staging the last week picks up its records.
LANDING_LOOKBACK_DAYS = 7

# Declarative automation (see pipelines/policies.py) runs only while this sensor is on.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "productops_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Evaluates the assets' automation conditions: raw at 03:00 UTC, then each "
    "layer as its inputs change, metric marts only when upstream blocking checks passed.",
)

daily_refresh = dg.define_asset_job(
    "daily_refresh",
    selection=dg.AssetSelection.all(),
    description="Every asset for one day: ingest, stage (and later validate and publish).",
)

daily_schedule = dg.build_schedule_from_partitioned_job(
    daily_refresh,
    hour_of_day=3,
    minute_of_hour=0,
    description="Materialise yesterday (UTC) at 03:00 UTC, once the vendors' day is complete.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


@dg.sensor(
    job=daily_refresh,
    minimum_interval_seconds=60,
    description=(
        "Watches data/landing/<source>/ and, when a file appears or changes, materialises "
        f"the last {LANDING_LOOKBACK_DAYS} days in one run."
    ),
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def landing_sensor(context: dg.SensorEvaluationContext, data: DataFolder) -> dg.SensorResult:
    paths = data.paths
    stamp = max(
        (f.stat().st_mtime_ns for s in SOURCES for f in landing_files(paths, s)),
        default=0,
    )
    if stamp <= int(context.cursor or 0):
        return dg.SensorResult(skip_reason="No new landing files")
    end = datetime.now(UTC).date() - timedelta(days=1)
    start = end - timedelta(days=LANDING_LOOKBACK_DAYS - 1)
    return dg.SensorResult(
        run_requests=[
            # A range is asked for through these tags (RunRequest takes no range argument).
            dg.RunRequest(
                run_key=f"landing-{stamp}",
                tags={
                    ASSET_PARTITION_RANGE_START_TAG: start.isoformat(),
                    ASSET_PARTITION_RANGE_END_TAG: end.isoformat(),
                },
            )
        ],
        cursor=str(stamp),
    )
