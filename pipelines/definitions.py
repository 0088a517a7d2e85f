"""The code location: wires assets, resources and automation; holds no logic of its own."""

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
    executor=dg.in_process_executor,
)
