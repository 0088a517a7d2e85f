"""The one daily partitioning every time-partitioned asset shares (UTC days)."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from productops.settings import first_day

# Partitions start where the team's data starts (config/productops.toml), so that the UI
# shows what is materialised instead of years of empty days.
DAILY = dg.DailyPartitionsDefinition(start_date=first_day().isoformat(), timezone="UTC")


def window_dates(context: dg.AssetExecutionContext) -> tuple[date, date]:
    """First and last day (inclusive) of the partitions this run materialises."""
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()
