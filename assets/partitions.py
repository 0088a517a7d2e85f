"""The daily partitioning every time-partitioned asset shares (UTC days)."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg


def daily_partitions(first_day: date) -> dg.DailyPartitionsDefinition:
    """UTC days from `first_day`: partitions start where the team's data starts
    (`[partitions] first_day` in config/productops.toml), so that the UI shows what is
    materialised instead of years of empty days."""
    return dg.DailyPartitionsDefinition(start_date=first_day.isoformat(), timezone="UTC")


def window_dates(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
) -> tuple[date, date]:
    """First and last day (inclusive) of the partitions this run materialises or checks."""
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()
