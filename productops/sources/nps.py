"""NPS: Delighted survey responses (`expand[]=person`)."""

from productops.sources.base import Rule, Source, integer

_SCORE = integer("record->>'$.score'")
# The person's country, for reading local phone numbers in their comment: the region of
# their (E.164) phone number, else a `Country` property holding an ISO code.
_REGION = "phone_region(coalesce(record->>'$.person.phone_number', record->>'$.person_properties.Country'))"
_COMMENT = (
    f"redact(strip_html(record->>'$.comment'), record->>'$.person.name', region := {_REGION})"
)

NPS = Source(
    name="nps",
    table="nps_responses",
    description="NPS survey responses from Delighted, one row per response (latest edit).",
    grain="one row per Delighted survey response",
    key="record->>'$.id'",
    created="epoch_ts(TRY_CAST(record->>'$.created_at' AS BIGINT))",
    created_value="record->>'$.created_at'",
    version="coalesce(TRY_CAST(record->>'$.updated_at' AS BIGINT), TRY_CAST(record->>'$.created_at' AS BIGINT))",
    columns=f"""
        record->>'$.id' AS response_id,
        created_at AS responded_at,
        epoch_ts(TRY_CAST(record->>'$.updated_at' AS BIGINT)) AS updated_at,
        {_SCORE} AS score,
        CASE WHEN {_SCORE} >= 9 THEN 'promoter' WHEN {_SCORE} >= 7 THEN 'passive'
             ELSE 'detractor' END AS category,
        nullif({_COMMENT}, '') AS comment,
        {_REGION} AS phone_region,
        pii_hash(coalesce(record->>'$.person.email', record->>'$.person.id', record->>'$.person'))
            AS person_key,
        nullif(trim(record->>'$.person_properties."Account ID"'), '') AS account_id,
        lower(trim(record->>'$.person_properties.Plan')) AS plan,
        upper(trim(record->>'$.person_properties.Region')) AS region,
        lower(trim(record->>'$.person_properties."Delighted Source"')) AS channel,
        lower(coalesce(record->>'$.survey_type', 'nps')) AS survey_type
    """,
    rules=(
        Rule(
            "score_missing", "score", f"{_SCORE} IS NULL", "record->>'$.score'", "is not an integer"
        ),
        Rule(
            "score_out_of_range",
            "score",
            f"{_SCORE} NOT BETWEEN 0 AND 10",
            "record->>'$.score'",
            "is outside 0-10",
        ),
        Rule(
            "not_nps",
            "survey_type",
            "lower(coalesce(record->>'$.survey_type', 'nps')) <> 'nps'",
            "record->>'$.survey_type'",
            "is not an NPS survey",
        ),
    ),
    people=("record->>'$.person.name'",),
    redactions=(
        ("comment", f"redact(record->>'$.comment', record->>'$.person.name', region := {_REGION})"),
        ("person.name", "'[name]'"),
        ("person.email", "'[email]'"),
        ("person.phone_number", "'[phone]'"),
    ),
    shapes={
        ".jsonl": "delighted_response",
        ".json": "delighted_response",
        ".parquet": "delighted_response",
    },
)
