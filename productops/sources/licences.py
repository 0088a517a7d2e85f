"""The licence inventory: seats and cost per tool, as IT keeps it (CSV)."""

from productops.sources.base import Rule, Source, integer

_SEATS = integer("replace(record->>'$.seats', ',', '')")
# An owner is a person ("Dana Whitfield") or a team ("Product Ops", "IT"). A team's name is
# not personal data and must stay readable, in the owner column and in every comment that
# mentions it; a person's is redacted everywhere. No library tells the two apart, so a
# name with one of these organisational words counts as a team.
_TEAM_WORDS = (
    "admin|analytics|business|customer|data|department|design|dev|devops|engineering|finance|"
    "group|growth|hr|infra|infrastructure|it|legal|marketing|office|operations|ops|people|"
    "platform|product|research|revenue|sales|security|services|success|support|team|tech"
)
_OWNER = "trim(record->>'$.owner')"
_PERSON_OWNER = (
    f"CASE WHEN NOT regexp_matches(lower({_OWNER}), '\\b({_TEAM_WORDS})\\b') THEN {_OWNER} END"
)
_COST = "TRY_CAST(replace(trim(record->>'$.annual_cost'), ',', '') AS DECIMAL(14, 2))"

LICENCES = Source(
    name="licences",
    table="tool_licences",
    description="The licence inventory: seats bought, annual cost and owner per tool (latest file).",
    grain="one row per tool",
    key="nullif(trim(record->>'$.tool'), '')",
    # An inventory row has no time of its own: it is as of the file that carried it.
    created="NULL::TIMESTAMP",
    created_value="NULL",
    version="epoch(ingested_at)",
    columns=f"""
        trim(record->>'$.tool') AS tool,
        {_SEATS} AS seats,
        {_COST} AS annual_cost,
        upper(trim(record->>'$.currency')) AS currency,
        redact(trim(record->>'$.owner'), NULL) AS owner,
        TRY_CAST(record->>'$.renewal_date' AS DATE) AS renewal_date,
        ingested_at AS as_of
    """,
    rules=(
        Rule(
            "seats_invalid",
            "seats",
            f"{_SEATS} IS NULL OR {_SEATS} < 0",
            "record->>'$.seats'",
            "is not a whole number of seats",
        ),
        Rule(
            "cost_invalid",
            "annual_cost",
            f"{_COST} IS NULL OR {_COST} < 0",
            "record->>'$.annual_cost'",
            "is not an amount",
        ),
        Rule(
            "currency_invalid",
            "currency",
            "NOT regexp_full_match(upper(trim(coalesce(record->>'$.currency', ''))), '[A-Z]{3}')",
            "record->>'$.currency'",
            "is not an ISO 4217 code",
        ),
    ),
    people=(_PERSON_OWNER,),
    redactions=(("owner", "redact(record->>'$.owner', NULL)"),),
    shapes={".csv": "licence_row", ".parquet": "licence_row", ".jsonl": "licence_row"},
    daily=False,
)
