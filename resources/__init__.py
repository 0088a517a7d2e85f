"""Dagster resources: the data folder, the DuckDB warehouse, the theme taxonomy."""

from resources.connectors import (
    API_CLASSES,
    API_RESOURCES,
    DelightedApi,
    HackerNewsApi,
    OktaApi,
    SourceApi,
    ZendeskApi,
)
from resources.storage import DataFolder, DuckDBWarehouse
from resources.themes import ThemeTaxonomy

__all__ = [
    "API_CLASSES",
    "API_RESOURCES",
    "DataFolder",
    "DelightedApi",
    "DuckDBWarehouse",
    "HackerNewsApi",
    "OktaApi",
    "SourceApi",
    "ThemeTaxonomy",
    "ZendeskApi",
]
