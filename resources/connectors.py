"""One typed resource per vendor API. A source whose variables are set is pulled from its API.

Credentials are read through Dagster's `EnvVar` when a run starts, never at import and
never into config, logs or metadata; a source without them is served by its landing
folder alone (file drops), as before. `base_url` and `timeout_s` may be set in config.
"""

from datetime import date, timedelta
from logging import Logger, LoggerAdapter
from typing import ClassVar

import dagster as dg

from productops import __version__
from productops.connectors import apis, reddit
from productops.connectors import pull as pulling
from productops.connectors.http import ApiClient
from productops.settings import DataPaths


def _env(name: str, default: str | None = None) -> str | None:
    return dg.EnvVar(name).get_value(default) or default


class SourceApi(dg.ConfigurableResource):
    """What every connector resource does: build a client if configured, pull into raw."""

    base_url: str | None = None  # overrides the *_BASE_URL variable
    timeout_s: float = 30.0

    # Named in the one line a run logs when the channel is not configured (None: silent,
    # for the APIs that were optional before channels could be skipped out loud).
    settings_hint: ClassVar[str | None] = None

    def client(self) -> ApiClient | None:
        raise NotImplementedError

    def pull(
        self, paths: DataPaths, start: date, log: Logger | LoggerAdapter
    ) -> list[pulling.PullResult]:
        """Pull new records into landing and raw; [] when the API is not configured."""
        client = self.client()
        if client is None:
            if self.settings_hint:
                log.info(
                    f"{type(self).__name__}: not configured ({self.settings_hint}); "
                    "skipped, its landing folder's file drops are still read"
                )
            return []
        with client:
            return self._pull(paths, client, start, log)

    def _pull(
        self, paths: DataPaths, client: ApiClient, start: date, log
    ) -> list[pulling.PullResult]:
        raise NotImplementedError


class DelightedApi(SourceApi):
    """NPS from Delighted: `DELIGHTED_API_KEY`, `DELIGHTED_BASE_URL`."""

    def client(self) -> ApiClient | None:
        key = _env("DELIGHTED_API_KEY")
        url = self.base_url or _env("DELIGHTED_BASE_URL", "https://api.delighted.com")
        return apis.delighted_client(url, key, timeout_s=self.timeout_s) if key else None

    def _pull(self, paths, client, start, log):
        return [pulling.pull_delighted(paths, client, start, log=log)]


class ZendeskApi(SourceApi):
    """Tickets from Zendesk: `ZENDESK_BASE_URL`, `ZENDESK_EMAIL`, `ZENDESK_API_TOKEN`."""

    def client(self) -> ApiClient | None:
        url = self.base_url or _env("ZENDESK_BASE_URL")
        email, token = _env("ZENDESK_EMAIL"), _env("ZENDESK_API_TOKEN")
        if url and email and token:
            return apis.zendesk_client(url, email, token, timeout_s=self.timeout_s)
        return None

    def _pull(self, paths, client, start, log):
        return [pulling.pull_zendesk(paths, client, start, log=log)]


class HackerNewsApi(SourceApi):
    """Hacker News via Algolia: `SOCIAL_QUERIES` (comma-separated), `HN_BASE_URL`.

    Algolia filters on creation time only, so points and comment counts of older items
    are refreshed by re-reading the last `refresh_days` of hits on every pull.
    """

    refresh_days: int = 30

    def queries(self) -> list[str]:
        return [q.strip() for q in (_env("SOCIAL_QUERIES") or "").split(",") if q.strip()]

    def client(self) -> ApiClient | None:
        url = self.base_url or _env("HN_BASE_URL", "https://hn.algolia.com")
        return apis.algolia_client(url, timeout_s=self.timeout_s) if self.queries() else None

    def _pull(self, paths, client, start, log):
        return pulling.pull_hacker_news(
            paths, client, start, self.queries(), refresh=timedelta(days=self.refresh_days), log=log
        )


class OktaApi(SourceApi):
    """SSO events from Okta's System Log: `OKTA_BASE_URL`, `OKTA_API_TOKEN`."""

    def client(self) -> ApiClient | None:
        url, token = self.base_url or _env("OKTA_BASE_URL"), _env("OKTA_API_TOKEN")
        return apis.okta_client(url, token, timeout_s=self.timeout_s) if url and token else None

    def _pull(self, paths, client, start, log):
        return [pulling.pull_okta(paths, client, start, log=log)]


def _listed(name: str) -> list[str]:
    """A comma-separated setting's items."""
    return [item.strip() for item in (_env(name) or "").split(",") if item.strip()]


class RedditApi(SourceApi):
    """Reddit posts and comments: each of `SOCIAL_QUERIES` searched site-wide (posts; Reddit
    does not search comments), and the newest posts and comments of `REDDIT_SUBREDDITS`.
    App-only OAuth with `REDDIT_CLIENT_ID` and `REDDIT_CLIENT_SECRET`; `REDDIT_USER_AGENT`
    names the app to Reddit; `REDDIT_BASE_URL` and `REDDIT_AUTH_URL` (the token's host).

    Listings never move an edited or removed item, so the items of the last
    `refresh_days` are re-read by fullname on every pull; each walk reads `overlap_hours`
    past the newest item of the last one, for items indexed late.
    """

    auth_url: str | None = None  # overrides REDDIT_AUTH_URL
    refresh_days: int = 7
    overlap_hours: float = 3.0

    settings_hint: ClassVar[str | None] = (
        "REDDIT_CLIENT_ID, REDDIT_CLIENT_SECRET, and SOCIAL_QUERIES or REDDIT_SUBREDDITS"
    )

    def queries(self) -> list[str]:
        return _listed("SOCIAL_QUERIES")

    def subreddits(self) -> list[str]:
        return _listed("REDDIT_SUBREDDITS")

    def client(self) -> ApiClient | None:
        client_id, secret = _env("REDDIT_CLIENT_ID"), _env("REDDIT_CLIENT_SECRET")
        if not (client_id and secret and (self.queries() or self.subreddits())):
            return None
        return reddit.reddit_client(
            self.base_url or _env("REDDIT_BASE_URL", "https://oauth.reddit.com"),
            self.auth_url or _env("REDDIT_AUTH_URL", "https://www.reddit.com"),
            client_id,
            secret,
            _env("REDDIT_USER_AGENT") or f"linux:productops:{__version__}",
            timeout_s=self.timeout_s,
        )

    def _pull(self, paths, client, start, log):
        if not _env("REDDIT_USER_AGENT"):
            log.warning(
                f"RedditApi: REDDIT_USER_AGENT is not set, so the generic "
                f"'linux:productops:{__version__}' is sent, which Reddit throttles hard; "
                f"set it to e.g. 'linux:productops:{__version__} (by /u/yourname)'"
            )
        return reddit.pull_reddit(
            paths, client, start, self.queries(), self.subreddits(),
            refresh=timedelta(days=self.refresh_days), overlap=timedelta(hours=self.overlap_hours),
            log=log,
        )  # fmt: skip


# The resource keys each source's raw asset asks for, pulled in this order.
API_RESOURCES: dict[str, tuple[str, ...]] = {
    "nps": ("delighted",),
    "feedback": ("zendesk",),
    "social": ("hacker_news", "reddit"),
    "tool_usage": ("okta",),
}
API_CLASSES = {
    "delighted": DelightedApi,
    "zendesk": ZendeskApi,
    "hacker_news": HackerNewsApi,
    "okta": OktaApi,
    "reddit": RedditApi,
}
