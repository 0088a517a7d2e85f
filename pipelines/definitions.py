"""The code location: wires assets, resources and automation; holds no logic of its own.

Nothing is read when this module is imported. Dagster calls `defs` (`@dg.definitions`)
when it loads the code location; `load_options` then reads the settings, once, and the
definitions are built from them. `current_definitions()` is the same, for the CLI and
the tests.
"""

import functools
import os

import dagster as dg

from assets.checks import all_staging_checks, mart_checks
from assets.marts import mart_assets
from assets.options import DUCKDB_WAREHOUSE_POOL, AssetOptions
from assets.raw import raw_assets
from assets.serving import serving_assets
from assets.staging import staging_assets
from pipelines.alerts import alert_sensor, send_alert
from pipelines.automation import (
    automation_sensor,
    build_landing_sensor,
    daily_refresh,
    daily_schedule,
)
from productops.lakehouse import Lakehouse
from productops.settings import first_day
from productops.themes import load_taxonomy
from resources import API_CLASSES, DataFolder, DuckDBWarehouse, ThemeTaxonomy
from resources.alerts import AlertWebhook

EXECUTOR_ENV = "PRODUCTOPS_EXECUTOR"


def load_options() -> AssetOptions:
    """The settings the asset definitions depend on: the first day of the partitions
    (config/productops.toml), whether the warehouse is a DuckDB file (one writer: a pool)
    or DuckLake, and the theme taxonomy's version (config/themes.toml)."""
    return AssetOptions(
        first_day=first_day(),
        warehouse_pool=None if Lakehouse.from_env() else DUCKDB_WAREHOUSE_POOL,
        taxonomy_version=load_taxonomy().version,
    )


def executor(name: str) -> dg.ExecutorDefinition:
    """How a launched run executes its steps: in its own process by default (for these
    small steps on 2 cores, a process per step costs more than it gives), or
    `PRODUCTOPS_EXECUTOR=multiprocess` on a large machine, a process per step, as many
    at once as it has cores. `productops run` without `--submit` always runs in-process."""
    if name == "multiprocess":
        # A forkserver that has imported this code location forks each step's process,
        # where the default start method spawns a fresh interpreter that imports Dagster
        # and every library again (seconds of CPU per step).
        return dg.multiprocess_executor.configured({"start_method": {"forkserver": {}}})
    if name != "in_process":
        raise ValueError(f"${EXECUTOR_ENV} = {name!r}: use in_process or multiprocess")
    return dg.in_process_executor


@functools.cache
def build_definitions(options: AssetOptions, executor_name: str) -> dg.Definitions:
    """The definitions for these settings (built once per process for each)."""
    return dg.Definitions(
        assets=[
            *raw_assets(options),
            *staging_assets(options),
            *mart_assets(options),
            *serving_assets(options),
        ],
        asset_checks=[*all_staging_checks(options), *mart_checks(options)],
        jobs=[daily_refresh, send_alert],
        schedules=[daily_schedule],
        sensors=[build_landing_sensor(options.daily), automation_sensor, alert_sensor],
        resources={
            "data": DataFolder(),
            "warehouse": DuckDBWarehouse(),
            "themes": ThemeTaxonomy(),
            "webhook": AlertWebhook(),
            **{key: api() for key, api in API_CLASSES.items()},
        },
        executor=executor(name=executor_name),
    )


def current_definitions() -> dg.Definitions:
    """The definitions for the settings in force now (environment and config files)."""
    return build_definitions(load_options(), os.environ.get(EXECUTOR_ENV) or "in_process")


@dg.definitions
def defs() -> dg.Definitions:
    return current_definitions()
