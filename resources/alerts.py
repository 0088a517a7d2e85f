"""The alert webhook (Slack's incoming-webhook JSON, or anything that takes it)."""

import dagster as dg

from productops.alerts import REPORT_URL_ENV, WEBHOOK_ENV


class AlertWebhook(dg.ConfigurableResource):
    """Where alerts go: `$PRODUCTOPS_ALERT_WEBHOOK_URL`, read through `EnvVar` when used,
    never stored in config, logs or metadata. Unset: no alerts are sent."""

    def url(self) -> str | None:
        return dg.EnvVar(WEBHOOK_ENV).get_value(None) or None

    def report_base_url(self) -> str | None:
        """Where data/reports/ is served, for the alerts' links: `$PRODUCTOPS_REPORT_BASE_URL`,
        read like the webhook's URL (when used, through `EnvVar`). Unset: file:// links."""
        return dg.EnvVar(REPORT_URL_ENV).get_value(None) or None
