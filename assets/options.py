"""What the asset definitions take from the deployment, passed in when they are built.

Settings come from the environment and from files (config/productops.toml,
config/themes.toml). They are read once, by `pipelines.definitions.load_options` when
Dagster builds the definitions, never when a module is imported: importing an asset
module reads nothing, and a test or a code location can build the definitions with
other options.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property

import dagster as dg

from assets.partitions import daily_partitions

# A DuckDB file has one writer at a time: every step that writes it is in this pool,
# whose limit (dagster.yaml) is 1. A DuckLake warehouse (the team profile) takes writers
# side by side, and its steps are in no pool.
DUCKDB_WAREHOUSE_POOL = "duckdb_warehouse"


@dataclass(frozen=True)
class AssetOptions:
    first_day: date  # the first daily partition: where the team's data starts
    warehouse_pool: str | None  # DUCKDB_WAREHOUSE_POOL, or None for a DuckLake warehouse
    taxonomy_version: str  # the theme taxonomy's hash: a new one marks theme marts changed

    @cached_property
    def daily(self) -> dg.DailyPartitionsDefinition:
        """The one daily partitioning every time-partitioned asset and check shares."""
        return daily_partitions(self.first_day)
