"""Tool usage: Okta System Log `user.authentication.sso` events (the tool is the AppInstance)."""

from productops.sources.base import Rule, Source, array_text

# The target list's order is not guaranteed and the AppUser entry may be absent. Read
# into typed structs in one parse of the list's text (from_json), where reading each
# item's type as JSON took twice as long; a target that is not a list has no AppInstance.
_TARGET_TYPE = """'[{"type": "VARCHAR", "id": "VARCHAR", "displayName": "VARCHAR"}]'"""
_TARGET_TEXT = array_text("record->>'$.target'")
_TARGETS = f"TRY(from_json({_TARGET_TEXT}, {_TARGET_TYPE}))"
_APP = f"list_filter({_TARGETS}, lambda t: t.type = 'AppInstance')[1]"
_OUTCOMES = "('SUCCESS', 'FAILURE', 'ALLOW', 'DENY', 'CHALLENGE', 'SKIPPED', 'UNKNOWN')"

TOOL_USAGE = Source(
    name="tool_usage",
    table="tool_events",
    description="Single sign-on events from Okta's System Log: who opened which tool, when.",
    grain="one row per Okta System Log event",
    key="record->>'$.uuid'",
    created="TRY_CAST(record->>'$.published' AS TIMESTAMPTZ)::TIMESTAMP",
    created_value="record->>'$.published'",
    version="epoch(TRY_CAST(record->>'$.published' AS TIMESTAMPTZ))",
    columns=f"""
        record->>'$.uuid' AS event_id,
        created_at AS occurred_at,
        trim({_APP}.displayName) AS tool,
        {_APP}.id AS app_instance_id,
        pii_hash(coalesce(record->>'$.actor.alternateId', record->>'$.actor.id')) AS user_key,
        lower(record->>'$.outcome.result') AS outcome,
        record->>'$.outcome.reason' AS outcome_reason,
        record->>'$.eventType' AS event_type,
        lower(record->>'$.severity') AS severity
    """,
    rules=(
        Rule(
            "missing_tool",
            "target",
            f"nullif(trim({_APP}.displayName), '') IS NULL",
            "record->>'$.target'",
            "has no AppInstance target",
        ),
        Rule(
            "missing_actor",
            "actor.alternateId",
            "coalesce(record->>'$.actor.alternateId', record->>'$.actor.id') IS NULL",
        ),
        Rule(
            "unknown_outcome",
            "outcome.result",
            f"upper(coalesce(record->>'$.outcome.result', '?')) NOT IN {_OUTCOMES}",
            "record->>'$.outcome.result'",
            f"is not one of {_OUTCOMES}",
        ),
    ),
    people=("record->>'$.actor.displayName'",),
    redactions=(
        ("actor.alternateId", "'[email]'"),
        ("actor.displayName", "'[name]'"),
        ("client.ipAddress", "'[ip]'"),
    ),
    shapes={".jsonl": "okta_event", ".json": "okta_event", ".parquet": "okta_event"},
)
