"""Social mentions: where customers talk in public, one source with a channel per vendor.

Hacker News (Algolia's `search_by_date`), Reddit (listing children), Bluesky (`postView`s
of `searchPosts`), Mastodon (`Status`es) and App Store customer reviews (RSS feed
entries) land side by side in `landing/social/`. Each channel is declared below as SQL
over its own record shape, and a record's channel is told from its content, not from
its file's name, so a file dropped by hand reads the same as a page a connector saved.

A deletion an API shows only as absence is saved by the connectors as a tombstone
(`{"productops_tombstone": {channel, key, created_at, deleted_at}}`): the key's newest
version, so staging keeps the item as deleted and the marts leave it out.
"""

from __future__ import annotations

from dataclasses import dataclass

from productops.sources.base import Rule, Source, integer

_TOMB = "(record->>'$.productops_tombstone.channel')"


@dataclass(frozen=True)
class Channel:
    """One channel's record shape: SQL over `record` for each staged field (NULL: none)."""

    name: str
    detect: str  # true for a record of this channel
    key: str
    created: str
    updated: str
    item_type: str
    author: str  # whose words: hashed, and their name redacted from the text
    writer: str  # the display name redacted from their own text
    title: str
    text: str  # before HTML is stripped and personal data redacted
    url: str
    points: str
    num_comments: str
    deleted: str = "false"
    rating: str = "NULL"
    storefront: str = "NULL"


_REDDIT_GONE = "('[deleted]', '[removed]')"
_APP_HREF = "record->>'$.link.attributes.href'"

HACKER_NEWS = Channel(
    name="hacker_news",
    detect="(record->>'$.objectID') IS NOT NULL",
    key="record->>'$.objectID'",
    created="""coalesce(epoch_ts(TRY_CAST(record->>'$.created_at_i' AS BIGINT)),
                        TRY_CAST(record->>'$.created_at' AS TIMESTAMPTZ)::TIMESTAMP)""",
    updated="TRY_CAST(record->>'$.updated_at' AS TIMESTAMPTZ)::TIMESTAMP",
    item_type="""CASE WHEN list_contains(CAST(json_extract_string(record, '$._tags[*]')
                                              AS VARCHAR[]), 'story')
                      THEN 'story' ELSE 'comment' END""",
    author="record->>'$.author'",
    writer="NULL",
    title="coalesce(record->>'$.title', record->>'$.story_title')",
    text="coalesce(record->>'$.comment_text', record->>'$.story_text', record->>'$.title')",
    url="coalesce(record->>'$.url', record->>'$.story_url')",
    points="TRY_CAST(record->>'$.points' AS INTEGER)",
    num_comments="TRY_CAST(record->>'$.num_comments' AS INTEGER)",
)

REDDIT = Channel(
    name="reddit",
    detect="(record->>'$.kind') IN ('t1', 't3')",
    key="record->>'$.data.name'",
    created="epoch_ts(TRY_CAST(record->>'$.data.created_utc' AS DOUBLE))",
    # `edited` is false, or the epoch of the last edit.
    updated="""coalesce(epoch_ts(TRY_CAST(record->>'$.data.edited' AS DOUBLE)),
                        epoch_ts(TRY_CAST(record->>'$.data.created_utc' AS DOUBLE)))""",
    item_type="CASE WHEN (record->>'$.kind') = 't3' THEN 'post' ELSE 'comment' END",
    author=f"CASE WHEN (record->>'$.data.author') NOT IN {_REDDIT_GONE} THEN record->>'$.data.author' END",
    writer="NULL",
    title="record->>'$.data.title'",
    text=f"""CASE WHEN (record->>'$.kind') = 't3'
                  THEN concat_ws(chr(10), record->>'$.data.title',
                                 CASE WHEN (record->>'$.data.selftext') NOT IN {_REDDIT_GONE}
                                      THEN nullif(record->>'$.data.selftext', '') END)
                  WHEN (record->>'$.data.body') NOT IN {_REDDIT_GONE} THEN record->>'$.data.body'
             END""",
    url="'https://www.reddit.com' || (record->>'$.data.permalink')",
    points="TRY_CAST(record->>'$.data.score' AS INTEGER)",
    num_comments="TRY_CAST(record->>'$.data.num_comments' AS INTEGER)",
    deleted=f"""(record->>'$.data.removed_by_category' IS NOT NULL
                 OR coalesce(record->>'$.data.body', record->>'$.data.selftext') IN {_REDDIT_GONE})""",
)

BLUESKY = Channel(
    name="bluesky",
    detect="starts_with(record->>'$.uri', 'at://')",
    key="record->>'$.uri'",
    # `record.createdAt` is the client's clock, `indexedAt` the server's: the earlier of
    # the two, as search sorts them (`sortAt`), so a post dated ahead cannot jump days.
    created="""least(TRY_CAST(record->>'$.record.createdAt' AS TIMESTAMPTZ),
                     TRY_CAST(record->>'$.indexedAt' AS TIMESTAMPTZ))::TIMESTAMP""",
    updated="TRY_CAST(record->>'$.indexedAt' AS TIMESTAMPTZ)::TIMESTAMP",
    item_type="CASE WHEN (record->>'$.record.reply.parent.uri') IS NULL THEN 'post' ELSE 'reply' END",
    author="record->>'$.author.did'",
    writer="record->>'$.author.displayName'",
    title="NULL",
    text="record->>'$.record.text'",
    url="""'https://bsky.app/profile/' || (record->>'$.author.handle') || '/post/'
           || split_part(record->>'$.uri', '/', -1)""",
    points="TRY_CAST(record->>'$.likeCount' AS INTEGER)",
    num_comments="TRY_CAST(record->>'$.replyCount' AS INTEGER)",
)

MASTODON = Channel(
    name="mastodon",
    detect="(record->>'$.account.acct') IS NOT NULL AND (record->>'$.uri') IS NOT NULL",
    key="record->>'$.uri'",
    created="TRY_CAST(record->>'$.created_at' AS TIMESTAMPTZ)::TIMESTAMP",
    updated="""coalesce(TRY_CAST(record->>'$.edited_at' AS TIMESTAMPTZ),
                        TRY_CAST(record->>'$.created_at' AS TIMESTAMPTZ))::TIMESTAMP""",
    item_type="CASE WHEN (record->>'$.in_reply_to_id') IS NULL THEN 'post' ELSE 'reply' END",
    author="coalesce(record->>'$.account.url', record->>'$.account.acct')",
    writer="record->>'$.account.display_name'",
    title="NULL",
    text="record->>'$.content'",
    url="coalesce(record->>'$.url', record->>'$.uri')",
    points="TRY_CAST(record->>'$.favourites_count' AS INTEGER)",
    num_comments="TRY_CAST(record->>'$.replies_count' AS INTEGER)",
)

APP_STORE = Channel(
    name="app_store",
    detect="""(record->>'$."im:rating".label') IS NOT NULL""",
    # The feed has no creation date: `updated` (a Pacific offset) is the review's time,
    # and a review its author rewrites comes back with a later one. Each day's version is
    # its own key (`appstore:<id>@<UTC day>`), so a review is on one day only; the
    # connector tombstones the earlier day's version when it sees the rewrite.
    key="""'appstore:' || (record->>'$.id.label') || '@'
           || CAST(TRY_CAST(record->>'$.updated.label' AS TIMESTAMPTZ)::TIMESTAMP AS DATE)""",
    created="TRY_CAST(record->>'$.updated.label' AS TIMESTAMPTZ)::TIMESTAMP",
    updated="TRY_CAST(record->>'$.updated.label' AS TIMESTAMPTZ)::TIMESTAMP",
    item_type="'review'",
    author="record->>'$.author.uri.label'",
    writer="record->>'$.author.name.label'",
    title="record->>'$.title.label'",
    text="record->>'$.content.label'",
    # The feed's link is the app's review page, the same for every review (with the app's
    # id, which reads like a phone number): no link to the review itself.
    url="NULL",
    points="TRY_CAST(record->>'$.\"im:voteSum\".label' AS INTEGER)",
    num_comments="0",
    rating="""record->>'$."im:rating".label'""",
    # The storefront is the feed URL's country; the connector writes it beside the
    # entry, and a hand-dropped entry's review link names it.
    storefront=f"""lower(coalesce(record->>'$.productops_storefront',
                                  nullif(regexp_extract({_APP_HREF}, 'apple\\.com/([a-zA-Z]{{2}})/', 1), '')))""",
)

CHANNELS = (REDDIT, BLUESKY, MASTODON, APP_STORE, HACKER_NEWS)
# A record no other channel claims is read as a Hacker News hit (the source's first
# shape): one that lost its `objectID` keeps its creation day and is quarantined for the
# missing key there, instead of landing on the day it arrived.
_OTHERS = tuple(c for c in CHANNELS if c is not HACKER_NEWS)
CHANNEL_NAMES = tuple(sorted(c.name for c in CHANNELS))
ITEM_TYPES = ("story", "comment", "post", "reply", "review")


def _by_channel(field: str, tombstone: str = "NULL") -> str:
    """SQL: the field as the record's channel declares it (a tombstone's own value first)."""
    whens = " ".join(f"WHEN {c.detect} THEN {getattr(c, field)}" for c in _OTHERS)
    return (
        f"CASE WHEN {_TOMB} IS NOT NULL THEN {tombstone} {whens} "
        f"ELSE {getattr(HACKER_NEWS, field)} END"
    )


_CHANNEL = "CASE WHEN {t} IS NOT NULL THEN {t} {w} ELSE '{hn}' END".format(
    t=_TOMB, w=" ".join(f"WHEN {c.detect} THEN '{c.name}'" for c in _OTHERS), hn=HACKER_NEWS.name
)
_TOMB_CREATED = "TRY_CAST(record->>'$.productops_tombstone.created_at' AS TIMESTAMPTZ)::TIMESTAMP"
_TOMB_DELETED = "TRY_CAST(record->>'$.productops_tombstone.deleted_at' AS TIMESTAMPTZ)::TIMESTAMP"
_DELETED = _by_channel("deleted", "true")
_TEXT = f"""CASE WHEN NOT coalesce({_DELETED}, false)
                 THEN nullif(redact(strip_html({_by_channel("text")}), {_by_channel("writer")}), '')
            END"""
_RATING = integer(_by_channel("rating"))
_IS_REVIEW = f"({_TOMB} IS NULL AND {APP_STORE.detect})"

SOCIAL = Source(
    name="social",
    table="social_mentions",
    description=(
        "Public mentions of the product and reviews of its app: Hacker News, Reddit, "
        "Bluesky, Mastodon and App Store reviews, latest version of each."
    ),
    grain="one row per post, comment or review, per channel",
    key=_by_channel("key", "record->>'$.productops_tombstone.key'"),
    created=_by_channel("created", _TOMB_CREATED),
    created_value="""coalesce(record->>'$.created_at_i', record->>'$.created_at',
                              record->>'$.data.created_utc', record->>'$.record.createdAt',
                              record->>'$.updated.label',
                              record->>'$.productops_tombstone.created_at')""",
    # A tombstone is the newest version of its key; re-reads of an unchanged item tie
    # and the later delivery wins.
    version=f"epoch(coalesce({_by_channel('updated', _TOMB_DELETED)}, to_timestamp(0)::TIMESTAMP))",
    columns=f"""
        record_key AS mention_id,
        {_CHANNEL} AS platform,
        {_by_channel("item_type")} AS item_type,
        created_at,
        {_by_channel("updated", _TOMB_DELETED)} AS updated_at,
        pii_hash({_by_channel("author")}) AS author_key,
        nullif(redact(strip_html({_by_channel("title")}), {_by_channel("writer")}), '') AS title,
        {_TEXT} AS text,
        {_by_channel("url")} AS url,
        greatest(coalesce({_by_channel("points")}, 0), 0) AS points,
        greatest(coalesce({_by_channel("num_comments")}, 0), 0) AS num_comments,
        CASE WHEN {HACKER_NEWS.detect} THEN TRY_CAST(record->>'$.story_id' AS BIGINT) END
            AS story_id,
        CASE WHEN {HACKER_NEWS.detect} THEN TRY_CAST(record->>'$.parent_id' AS BIGINT) END
            AS parent_id,
        {_RATING} AS rating,
        {_by_channel("storefront")} AS storefront,
        coalesce({_DELETED}, false) AS is_deleted
    """,
    rules=(
        Rule(
            "empty_text",
            "text",
            f"NOT coalesce({_DELETED}, false) AND nullif(trim({_by_channel('text')}), '') IS NULL",
            "NULL",
            "has no text (no title, story text, comment text, post text or review)",
        ),
        Rule(
            "rating_out_of_range",
            "im:rating",
            f"{_IS_REVIEW} AND {_RATING} IS DISTINCT FROM NULL AND {_RATING} NOT BETWEEN 1 AND 5",
            """record->>'$."im:rating".label'""",
            "is not a star rating 1-5",
        ),
        Rule(
            "missing_rating",
            "im:rating",
            f"{_IS_REVIEW} AND {_RATING} IS NULL",
            """record->>'$."im:rating".label'""",
            "is not a whole number of stars",
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
        *(
            (f"data.{f}", f"redact(record->>'$.data.{f}', NULL)")
            for f in ("title", "selftext", "body")
        ),
        ("data.author", "'[handle]'"),
        ("data.author_fullname", "'[handle]'"),
        ("record.text", "redact(record->>'$.record.text', NULL)"),
        ("content", "redact(record->>'$.content', NULL)"),
        ("account", "NULL::JSON"),  # Mastodon's author: names, handle, avatar
        ("content.label", "redact(record->>'$.content.label', NULL)"),
        ("title.label", "redact(record->>'$.title.label', NULL)"),
        ("author.name", "NULL::JSON"),  # an App Store reviewer's nickname
        ("author.uri", "NULL::JSON"),
        ("author.handle", "'[handle]'"),  # a Bluesky author
        ("author.displayName", "'[name]'"),
        ("author.did", "'[did]'"),
    ),
    # A file's shape is its first record's: the schema check compares each shape's
    # records with that shape's fields.
    shapes={".jsonl": "hn_hit", ".json": "hn_hit", ".parquet": "hn_hit"},
    shape_by_column={
        "productops_tombstone": "tombstone",
        "kind": "reddit_thing",
        "indexedAt": "bluesky_post",
        "account": "mastodon_status",
        "im:rating": "appstore_review",
        "objectID": "hn_hit",
    },
)
