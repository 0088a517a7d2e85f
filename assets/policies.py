"""When each layer runs by itself, and how fresh it must be (declarative automation).

Raw ingests on a daily cron; staging follows raw; a source's metric marts follow its
staging only when its blocking checks passed; the marts that combine sources (and
data_trust), the serving publication and the report follow regardless, even while a
held source's marts are missing for the day, so that one source's failure is published
as soon as it is known and holds back only that source.
"""

from datetime import timedelta

import dagster as dg

DAILY_CRON = "0 3 * * *"  # 03:00 UTC, once the vendors' day is complete

RAW = dg.AutomationCondition.on_cron(DAILY_CRON)
FOLLOW = dg.AutomationCondition.eager()
GATED = dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
COMBINE = FOLLOW.without(~dg.AutomationCondition.any_deps_missing()).with_label(
    "eager_allow_missing"
)

# A daily pipeline: a day late is a warning, a day and a half is a failure.
FRESH_DAILY = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=36), warn_window=timedelta(hours=26)
)
