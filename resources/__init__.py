"""Dagster resources: the data folder, the DuckDB warehouse, the theme taxonomy."""

from resources.connectors import SourceApis
from resources.storage import DataFolder, DuckDBWarehouse
from resources.themes import ThemeTaxonomy

__all__ = ["DataFolder", "DuckDBWarehouse", "SourceApis", "ThemeTaxonomy"]
