"""The code location: wires assets, resources and automation; holds no logic of its own."""

import os

import dagster as dg

from assets.checks import MART_CHECKS, STAGING_CHECKS
from assets.marts import MART_ASSETS
from assets.raw import RAW_ASSETS
from assets.serving import SERVING_ASSETS
from assets.staging import STAGING_ASSETS
from pipelines.alerts import alert_sensor, send_alert
from pipelines.automation import automation_sensor, daily_refresh, daily_schedule, landing_sensor
from resources import API_CLASSES, DataFolder, DuckDBWarehouse, ThemeTaxonomy
from resources.alerts import AlertWebhook

EXECUTOR_ENV = "PRODUCTOPS_EXECUTOR"


def executor() -> dg.ExecutorDefinition:
    """How a launched run executes its steps: in its own process by default (for these
    small steps on 2 cores, a process per step costs more than it gives), or
    `PRODUCTOPS_EXECUTOR=multiprocess` on a large machine, a process per step, as many
    at once as it has cores. `productops run` without `--submit` always runs in-process."""
    name = os.environ.get(EXECUTOR_ENV) or "in_process"
    if name == "multiprocess":
        # A forkserver that has imported this code location forks each step's process,
        # where the default start method spawns a fresh interpreter that imports Dagster
        # and every library again (seconds of CPU per step).
        return dg.multiprocess_executor.configured({"start_method": {"forkserver": {}}})
    if name != "in_process":
        raise ValueError(f"${EXECUTOR_ENV} = {name!r}: use in_process or multiprocess")
    return dg.in_process_executor


defs = dg.Definitions(
    assets=[*RAW_ASSETS, *STAGING_ASSETS, *MART_ASSETS, *SERVING_ASSETS],
    asset_checks=[*STAGING_CHECKS, *MART_CHECKS],
    jobs=[daily_refresh, send_alert],
    schedules=[daily_schedule],
    sensors=[landing_sensor, automation_sensor, alert_sensor],
    resources={
        "data": DataFolder(),
        "warehouse": DuckDBWarehouse(),
        "themes": ThemeTaxonomy(),
        "webhook": AlertWebhook(),
        **{key: api() for key, api in API_CLASSES.items()},
    },
    executor=executor(),
)
