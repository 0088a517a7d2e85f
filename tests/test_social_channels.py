"""Every social channel's record shape staged into one table, told apart by content."""

from __future__ import annotations

from datetime import date

from productops.sources import SOURCES
from productops.staging import reconcile
from tests.helpers import rows, stage, write_jsonl

DAY = date(2026, 3, 2)
T0 = 1772409600  # 2026-03-02 00:00:00 UTC


def reddit(kind: str, id_: str, **data) -> dict:
    base = {"id": id_, "name": f"{kind}_{id_}", "subreddit": "productops", "author": "u_ada",
            "author_fullname": "t2_x", "created_utc": float(T0 + 600), "edited": False,
            "score": 12, "num_comments": 3, "permalink": f"/r/productops/comments/{id_}/"}  # fmt: skip
    return {"kind": kind, "data": {**base, **data}}


def bluesky(rkey: str, text: str, **extra) -> dict:
    return {
        "uri": f"at://did:plc:abc/app.bsky.feed.post/{rkey}", "cid": "bafy",
        "author": {"did": "did:plc:abc", "handle": "ada.bsky.social", "displayName": "Ada Lovelace"},
        "record": {"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-03-02T09:00:00.000Z",
                   "langs": ["de"]},
        "indexedAt": "2026-03-02T09:00:01.000Z", "likeCount": 4, "replyCount": 1, **extra,
    }  # fmt: skip


def mastodon(id_: str, content: str, **extra) -> dict:
    return {
        "id": id_, "uri": f"https://social.example/users/ada/statuses/{id_}",
        "url": f"https://social.example/@ada/{id_}", "created_at": "2026-03-02T10:00:00.000Z",
        "edited_at": None, "content": content, "language": "fr", "in_reply_to_id": None,
        "account": {"id": "1", "username": "ada", "acct": "ada", "display_name": "Ada Lovelace",
                    "url": "https://social.example/@ada"},
        "replies_count": 2, "reblogs_count": 0, "favourites_count": 7, **extra,
    }  # fmt: skip


def review(id_: str, rating: str, content: str, country: str | None = "de") -> dict:
    entry = {
        "author": {"uri": {"label": "https://itunes.apple.com/de/reviews/id99"},
                   "name": {"label": "Ada Lovelace"}},
        "im:version": {"label": "4.2.1"}, "im:rating": {"label": rating}, "id": {"label": id_},
        "title": {"label": "Absturz"}, "content": {"label": content, "attributes": {"type": "text"}},
        "link": {"attributes": {"rel": "related",
                                "href": "https://itunes.apple.com/fr/review?id=1&type=Purple%20Software"}},
        "im:voteSum": {"label": "2"}, "updated": {"label": "2026-03-02T04:12:33-08:00"},
    }  # fmt: skip
    if country:
        entry["productops_storefront"] = country
    return entry


def test_each_channel_is_staged_from_its_own_shape(paths) -> None:
    write_jsonl(paths, "social", "reddit_2026-03-02.jsonl", [
        reddit("t3", "p1", title="Beacon is down", selftext="Nothing loads, mail me at ada@example.com"),
        reddit("t1", "c1", body="Same here, broken since 9am", link_id="t3_p1"),
        reddit("t1", "c2", body="[deleted]", author="[deleted]"),
    ])  # fmt: skip
    write_jsonl(paths, "social", "bluesky_2026-03-02.jsonl", [
        bluesky("3k1", "Beacon ist super, Ada Lovelace sagt das auch"),
    ])  # fmt: skip
    write_jsonl(paths, "social", "mastodon_2026-03-02.jsonl", [
        mastodon("111", "<p>Beacon est <a href=\"x\" class=\"mention hashtag\">#lent</a> &amp; cher</p>"),
    ])  # fmt: skip
    write_jsonl(paths, "social", "appstore_reviews_2026-03-02.jsonl", [
        review("9001", "1", "Seit dem Update stürzt die App ab."),
        review("9002", "9", "Toll"),
        review("9003", "5", "Super", country=None),
    ])  # fmt: skip
    con = stage(paths, "social", DAY, DAY)

    got = {r["mention_id"]: r for r in rows(con, "SELECT * FROM staging.social_mentions")}
    assert {k: (r["platform"], r["item_type"]) for k, r in got.items()} == {
        "t3_p1": ("reddit", "post"),
        "t1_c1": ("reddit", "comment"),
        "t1_c2": ("reddit", "comment"),
        "at://did:plc:abc/app.bsky.feed.post/3k1": ("bluesky", "post"),
        "https://social.example/users/ada/statuses/111": ("mastodon", "post"),
        "appstore:9001@2026-03-02": ("app_store", "review"),
        "appstore:9003@2026-03-02": ("app_store", "review"),
    }
    post = got["t3_p1"]
    assert (
        post["text"] == "Beacon is down\nNothing loads, mail me at [email]" and post["points"] == 12
    )
    assert post["url"] == "https://www.reddit.com/r/productops/comments/p1/"
    assert got["t1_c2"]["is_deleted"] and got["t1_c2"]["text"] is None
    sky = got["at://did:plc:abc/app.bsky.feed.post/3k1"]
    assert sky["text"] == "Beacon ist super, [name] sagt das auch"
    assert sky["url"] == "https://bsky.app/profile/ada.bsky.social/post/3k1"
    toot = got["https://social.example/users/ada/statuses/111"]
    assert toot["text"] == "Beacon est #lent & cher" and toot["points"] == 7
    app = got["appstore:9001@2026-03-02"]
    assert (app["rating"], app["storefront"], app["title"]) == (1, "de", "Absturz")
    assert str(app["created_at"]) == "2026-03-02 12:12:33"  # the Pacific offset, in UTC
    assert got["appstore:9003@2026-03-02"]["storefront"] == "fr"  # from the review's link
    assert all(len(r["author_key"]) == 64 for k, r in got.items() if k != "t1_c2")
    assert "ada" not in " ".join(str(r["text"]) for r in got.values()).lower()

    q = rows(con, "SELECT rule, field, reason FROM quarantine.social")
    assert [(r["rule"], r["field"]) for r in q] == [("rating_out_of_range", "im:rating")]
    assert "record 2: field im:rating = '9'" in q[0]["reason"]
    assert reconcile(con, paths, SOURCES["social"]).ok


def test_an_edit_and_a_tombstone_are_newer_versions(paths) -> None:
    write_jsonl(paths, "social", "bluesky_1.jsonl", [bluesky("3k1", "first words")])
    write_jsonl(
        paths, "social", "reddit_1.jsonl", [reddit("t3", "p1", title="Beacon", selftext="ok")]
    )
    write_jsonl(paths, "social", "reddit_2.jsonl", [
        reddit("t3", "p1", title="Beacon", selftext="edited: it is great", edited=float(T0 + 7200)),
    ])  # fmt: skip
    write_jsonl(paths, "social", "tombstones.jsonl", [{"productops_tombstone": {
        "channel": "bluesky", "key": "at://did:plc:abc/app.bsky.feed.post/3k1",
        "created_at": "2026-03-02T09:00:00.000Z", "deleted_at": "2026-03-03T08:00:00Z"}}])  # fmt: skip
    con = stage(paths, "social", DAY, DAY)

    got = {r["mention_id"]: r for r in rows(con, "SELECT * FROM staging.social_mentions")}
    assert got["t3_p1"]["text"] == "Beacon\nedited: it is great"
    gone = got["at://did:plc:abc/app.bsky.feed.post/3k1"]
    assert gone["is_deleted"] and gone["platform"] == "bluesky" and gone["text"] is None


def test_a_hit_without_its_key_is_quarantined_on_its_own_day(paths) -> None:
    """A record no other channel claims reads as a Hacker News hit: one that lost its
    `objectID` keeps its creation day, so data_trust counts it there, not on arrival."""
    write_jsonl(paths, "social", "hn.jsonl", [
        {"created_at_i": T0 + 60, "author": "a", "_tags": ["comment"], "comment_text": "Beacon"},
    ])  # fmt: skip
    con = stage(paths, "social", DAY, DAY)
    assert [(r["date"], r["rule"]) for r in rows(con, "SELECT * FROM quarantine.social")] == [
        (DAY, "missing_id")
    ]
