"""Every text gets its language, or None when it says too little to tell."""

from __future__ import annotations

from bench.sentiment_accuracy import load_set
from productops import language

EXAMPLES = {
    "Assistenza lentissima.": "it",
    "Muy buena herramienta, la recomiendo.": "es",
    "괜찮지만 가격이 비싸요.": "ko",
    "Third time this month the dashboard wouldn't load. 👎": "en",
    "Nobody replied to my email for 5 days.": "en",
    "Beacon ist super 👍": "de",
}


def test_the_labelled_sets_languages_are_told_apart() -> None:
    items = load_set()
    found = language.detect([i.text for i in items])
    right = sum(f == i.language for f, i in zip(found, items, strict=True))
    assert right / len(items) >= 0.95, [
        (i.language, f, i.text) for f, i in zip(found, items, strict=True) if f != i.language
    ]


def test_the_examples_that_vader_scores_zero_get_their_language() -> None:
    assert dict(zip(EXAMPLES, language.detect(list(EXAMPLES)), strict=True)) == EXAMPLES


def test_a_short_text_with_an_english_product_name_is_read_by_its_own_words() -> None:
    texts = ["Beacon ist echt super", "Beacon est top 👍", "Beacon é ótimo", "Das ist gut"]
    assert language.detect(texts) == ["de", "fr", "pt", "de"]


def test_text_that_says_too_little_gets_no_language() -> None:
    texts = [
        "",
        "   ",
        "👍👍",
        "🔥",
        "12345",
        "ok",
        "ok 👍",
        "@BeaconHQ 👍",
        "https://beacon.example/a",
    ]
    assert language.detect(texts) == [None] * len(texts)


def test_a_word_two_languages_share_counts_for_neither() -> None:
    owners: dict[str, set[str]] = {}
    for lang, words in language._MARKERS.items():
        for word in words.split():
            owners.setdefault(word, set()).add(lang)
    shared = {w for w, langs in owners.items() if len(langs) > 1}
    assert not shared & set(language._MARKER_LANGUAGE)
    assert set(language._MARKERS) <= set(language.LANGUAGES)


def test_the_detector_is_built_once_per_process() -> None:
    assert language.detector() is language.detector()
    assert language.detect([]) == []
