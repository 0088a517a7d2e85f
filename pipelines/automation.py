"""When things run: a daily schedule for yesterday, and a sensor for files dropped in landing."""

import hashlib
import json
from datetime import UTC, date, datetime

import dagster as dg

from productops import ledger
from productops.ingest import LandingFileError, Manifest, cached_digest, file_days, landing_files
from productops.range_tags import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from productops.sources import SOURCES
from resources import DataFolder

# The one mechanism that runs the daily pipeline, on by default: declarative automation
# (assets/policies.py) evaluates while this sensor runs, i.e. while the daemon is up.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "productops_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
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
    description="Materialise yesterday (UTC) at 03:00 UTC. Off: the automation sensor already "
    "runs the daily pipeline; turn this on only instead of it, never with it.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


def build_landing_sensor(daily: dg.DailyPartitionsDefinition) -> dg.SensorDefinition:
    """The landing sensor, asking for days within `daily` (a day outside it is moved to
    its nearest end)."""

    @dg.sensor(
        job=daily_refresh,
        minimum_interval_seconds=60,
        description=(
            "Watches data/landing/<source>/ and, when a file with new content appears (by its "
            "SHA-256, whatever its name or modification time), materialises exactly the days "
            "its records touch."
        ),
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def landing_sensor(context: dg.SensorEvaluationContext, data: DataFolder) -> dg.SensorResult:
        paths = data.paths
        now = datetime.now(UTC)
        # The cursor holds the files already asked for and not yet ingested, by content.
        asked: set[str] = (
            set(json.loads(context.cursor)) if (context.cursor or "").startswith("[") else set()
        )
        new_days: dict[str, list[date]] = {}
        still_pending: set[str] = set()
        for source in SOURCES.values():
            manifest = Manifest(paths, source.name)
            known, index = manifest.batches(), manifest.file_index()
            for path in landing_files(paths, source.name):
                rel = str(path.relative_to(paths.root))
                batch_id = cached_digest(index, rel, path)[:16]
                if batch_id in known:
                    continue
                if batch_id in asked:
                    still_pending.add(batch_id)
                    continue
                try:
                    new_days[batch_id] = file_days(path, source, now)
                except LandingFileError:
                    new_days[batch_id] = []  # the run reports it; any day will do
        if not new_days:
            return dg.SensorResult(
                skip_reason="No new landing files", cursor=json.dumps(sorted(still_pending))
            )
        last = daily.get_last_partition_key()
        first = daily.get_first_partition_key()
        days = {min(max(d.isoformat(), first), last) for ds in new_days.values() for d in ds} or {
            last
        }
        ranges = ledger.day_ranges(date.fromisoformat(d) for d in days)
        batches = ",".join(sorted(new_days))
        return dg.SensorResult(
            run_requests=[
                # A range is asked for through these tags (RunRequest takes no range argument).
                dg.RunRequest(
                    run_key=f"landing-{hashlib.sha256(batches.encode()).hexdigest()[:16]}-{a}-{b}",
                    tags={
                        PARTITION_RANGE_START_TAG: a.isoformat(),
                        PARTITION_RANGE_END_TAG: b.isoformat(),
                    },
                )
                for a, b in ranges
            ],
            cursor=json.dumps(sorted(still_pending | set(new_days))),
        )

    return landing_sensor
