"""Customer feedback: Zendesk tickets (incremental export) and the in-app widget's CSV."""

from productops.sources.base import Rule, Source, integer

# The sample Zendesk keeps the CRM account id and plan in custom ticket fields.
ACCOUNT_FIELD_ID = 360000001
PLAN_FIELD_ID = 360000002

_ZD = "shape = 'zendesk_ticket'"
_RATING = integer("record->>'$.rating'")
# Whose words these are: redacted from their own text (Zendesk requester, widget user).
_WRITER = "coalesce(record->>'$.via.source.from.name', record->>'$.user_name')"
_STATUSES = "('new', 'open', 'pending', 'hold', 'solved', 'closed', 'deleted')"


def _custom_field(field_id: int) -> str:
    return (
        "json_extract_string(list_filter(json_extract(record, '$.custom_fields[*]'), "
        f"lambda f: (f->>'$.id') = '{field_id}')[1], '$.value')"
    )


FEEDBACK = Source(
    name="feedback",
    table="feedback",
    description="Customer feedback: Zendesk tickets and in-app widget submissions, latest state.",
    grain="one row per Zendesk ticket or widget submission",
    key=f"""CASE WHEN {_ZD} THEN 'zendesk:' || (record->>'$.id')
                 ELSE 'widget:' || nullif(trim(record->>'$.feedback_id'), '') END""",
    created=f"""CASE WHEN {_ZD} THEN TRY_CAST(record->>'$.created_at' AS TIMESTAMPTZ)::TIMESTAMP
                     ELSE TRY_CAST(record->>'$.submitted_at' AS TIMESTAMP) END""",
    created_value="coalesce(record->>'$.created_at', record->>'$.submitted_at')",
    version=f"""CASE WHEN {_ZD}
                  THEN epoch(TRY_CAST(record->>'$.updated_at' AS TIMESTAMPTZ)) * 1e6
                       + coalesce(TRY_CAST(record->>'$.generated_timestamp' AS DOUBLE), 0) / 1e4
                  ELSE epoch(TRY_CAST(record->>'$.submitted_at' AS TIMESTAMP)) * 1e6 END""",
    columns=f"""
        record_key AS feedback_id,
        CASE WHEN {_ZD} THEN 'zendesk' ELSE 'widget' END AS origin,
        created_at,
        CASE WHEN {_ZD} THEN TRY_CAST(record->>'$.updated_at' AS TIMESTAMPTZ)::TIMESTAMP
             ELSE created_at END AS updated_at,
        CASE WHEN {_ZD} THEN lower(record->>'$.status') ELSE 'new' END AS status,
        lower(record->>'$.priority') AS priority,
        lower(record->>'$.type') AS ticket_type,
        CASE WHEN {_ZD} THEN lower(record->>'$.via.channel') ELSE 'in_app' END AS channel,
        nullif(redact(strip_html(record->>'$.subject'), {_WRITER}), '')
            AS subject,
        nullif(redact(strip_html(CASE WHEN {_ZD} THEN record->>'$.description'
                                      ELSE record->>'$.message' END),
                      {_WRITER}), '') AS body,
        CASE WHEN {_ZD} THEN CAST(json_extract_string(record, '$.tags[*]') AS VARCHAR[])
             ELSE []::VARCHAR[] END AS tags,
        pii_hash(CASE WHEN {_ZD} THEN coalesce(record->>'$.via.source.from.address',
                                               record->>'$.requester_id')
                      ELSE record->>'$.user_email' END) AS requester_key,
        nullif(trim(CASE WHEN {_ZD} THEN {_custom_field(ACCOUNT_FIELD_ID)}
                         ELSE record->>'$.account_id' END), '') AS account_id,
        lower(trim(CASE WHEN {_ZD} THEN {_custom_field(PLAN_FIELD_ID)}
                        ELSE record->>'$.plan' END)) AS plan,
        CASE WHEN {_ZD} THEN NULL ELSE {_RATING} END AS rating,
        lower(record->>'$.satisfaction_rating.score') AS satisfaction,
        coalesce(lower(record->>'$.status') = 'deleted', false) AS is_deleted
    """,
    rules=(
        Rule(
            "unknown_status",
            "status",
            f"{_ZD} AND lower(coalesce(record->>'$.status', '?')) NOT IN {_STATUSES}",
            "record->>'$.status'",
            f"is not one of {_STATUSES}",
        ),
        Rule(
            "rating_out_of_range",
            "rating",
            f"NOT {_ZD} AND {_RATING} IS DISTINCT FROM NULL AND {_RATING} NOT BETWEEN 1 AND 5",
            "record->>'$.rating'",
            "is outside 1-5",
        ),
        Rule(
            "rating_invalid",
            "rating",
            f"NOT {_ZD} AND {_RATING} IS NULL AND nullif(trim(record->>'$.rating'), '') IS NOT NULL",
            "record->>'$.rating'",
            "is not an integer",
        ),
    ),
    people=("record->>'$.via.source.from.name'", "record->>'$.user_name'"),
    redactions=(
        *(
            (f, f"redact(record->>'$.{f}', {_WRITER})")
            for f in ("subject", "raw_subject", "description", "message")
        ),
        ("via.source.from.name", "'[name]'"),
        ("via.source.from.address", "'[email]'"),
        ("user_name", "'[name]'"),
        ("user_email", "'[email]'"),
    ),
    shapes={
        ".jsonl": "zendesk_ticket",
        ".json": "zendesk_ticket",
        ".parquet": "zendesk_ticket",
        ".csv": "widget_feedback",
    },
    shape_by_column={"feedback_id": "widget_feedback"},
)
