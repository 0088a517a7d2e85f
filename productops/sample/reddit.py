"""Reddit posts and comments as the listings return them: one listing child per line.

Posts come from subreddit search (`kind` t3), comments from `/r/{sr}/comments` (t1, with
their post's title), each `{"kind": ..., "data": {...}}` as in `data.children`. Later
lines repeat a fullname when the connector re-read it: a post edited (`edited` turns
from `false` into the edit's epoch time) or a comment its author deleted (`[deleted]`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

from productops.sample import languages, messy
from productops.sample.company import Company
from productops.sample.ids import base36
from productops.sample.mentions import PRODUCT, Channel, day_of, draw, people

CHANNEL = Channel(stream=11, weekday=9, weekend=6, spike=(6, 20), non_english=0.15)
POST_SHARE = 0.35  # of mentions; the rest are comments
EDITED = 0.03  # of posts, edited 1-48 hours later
DELETED = 0.02  # of comments, deleted by their author 2-72 hours later
SUBREDDITS = {  # where each language's mentions are posted, and the subreddits' t5_ ids
    "en": {
        "ProductManagement": "2qhk8",
        "SaaS": "2qkq6",
        "startups": "2qh26",
        "projectmanagement": "2qsjv",
    },
    "de": {"de_EDV": "2qy7o"},
    "fr": {"france": "2qhjz"},
    "es": {"programacion": "2rbcq"},
    "pt": {"brdev": "2tzyy"},
}
SUBREDDIT_IDS = {
    name: f"t5_{code}" for names in SUBREDDITS.values() for name, code in names.items()
}


def listing_lines(company: Company) -> pl.DataFrame:
    m = draw(company, CHANNEL)
    rng = company.rng(CHANNEL.stream + 100)
    n = m.height
    incident = m["incident"].to_numpy()
    lang = m["lang"].to_numpy()
    title = np.where(
        incident,
        languages.choose(rng, languages.part("incident_titles", PRODUCT), lang),
        languages.choose(rng, languages.part("post_titles", PRODUCT), lang),
    )
    author_no = rng.integers(0, 4000 * max(1, int(company.scale)), n)
    first, last = people(author_no)
    frame = m.with_columns(
        id=pl.Series(base36(company.seed * 10**11 + 42 * 10**9 + m["serial"].to_numpy())),
        is_post=pl.Series(rng.random(n) < np.where(incident, 0.4, POST_SHARE)),
        subreddit=pl.Series(
            languages.choose(rng, {k: tuple(v) for k, v in SUBREDDITS.items()}, lang),
            dtype=pl.String,
        ),
        title=pl.Series(title, dtype=pl.String),
        author=pl.Series(np.char.add(np.char.add(first, last), (author_no % 977).astype(str))),
        author_fullname=pl.Series(
            np.char.add("t2_", base36(company.seed * 10**8 + author_no + 10**9))
        ),
        score=pl.Series(rng.geometric(0.1, n)),
        num_comments=pl.Series(rng.geometric(0.15, n) - 1),
        upvote_ratio=pl.Series(np.round(rng.uniform(0.55, 1.0, n), 2)),
    )
    posts = frame.filter(pl.col("is_post"))
    comments = _under_posts(rng, frame.filter(~pl.col("is_post")), posts, company)
    return _lines(company, rng, posts, comments)


def _under_posts(
    rng: np.random.Generator, comments: pl.DataFrame, posts: pl.DataFrame, company: Company
) -> pl.DataFrame:
    """Each comment under a post of its language written before it, or, when this chunk
    has none, under an older post (its id and title only)."""
    link = np.full(comments.height, -1)
    c_lang, p_lang = comments["lang"].to_numpy(), posts["lang"].to_numpy()
    c_at, p_at = comments["created"].to_numpy(), posts["created"].to_numpy()
    for lang in np.unique(c_lang):  # five languages at most
        mine, theirs = np.flatnonzero(c_lang == lang), np.flatnonzero(p_lang == lang)
        if not len(theirs):
            continue
        theirs = theirs[np.argsort(p_at[theirs], kind="stable")]
        before = np.searchsorted(p_at[theirs], c_at[mine])
        pick = np.minimum((rng.random(len(mine)) * before).astype(np.int64), len(theirs) - 1)
        link[mine] = np.where(before > 0, theirs[pick], -1)
    older = base36(company.seed * 10**11 + 40 * 10**9 + rng.integers(0, 10**9, comments.height))
    older_first, older_last = people(rng.integers(0, 4000, comments.height))
    # Index -1 reads the appended placeholder: the older post's own values are used then.
    ids = np.append(posts["id"].to_numpy(), "")[link]
    titles = np.append(posts["title"].to_numpy(), "")[link]
    authors = np.append(posts["author"].to_numpy(), "")[link]
    subreddits = np.append(posts["subreddit"].to_numpy(), "")[link]
    has = link >= 0
    return comments.with_columns(
        link_id=pl.Series(np.where(has, ids, older), dtype=pl.String),
        link_title=pl.Series(np.where(has, titles, comments["title"].to_numpy()), dtype=pl.String),
        link_author=pl.Series(
            np.where(has, authors, np.char.add(older_first, older_last)), dtype=pl.String
        ),
        subreddit=pl.Series(
            np.where(has, subreddits, comments["subreddit"].to_numpy()), dtype=pl.String
        ),
    )


def _slug(title: pl.Expr) -> pl.Expr:
    return (
        title.str.to_lowercase()
        .str.replace_all(r"[^a-z0-9]+", "_")
        .str.strip_chars("_")
        .str.slice(0, 50)
    )


def _lines(
    company: Company, rng: np.random.Generator, posts: pl.DataFrame, comments: pl.DataFrame
) -> pl.DataFrame:
    """Each post and comment as first read, then edited posts and deleted comments again."""
    posts = posts.with_columns(at=pl.col("created"), edited=pl.lit(None, dtype=pl.Float64))
    edited = posts.filter(messy.mask(rng, posts.height, EDITED))
    edited = edited.with_columns(
        at=pl.col("created") + pl.Series(rng.integers(3600, 48 * 3600, edited.height)),
        score=pl.col("score") + pl.Series(rng.integers(1, 40, edited.height)),
        text=pl.col("text")
        + "\n\n"
        + pl.Series(
            languages.choose(rng, languages.part("edit_notes"), edited["lang"].to_numpy()),
            dtype=pl.String,
        ),
    ).with_columns(edited=pl.col("at").cast(pl.Float64))
    comments = comments.with_columns(at=pl.col("created"), deleted=pl.lit(False))
    deleted = comments.filter(messy.mask(rng, comments.height, DELETED)).with_columns(
        at=pl.col("created") + 2 * 3600 + (pl.col("serial") % (70 * 3600)), deleted=pl.lit(True)
    )
    posts, comments = pl.concat([posts, edited]), pl.concat([comments, deleted])

    sr = pl.col("subreddit")
    post_link = (
        pl.lit("/r/") + sr + "/comments/" + pl.col("id") + "/" + _slug(pl.col("title")) + "/"
    )
    link = (
        pl.lit("/r/")
        + sr
        + "/comments/"
        + pl.col("link_id")
        + "/"
        + _slug(pl.col("link_title"))
        + "/"
    )
    post = pl.struct(
        kind=pl.lit("t3"),
        data=pl.struct(
            approved_at_utc=pl.lit(None, dtype=pl.Float64),
            subreddit=sr,
            selftext=pl.col("text"),
            author_fullname=pl.col("author_fullname"),
            title=pl.col("title"),
            subreddit_name_prefixed=pl.lit("r/") + sr,
            name=pl.lit("t3_") + pl.col("id"),
            upvote_ratio=pl.col("upvote_ratio"),
            ups=pl.col("score"),
            score=pl.col("score"),
            edited=pl.col("edited"),
            is_self=pl.lit(True),
            created_utc=pl.col("created").cast(pl.Float64),
            domain=pl.lit("self.") + sr,
            selftext_html=pl.lit(None, dtype=pl.String),
            link_flair_text=pl.lit(None, dtype=pl.String),
            removed_by_category=pl.lit(None, dtype=pl.String),
            over_18=pl.lit(False),
            locked=pl.lit(False),
            stickied=pl.lit(False),
            distinguished=pl.lit(None, dtype=pl.String),
            subreddit_id=sr.replace_strict(SUBREDDIT_IDS),
            id=pl.col("id"),
            author=pl.col("author"),
            num_comments=pl.col("num_comments"),
            permalink=post_link,
            url=pl.lit("https://www.reddit.com") + post_link,
        ),
    )
    gone = pl.col("deleted")
    comment = pl.struct(
        kind=pl.lit("t1"),
        data=pl.struct(
            subreddit_id=sr.replace_strict(SUBREDDIT_IDS),
            link_title=pl.col("link_title"),
            subreddit=sr,
            link_author=pl.col("link_author"),
            id=pl.col("id"),
            author=pl.when(gone).then(pl.lit("[deleted]")).otherwise(pl.col("author")),
            author_fullname=pl.when(gone).then(None).otherwise(pl.col("author_fullname")),
            parent_id=pl.lit("t3_") + pl.col("link_id"),
            score=pl.col("score"),
            body=pl.when(gone).then(pl.lit("[deleted]")).otherwise(pl.col("text")),
            body_html=pl.lit(None, dtype=pl.String),
            edited=pl.lit(None, dtype=pl.Float64),
            name=pl.lit("t1_") + pl.col("id"),
            link_id=pl.lit("t3_") + pl.col("link_id"),
            link_permalink=pl.lit("https://www.reddit.com") + link,
            controversiality=pl.lit(0),
            ups=pl.col("score"),
            created_utc=pl.col("created").cast(pl.Float64),
            permalink=link + pl.col("id") + "/",
            distinguished=pl.lit(None, dtype=pl.String),
            stickied=pl.lit(False),
            locked=pl.lit(False),
        ),
    )
    lines = pl.concat(
        [
            posts.select("at", line=post.struct.json_encode()),
            comments.select("at", line=comment.struct.json_encode()),
        ]
    ).sort("at", maintain_order=True)
    # Reddit writes `false` for a post never edited and leaves a deleted author's id out.
    line = (
        pl.col("line")
        .str.replace('"edited":null', '"edited":false', literal=True)
        .str.replace(',"author_fullname":null', "", literal=True)
    )
    end = datetime.fromtimestamp(company.window_end, UTC).date()
    lines = lines.select(day_of("at"), line=line).filter(pl.col("day") < end)
    return messy.duplicate_lines(rng, lines, 0.004)
