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
from productops.connectors import apis, appstore, bluesky, mastodon, reddit
from productops.connectors import pull as pulling
from productops.connectors.bluesky_session import SessionStore, session_file
from productops.connectors.http import ApiClient, ConnectorError
from productops.settings import DataPaths


def _env(name: str, default: str | None = None) -> str | None:
    return dg.EnvVar(name).get_value(default) or default


def _env_list(name: str) -> list[str]:
    """A comma-separated setting's non-empty items."""
    return [item.strip() for item in (_env(name) or "").split(",") if item.strip()]


def _social_queries() -> list[str]:
    """`SOCIAL_QUERIES`: the comma-separated searches every social channel runs."""
    return _env_list("SOCIAL_QUERIES")


class SourceApi(dg.ConfigurableResource):
    """What every connector resource does: build a client if configured, pull into raw."""

    base_url: str | None = None  # overrides the *_BASE_URL variable
    timeout_s: float = 30.0

    # Named in the one line a run logs when the channel is not configured (None: silent,
    # for the APIs that were optional before channels could be skipped out loud).
    settings_hint: ClassVar[str | None] = None

    def client(self) -> ApiClient | None:
        raise NotImplementedError

    def client_for(self, paths: DataPaths) -> ApiClient | None:
        """The client for a pull into `paths`: a channel that keeps state in the data
        folder (a login session) builds it here instead of in `client`."""
        return self.client()

    def pull(
        self, paths: DataPaths, start: date, log: Logger | LoggerAdapter
    ) -> list[pulling.PullResult]:
        """Pull new records into landing and raw; [] when the API is not configured."""
        client = self.client_for(paths)
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
    settings_hint: ClassVar[str | None] = "SOCIAL_QUERIES, the searches of every channel"

    def queries(self) -> list[str]:
        return _social_queries()

    def client(self) -> ApiClient | None:
        url = self.base_url or _env("HN_BASE_URL", "https://hn.algolia.com")
        return apis.algolia_client(url, timeout_s=self.timeout_s) if self.queries() else None

    def _pull(self, paths, client, start, log):
        return pulling.pull_hacker_news(
            paths, client, start, self.queries(), refresh=timedelta(days=self.refresh_days), log=log
        )


class BlueskyApi(SourceApi):
    """Bluesky post search: `BLUESKY_HANDLE`, `BLUESKY_APP_PASSWORD` (an app password),
    `BLUESKY_BASE_URL` (the PDS, default https://bsky.social), for each of `SOCIAL_QUERIES`.

    Logins are limited to 30 per 5 minutes and 300 a day, so the session is kept in the
    data folder and reused by later runs. Posts created in the last `refresh_days` are
    re-read on every pull for their counts and deletions.
    """

    refresh_days: int = 7
    settings_hint: ClassVar[str | None] = "BLUESKY_HANDLE, BLUESKY_APP_PASSWORD and SOCIAL_QUERIES"

    def client_for(self, paths: DataPaths) -> ApiClient | None:
        handle, password = _env("BLUESKY_HANDLE"), _env("BLUESKY_APP_PASSWORD")
        if not (handle and password and _social_queries()):
            return None
        url = self.base_url or _env("BLUESKY_BASE_URL", "https://bsky.social")
        store = SessionStore(session_file(paths))
        return bluesky.bluesky_client(
            url, handle, password, session_store=store, timeout_s=self.timeout_s
        )

    def _pull(self, paths, client, start, log):
        return bluesky.pull_bluesky(
            paths,
            client,
            start,
            _social_queries(),
            refresh=timedelta(days=self.refresh_days),
            log=log,
        )


class OktaApi(SourceApi):
    """SSO events from Okta's System Log: `OKTA_BASE_URL`, `OKTA_API_TOKEN`."""

    def client(self) -> ApiClient | None:
        url, token = self.base_url or _env("OKTA_BASE_URL"), _env("OKTA_API_TOKEN")
        return apis.okta_client(url, token, timeout_s=self.timeout_s) if url and token else None

    def _pull(self, paths, client, start, log):
        return [pulling.pull_okta(paths, client, start, log=log)]


class AppStoreApi(SourceApi):
    """The app's App Store customer reviews (public RSS feed): `APPSTORE_APP_ID`,
    `APPSTORE_COUNTRIES` (comma-separated storefront codes, default `us`),
    `APPSTORE_RSS_BASE_URL`.

    The feed shows only the ~500 newest reviews of a storefront: pull busy ones daily.
    The last `refresh_days` of each storefront are re-read on every pull for deletions.
    """

    settings_hint: ClassVar[str | None] = (
        "set APPSTORE_APP_ID, and APPSTORE_COUNTRIES (default us) for the storefronts"
    )
    refresh_days: int = 7

    def client(self) -> ApiClient | None:
        url = self.base_url or _env("APPSTORE_RSS_BASE_URL", "https://itunes.apple.com")
        return appstore.appstore_client(url, timeout_s=self.timeout_s) if self.app_id() else None

    @staticmethod
    def app_id() -> str | None:
        return (_env("APPSTORE_APP_ID") or "").strip() or None

    def _pull(self, paths, client, start, log):
        try:
            countries = appstore.parse_countries(_env("APPSTORE_COUNTRIES"))
        except ValueError as exc:
            raise ConnectorError(f"App Store: {exc}") from exc
        return appstore.pull_appstore(
            paths, client, start, app_id=self.app_id() or "", countries=countries,
            refresh=timedelta(days=self.refresh_days), log=log,
        )  # fmt: skip


class MastodonApi(SourceApi):
    """Public posts on one Mastodon instance: `MASTODON_BASE_URL`, `MASTODON_HASHTAGS`
    (comma-separated, without `#`), and, with `MASTODON_ACCESS_TOKEN` (a user token with
    `read:search`), a status search for each of `SOCIAL_QUERIES`.

    Hashtag timelines are public on most instances; full-text search needs the token.
    Edits, counts and deletions come from re-reading the statuses created within the
    last `refresh_days`.
    """

    refresh_days: int = 7
    settings_hint: ClassVar[str | None] = (
        "MASTODON_BASE_URL with MASTODON_HASHTAGS, or with MASTODON_ACCESS_TOKEN and SOCIAL_QUERIES"
    )

    def hashtags(self) -> list[str]:
        return [t.lstrip("#") for t in _env_list("MASTODON_HASHTAGS") if t.lstrip("#")]

    def client(self) -> ApiClient | None:
        url, token = self.base_url or _env("MASTODON_BASE_URL"), _env("MASTODON_ACCESS_TOKEN")
        if url and (self.hashtags() or (token and _social_queries())):
            return mastodon.mastodon_client(url, token, timeout_s=self.timeout_s)
        return None

    def _pull(self, paths, client, start, log):
        queries = _social_queries()
        if queries and not _env("MASTODON_ACCESS_TOKEN"):
            log.info(
                "MastodonApi: SOCIAL_QUERIES are not searched on Mastodon without "
                "MASTODON_ACCESS_TOKEN (status search needs a user token); hashtags only"
            )
            queries = []
        return mastodon.pull_mastodon(paths, client, start, self.hashtags(), queries,
                                      refresh=timedelta(days=self.refresh_days), log=log)  # fmt: skip


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
        return _social_queries()

    def subreddits(self) -> list[str]:
        return _env_list("REDDIT_SUBREDDITS")

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
    "social": ("hacker_news", "reddit", "bluesky", "mastodon", "app_store"),
    "tool_usage": ("okta",),
}
API_CLASSES = {
    "delighted": DelightedApi,
    "zendesk": ZendeskApi,
    "hacker_news": HackerNewsApi,
    "okta": OktaApi,
    "app_store": AppStoreApi,
    "mastodon": MastodonApi,
    "bluesky": BlueskyApi,
    "reddit": RedditApi,
}
