"""Dagster resources: the data folder, the DuckDB warehouse (and, later, source clients)."""

from resources.storage import DataFolder, DuckDBWarehouse

__all__ = ["DataFolder", "DuckDBWarehouse"]
