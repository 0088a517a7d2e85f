"""Alerts: a sensor that turns each event of a newly published day into one run that
posts it to the webhook (run key = the event, so Dagster never asks twice).

A day is asked for once it is published and reported: the alert's link opens a report
that covers its day, and the report is drawn a step after the publication."""

import json
from datetime import date

import dagster as dg

from productops import alerts, report_files
from resources import DataFolder
from resources.alerts import AlertWebhook


class AlertConfig(dg.Config):
    key: str
    kind: str
    day: str
    sentence: str
    figure: float | None = None

    def alert(self) -> alerts.Alert:
        return alerts.Alert(
            self.key, self.kind, date.fromisoformat(self.day), self.sentence, self.figure
        )


@dg.op(
    description="Post one alert to the webhook, once: retries 429 and 5xx answers; an "
    "alert already posted (a re-executed run) is not posted again.",
)
def post_alert(
    context: dg.OpExecutionContext, config: AlertConfig, data: DataFolder, webhook: AlertWebhook
) -> None:
    outbox = alerts.Outbox(data.paths.root / "alerts" / "sent")
    if outbox.sent(config.key):
        context.log.info(f"Alert {config.key} was posted already; not posting it again")
        return
    url = webhook.url()
    if url is None:
        raise dg.Failure(f"${alerts.WEBHOOK_ENV} is not set: alert {config.key} not posted")
    alert = config.alert()
    link = alerts.report_link(data.paths.reports, alert, webhook.report_base_url())
    if link is None:  # a report deleted, or drawn before reports listed their window's alerts
        context.log.warning(f"No report covers {alert.day}: alert {config.key} has no link")
    alerts.post(url, alert, link)
    outbox.mark(config.key)
    context.log.info(f"Posted alert {config.key}: {alert.sentence}")


@dg.job(description="Post one alert (asked for by the alert sensor, one run per event).")
def send_alert() -> None:
    post_alert()


@dg.sensor(
    job=send_alert,
    minimum_interval_seconds=60,
    description=(
        "When a publication adds days to the serving file, finds their events (a social "
        "spike, a significant NPS drop, an emerging theme, a source turned untrusted, a "
        "renewal within 30 days with savings) and asks for one run per event, once the "
        f"report its link opens is written. Needs ${alerts.WEBHOOK_ENV}."
    ),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def alert_sensor(
    context: dg.SensorEvaluationContext, data: DataFolder, webhook: AlertWebhook
) -> dg.SensorResult | dg.SkipReason:
    if webhook.url() is None:
        return dg.SkipReason(f"${alerts.WEBHOOK_ENV} is not set")
    published = alerts.published_through(data.paths.serving)
    if published is None:
        return dg.SkipReason("Nothing published yet")
    reported = max(report_files.written(data.paths.reports), default=None)
    if reported is None:
        return dg.SkipReason(f"Published through {published}; no report written yet")
    through = min(published, reported)
    cursor = json.loads(context.cursor) if context.cursor else {}
    after = date.fromisoformat(cursor["through"]) if cursor.get("through") else None
    if after is not None and through <= after:
        waiting = f"; the report of {published} is not written yet" if published > after else ""
        return dg.SkipReason(f"No day published and reported after {after}{waiting}")
    found = alerts.detect_in(data.paths.serving, after, through)
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=a.key,
                run_config={
                    "ops": {
                        "post_alert": {
                            "config": {
                                "key": a.key,
                                "kind": a.kind,
                                "day": a.day.isoformat(),
                                "sentence": a.sentence,
                                "figure": a.figure,
                            }
                        }
                    }
                },
                tags={"productops/alert": a.kind},
            )
            for a in found
        ],
        cursor=json.dumps({"through": through.isoformat()}),
    )
