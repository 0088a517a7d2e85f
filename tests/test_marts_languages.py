"""Sentiment in the text's language, channels side by side, stars as their own metric.

A small hand-made company: its answers are written here, not read back from the code.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from productops import marts
from productops.themes import load_taxonomy
from tests.helpers import rows, stage, warehouse, write_jsonl
from tests.test_social_channels import T0, bluesky, mastodon, reddit, review

D1 = date(2026, 3, 2)
ENGLISH_NEGATIVE = "This outage is terrible, nothing loads and we lost a whole afternoon."
ENGLISH_POSITIVE = "Beacon is great, the roadmap views are excellent and the team loves it."
ITALIAN = "Assistenza lentissima, nessuno risponde alle nostre richieste da giorni."
POLISH = "Aplikacja ciągle się zawiesza po ostatniej aktualizacji, jestem bardzo rozczarowany."


def response(i: int, score: int, comment: str) -> dict:
    return {"id": str(i), "score": score, "created_at": T0 + 3600 + i, "comment": comment,
            "person": {"email": f"p{i}@x.com"},
            "person_properties": {"Plan": "Pro", "Region": "EMEA", "Delighted Source": "email"}}  # fmt: skip


@pytest.fixture
def con(paths, tmp_path: Path):
    write_jsonl(paths, "social", "reddit_1.jsonl", [
        reddit("t3", "p1", title="Beacon down again", selftext=ENGLISH_NEGATIVE),
        reddit("t1", "c1", body=ENGLISH_POSITIVE, link_id="t3_p1"),
    ])  # fmt: skip
    write_jsonl(paths, "social", "mastodon_1.jsonl", [mastodon("7", f"<p>{ITALIAN}</p>")])
    write_jsonl(paths, "social", "bluesky_1.jsonl", [bluesky("3k1", POLISH)])
    write_jsonl(paths, "social", "appstore_1.jsonl", [
        review("1", "1", "Seit dem Update stürzt die App ständig ab, unbrauchbar."),
        review("2", "2", "Die App stürzt beim Öffnen ab, das ist wirklich ärgerlich."),
        review("3", "5", ENGLISH_POSITIVE, country="us"),
    ])  # fmt: skip
    write_jsonl(paths, "nps", "r.jsonl", [
        response(1, 2, "Die Rechnung ist schon wieder falsch und viel zu teuer."),
        response(2, 3, "The invoice is wrong again and far too expensive."),
        response(3, 4, "La fattura è sbagliata di nuovo."),
    ])  # fmt: skip
    themes = tmp_path / "themes.toml"
    themes.write_text(
        '[themes.pricing]\npatterns = ["invoices?", "expensive"]\nde = ["rechnung(en)?", "teuer"]\n'
        '[themes.reliability]\npatterns = ["outage", "down"]\nde = ["stürzt"]\n'
    )
    w = marts.Window(D1, D1)
    stage(paths, "social", D1, D1).close()
    stage(paths, "nps", D1, D1).close()
    c = warehouse(paths)
    marts.prepare(c, load_taxonomy(themes))
    marts.build_nps_comments(c, w)
    marts.build_social_sentiment_daily(c, w)
    marts.build_app_reviews_daily(c, w)
    yield c
    c.close()


def test_a_language_without_a_scorer_is_unknown_not_calm(con) -> None:
    got = {r["comment"][:9]: r for r in rows(con, "SELECT * FROM marts.nps_comments")}
    italian = got["La fattur"]
    assert italian["language"] == "it" and italian["sentiment"] is None
    assert italian["sentiment_label"] is None
    english = got["The invoi"]
    assert english["language"] == "en" and english["sentiment"] < -0.05
    assert got["Die Rechn"]["language"] == "de"


def test_themes_are_matched_in_the_items_language(con) -> None:
    got = {r["comment"][:9]: r["themes"] for r in rows(con, "SELECT * FROM marts.nps_comments")}
    assert got["The invoi"] == ["pricing"]
    assert got["Die Rechn"] == ["pricing"]  # the German patterns
    assert got["La fattur"] == ["other"]  # no Italian patterns: other, not a guess


def test_channels_side_by_side_with_what_their_sentiment_covers(con) -> None:
    got = {r["platform"]: r for r in rows(con, "SELECT * FROM marts.social_sentiment_daily")}
    assert {p: r["mentions"] for p, r in got.items()} == {
        "reddit": 2, "mastodon": 1, "bluesky": 1, "app_store": 3, "all": 7}  # fmt: skip
    reddit_day = got["reddit"]
    assert (reddit_day["positive"], reddit_day["negative"], reddit_day["scored_share"]) == (1, 1, 1)
    assert json.loads(reddit_day["languages"]) == {"en": 2}
    for channel in ("mastodon", "bluesky"):  # Italian, Polish: no scorer
        day = got[channel]
        assert day["scored_share"] == 0 and day["avg_sentiment"] is None
        assert day["net_sentiment"] is None and day["positive"] + day["negative"] == 0
    every = got["all"]
    assert json.loads(every["languages"])["it"] == 1 and json.loads(every["languages"])["pl"] == 1
    scored = every["positive"] + every["neutral"] + every["negative"]
    assert every["scored_share"] == pytest.approx(scored / 7)
    assert every["net_sentiment"] == pytest.approx((every["positive"] - every["negative"]) / scored)


def test_star_ratings_per_storefront_are_their_own_metric(con) -> None:
    got = {r["storefront"]: r for r in rows(con, "SELECT * FROM marts.app_reviews_daily")}
    assert set(got) == {"de", "us", "all"}
    de = got["de"]
    assert (de["reviews"], de["avg_rating"], de["low_rating_share"]) == (2, 1.5, 1.0)
    assert (de["reviews_28d"], de["avg_rating_28d"]) == (2, 1.5)
    assert json.loads(de["languages"]) == {"de": 2}
    every = got["all"]
    assert every["reviews"] == 3 and every["avg_rating"] == pytest.approx(8 / 3)
    assert every["low_rating_share"] == pytest.approx(2 / 3)


def test_a_channel_switched_on_today_is_no_spike(paths, tmp_path: Path) -> None:
    """28 quiet days of Hacker News, then Reddit starts with a burst: Reddit has no history
    to be a spike against, and `all` rises by Reddit's volume only."""
    day0 = D1 - timedelta(days=30)
    hits = [
        {"objectID": f"h{d}-{i}", "author": "a", "created_at_i": T0 - (30 - d) * 86400 + 60 * i,
         "_tags": ["comment"], "comment_text": "Beacon works fine for us"}
        for d in range(31) for i in range(3)
    ]  # fmt: skip
    write_jsonl(paths, "social", "hn.jsonl", hits)
    write_jsonl(paths, "social", "reddit.jsonl", [
        reddit("t1", f"c{i}", body=f"Beacon comment number {i}") for i in range(30)])  # fmt: skip
    stage(paths, "social", day0, D1).close()
    c = warehouse(paths)
    marts.prepare(c, load_taxonomy())
    marts.build_social_sentiment_daily(c, marts.Window(day0, D1))
    got = {r["platform"]: r for r in rows(
        c, "SELECT * FROM marts.social_sentiment_daily WHERE date = ?", [D1])}  # fmt: skip
    assert got["reddit"]["mentions"] == 30 and not got["reddit"]["is_spike"]
    assert got["hacker_news"]["mentions"] == 3 and not got["hacker_news"]["is_spike"]
    assert got["all"]["mentions"] == 33
    first = rows(
        c, "SELECT min(date) AS d FROM marts.social_sentiment_daily WHERE platform = 'reddit'"
    )
    assert first[0]["d"] == D1  # no zero rows before the channel's first day
    c.close()
