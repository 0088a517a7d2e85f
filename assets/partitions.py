"""The daily partitioning every time-partitioned asset shares (UTC days)."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from productops.range_tags import (
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    PARTITION_TAG,
)


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


def run_days(
    context: dg.AssetExecutionContext, daily: dg.DailyPartitionsDefinition
) -> tuple[date, date]:
    """The days a run covers, for an asset without partitions that runs beside the
    partitioned ones (raw): the run's partition range or day from its tags, or, for a run
    that asked for no days (raw on its own schedule), the newest day."""
    tags = context.run.tags
    first = tags.get(PARTITION_RANGE_START_TAG) or tags.get(PARTITION_TAG)
    last = tags.get(PARTITION_RANGE_END_TAG) or tags.get(PARTITION_TAG)
    if first and last:
        return date.fromisoformat(first), date.fromisoformat(last)
    newest = date.fromisoformat(daily.get_last_partition_key() or daily.start.date().isoformat())
    return newest, newest
