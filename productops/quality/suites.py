"""The expectation suite of every staging table, kept as code in one place per source.

Each suite names what the staging table must look like (columns and types), which
fields every vendor record must carry, the key, the timestamp, the free-text columns
that must hold no personal data, and the value rules (GX expectations in families).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from productops.quality.gx import Expectation
from productops.sources import SOURCES, Source
from productops.sources.social import CHANNEL_NAMES, ITEM_TYPES

PROVENANCE = (
    ("date", "DATE"),
    ("_batch_id", "VARCHAR"),
    ("_file", "VARCHAR"),
    ("_record_no", "BIGINT"),
)


@dataclass(frozen=True)
class TableSuite:
    source: Source
    key: str
    columns: tuple[tuple[str, str], ...]  # the staging table's columns and DuckDB types
    required_fields: dict[str, tuple[str, ...]]  # vendor record shape -> fields it must carry
    timestamp: str | None = None
    text_columns: tuple[str, ...] = ()
    region_column: str | None = None  # the record's country, for its local phone numbers
    values: tuple[Expectation, ...] = field(default_factory=tuple)

    @property
    def table(self) -> str:
        return f"staging.{self.source.table}"


def between(column: str, low: float, high: float, family: str = "values_valid") -> Expectation:
    return Expectation(
        family,
        lambda e: e.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high),
        f"{column} between {low:g} and {high:g}",
        column,
    )


def in_set(column: str, values: tuple, family: str = "values_valid", what: str = "") -> Expectation:
    return Expectation(
        family,
        lambda e: e.ExpectColumnValuesToBeInSet(column=column, value_set=list(values)),
        what or f"{column} in {{{', '.join(map(str, values))}}}",
        column,
    )


def _not_null(column: str, family: str = "values_valid") -> Expectation:
    return Expectation(
        family,
        lambda e: e.ExpectColumnValuesToNotBeNull(column=column),
        f"{column} not null",
        column,
    )


SUITES: dict[str, TableSuite] = {
    "nps": TableSuite(
        SOURCES["nps"],
        key="response_id",
        columns=(
            ("response_id", "VARCHAR"),
            ("responded_at", "TIMESTAMP"),
            ("updated_at", "TIMESTAMP"),
            ("score", "INTEGER"),
            ("category", "VARCHAR"),
            ("comment", "VARCHAR"),
            ("phone_region", "VARCHAR"),
            ("person_key", "VARCHAR"),
            ("account_id", "VARCHAR"),
            ("plan", "VARCHAR"),
            ("region", "VARCHAR"),
            ("channel", "VARCHAR"),
            ("survey_type", "VARCHAR"),
            *PROVENANCE,
        ),
        required_fields={
            "delighted_response": ("id", "score", "created_at", "person", "person_properties")
        },
        timestamp="responded_at",
        text_columns=("comment",),
        region_column="phone_region",
        values=(
            between("score", 0, 10),
            in_set("category", ("promoter", "passive", "detractor")),
            in_set("survey_type", ("nps",)),
        ),
    ),
    "feedback": TableSuite(
        SOURCES["feedback"],
        key="feedback_id",
        columns=(
            ("feedback_id", "VARCHAR"),
            ("origin", "VARCHAR"),
            ("created_at", "TIMESTAMP"),
            ("updated_at", "TIMESTAMP"),
            ("status", "VARCHAR"),
            ("priority", "VARCHAR"),
            ("ticket_type", "VARCHAR"),
            ("channel", "VARCHAR"),
            ("subject", "VARCHAR"),
            ("body", "VARCHAR"),
            ("tags", "VARCHAR[]"),
            ("requester_key", "VARCHAR"),
            ("account_id", "VARCHAR"),
            ("plan", "VARCHAR"),
            ("rating", "INTEGER"),
            ("satisfaction", "VARCHAR"),
            ("is_deleted", "BOOLEAN"),
            *PROVENANCE,
        ),
        required_fields={
            "zendesk_ticket": (
                "id",
                "created_at",
                "updated_at",
                "status",
                "subject",
                "description",
                "via",
            ),
            "widget_feedback": ("feedback_id", "submitted_at", "account_id", "rating", "message"),
        },
        timestamp="created_at",
        text_columns=("subject", "body"),
        values=(
            in_set("origin", ("zendesk", "widget")),
            in_set("status", ("new", "open", "pending", "hold", "solved", "closed", "deleted")),
            between("rating", 1, 5),
        ),
    ),
    "social": TableSuite(
        SOURCES["social"],
        key="mention_id",
        columns=(
            ("mention_id", "VARCHAR"),
            ("platform", "VARCHAR"),
            ("item_type", "VARCHAR"),
            ("created_at", "TIMESTAMP"),
            ("updated_at", "TIMESTAMP"),
            ("author_key", "VARCHAR"),
            ("title", "VARCHAR"),
            ("text", "VARCHAR"),
            ("url", "VARCHAR"),
            ("points", "INTEGER"),
            ("num_comments", "INTEGER"),
            ("story_id", "BIGINT"),
            ("parent_id", "BIGINT"),
            ("rating", "INTEGER"),
            ("storefront", "VARCHAR"),
            ("is_deleted", "BOOLEAN"),
            *PROVENANCE,
        ),
        required_fields={
            "hn_hit": ("objectID", "author", "created_at", "_tags"),
            "reddit_thing": ("kind", "data"),
            "bluesky_post": ("uri", "cid", "author", "record", "indexedAt"),
            "mastodon_status": ("id", "uri", "created_at", "content", "account"),
            "appstore_review": ("id", "im:rating", "content", "updated", "author"),
            "tombstone": ("productops_tombstone",),
        },
        timestamp="created_at",
        text_columns=("title", "text"),
        values=(
            in_set("platform", CHANNEL_NAMES),
            in_set("item_type", ITEM_TYPES),
            between("points", 0, 100_000_000),
            between("rating", 1, 5),
        ),
    ),
    "tool_usage": TableSuite(
        SOURCES["tool_usage"],
        key="event_id",
        columns=(
            ("event_id", "VARCHAR"),
            ("occurred_at", "TIMESTAMP"),
            ("tool", "VARCHAR"),
            ("app_instance_id", "VARCHAR"),
            ("user_key", "VARCHAR"),
            ("outcome", "VARCHAR"),
            ("outcome_reason", "VARCHAR"),
            ("event_type", "VARCHAR"),
            ("severity", "VARCHAR"),
            *PROVENANCE,
        ),
        required_fields={
            "okta_event": ("uuid", "published", "eventType", "actor", "outcome", "target")
        },
        timestamp="occurred_at",
        text_columns=("tool",),
        values=(
            in_set("event_type", ("user.authentication.sso",)),
            in_set(
                "outcome",
                ("success", "failure", "allow", "deny", "challenge", "skipped", "unknown"),
            ),
            _not_null("tool"),
            _not_null("user_key"),
        ),
    ),
    "licences": TableSuite(
        SOURCES["licences"],
        key="tool",
        columns=(
            ("tool", "VARCHAR"),
            ("seats", "INTEGER"),
            ("annual_cost", "DECIMAL(14,2)"),
            ("currency", "VARCHAR"),
            ("owner", "VARCHAR"),
            ("renewal_date", "DATE"),
            ("as_of", "TIMESTAMP"),
            PROVENANCE[0],
            ("_key", "VARCHAR"),  # an inventory's key: see staging._inventory_rows
            *PROVENANCE[1:],
        ),
        required_fields={"licence_row": ("tool", "seats", "annual_cost", "currency", "owner")},
        text_columns=("owner",),
        values=(
            between("seats", 0, 1_000_000),
            Expectation(
                "values_valid",
                lambda e: e.ExpectColumnValuesToMatchRegex(column="currency", regex=r"^[A-Z]{3}$"),
                "currency an ISO 4217 code",
                "currency",
            ),
        ),
    ),
}
