"""The code location: wires assets, resources and automation; holds no logic of its own."""

import dagster as dg

from assets.raw import RAW_ASSETS
from assets.staging import STAGING_ASSETS
from pipelines.automation import daily_refresh, daily_schedule, landing_sensor
from resources import DataFolder, DuckDBWarehouse

defs = dg.Definitions(
    assets=[*RAW_ASSETS, *STAGING_ASSETS],
    jobs=[daily_refresh],
    schedules=[daily_schedule],
    sensors=[landing_sensor],
    resources={"data": DataFolder(), "warehouse": DuckDBWarehouse()},
    executor=dg.in_process_executor,
)
