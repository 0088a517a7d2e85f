"""The vendor APIs: a source whose variables are set is pulled from its API.

Credentials are read through Dagster's `EnvVar` when a run starts, never at import and
never into config, logs or metadata. A source without them is served by its landing
folder alone (file drops), as before.
"""

from datetime import date
from logging import Logger, LoggerAdapter
from typing import Any

import dagster as dg

from productops.connectors import apis, pull
from productops.connectors.http import ApiClient
from productops.settings import DataPaths


def _env(name: str, default: str | None = None) -> str | None:
    return dg.EnvVar(name).get_value(default) or default


class SourceApis(dg.ConfigurableResource):
    """Which sources pull from their API, and the HTTP timeout they use."""

    timeout_s: float = 30.0

    def client(self, source: str) -> ApiClient | None:
        """A client for the source's API, or None when its variables are not set."""
        kw: dict[str, Any] = {"timeout_s": self.timeout_s}
        if source == "nps" and (key := _env("DELIGHTED_API_KEY")):
            return apis.delighted_client(
                _env("DELIGHTED_BASE_URL", "https://api.delighted.com"), key, **kw
            )
        if source == "feedback":
            url, email, token = (
                _env("ZENDESK_BASE_URL"),
                _env("ZENDESK_EMAIL"),
                _env("ZENDESK_API_TOKEN"),
            )
            if url and email and token:
                return apis.zendesk_client(url, email, token, **kw)
        if source == "social" and self.social_queries():
            return apis.algolia_client(_env("HN_BASE_URL", "https://hn.algolia.com"), **kw)
        if source == "tool_usage":
            url, token = _env("OKTA_BASE_URL"), _env("OKTA_API_TOKEN")
            if url and token:
                return apis.okta_client(url, token, **kw)
        return None

    def social_queries(self) -> list[str]:
        return [q.strip() for q in (_env("SOCIAL_QUERIES") or "").split(",") if q.strip()]

    def pull(
        self, paths: DataPaths, source: str, start: date, log: Logger | LoggerAdapter
    ) -> list[pull.PullResult]:
        """Pull the source's new records into landing and raw; [] when it has no API set up."""
        client = self.client(source)
        if client is None:
            return []
        with client:
            if source == "social":
                return pull.pull_hacker_news(paths, client, start, self.social_queries(), log=log)
            return [pull.PULLERS[source](paths, client, start, log=log)]
