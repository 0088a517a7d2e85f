"""Assets by layer: raw (the Parquet lake), staging (DuckDB), marts and serving.

Two Dagster APIs used here on purpose are marked beta/preview: `backfill_policy`
(one run for a range of days) and `partitions_def` on asset checks (a check result per
day). Their warnings say nothing a user can act on, so they are silenced here, before
any asset is defined, and only for those two.
"""

import warnings

import dagster as dg

warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")
warnings.filterwarnings("ignore", category=dg.PreviewWarning, message=".*partitions_def.*")
