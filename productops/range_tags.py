"""The run tags that name a run's days: a range of partitions in one run, or one partition.

Dagster documents these tag names for single-run backfills and reads them when a run
starts, but exports no public constant for them (only a private module, which an upgrade
may move): they are spelled here once, and every range run in the tests goes through them.
"""

PARTITION_TAG = "dagster/partition"  # the one day of a run for a single partition
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"
