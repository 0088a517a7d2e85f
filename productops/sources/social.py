"""Social mentions: Hacker News stories and comments from Algolia's `search_by_date`."""

from productops.sources.base import Rule, Source

_IS_STORY = "list_contains(CAST(json_extract_string(record, '$._tags[*]') AS VARCHAR[]), 'story')"

SOCIAL = Source(
    name="social",
    table="social_mentions",
    description="Public mentions of the product on Hacker News (stories and comments), latest index.",
    grain="one row per Hacker News item (story or comment)",
    key="record->>'$.objectID'",
    created="""coalesce(epoch_ts(TRY_CAST(record->>'$.created_at_i' AS BIGINT)),
                        TRY_CAST(record->>'$.created_at' AS TIMESTAMPTZ)::TIMESTAMP)""",
    created_value="coalesce(record->>'$.created_at_i', record->>'$.created_at')",
    version="epoch(coalesce(TRY_CAST(record->>'$.updated_at' AS TIMESTAMPTZ), to_timestamp(0)))",
    columns=f"""
        record->>'$.objectID' AS mention_id,
        'hacker_news' AS platform,
        CASE WHEN {_IS_STORY} THEN 'story' ELSE 'comment' END AS item_type,
        created_at,
        TRY_CAST(record->>'$.updated_at' AS TIMESTAMPTZ)::TIMESTAMP AS updated_at,
        pii_hash(record->>'$.author') AS author_key,
        nullif(redact(strip_html(coalesce(record->>'$.title', record->>'$.story_title')), NULL), '')
            AS title,
        nullif(redact(strip_html(coalesce(record->>'$.comment_text', record->>'$.story_text',
                                          record->>'$.title')), NULL), '') AS text,
        coalesce(record->>'$.url', record->>'$.story_url') AS url,
        coalesce(TRY_CAST(record->>'$.points' AS INTEGER), 0) AS points,
        coalesce(TRY_CAST(record->>'$.num_comments' AS INTEGER), 0) AS num_comments,
        TRY_CAST(record->>'$.story_id' AS BIGINT) AS story_id,
        TRY_CAST(record->>'$.parent_id' AS BIGINT) AS parent_id
    """,
    rules=(
        Rule(
            "empty_text",
            "comment_text",
            """coalesce(record->>'$.comment_text', record->>'$.story_text', record->>'$.title')
               IS NULL""",
            "NULL",
            "has no title, story text or comment text",
        ),
    ),
    redactions=(
        *(
            (f, f"redact(record->>'$.{f}', NULL)")
            for f in ("comment_text", "story_text", "title", "story_title")
        ),
        ("author", "'[handle]'"),
        ("_highlightResult", "NULL::JSON"),  # copies of the text and the author
        ("_tags", "NULL::JSON"),  # carries author_<handle>
    ),
    shapes={".jsonl": "hn_hit", ".json": "hn_hit", ".parquet": "hn_hit"},
)
