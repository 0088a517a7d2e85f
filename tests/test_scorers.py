"""Sentiment only where a scorer reads the language well; None, never 0.0, elsewhere."""

from __future__ import annotations

import pytest

from bench.sentiment_accuracy import (
    eligible,
    load_set,
    per_label,
    sign_accuracy,
    threshold,
)
from productops import language, scorers

# text -> its language and the sign its score must have (None: not scored)
EXAMPLES = {
    "Assistenza lentissima.": ("it", None),
    "Muy buena herramienta, la recomiendo.": ("es", None),
    "괜찮지만 가격이 비싸요.": ("ko", None),
    "Third time this month the dashboard wouldn't load. 👎": ("en", -1),
    "Nobody replied to my email for 5 days.": ("en", -1),
    "Beacon ist super 👍": ("de", None),
}


def _vader_as_shipped(text: str) -> float:
    return scorers.vader(lexicon=False).polarity_scores(text)["compound"]


def _accuracy(lang: str, scorer) -> tuple[float, dict[str, float]]:
    items = [i for i in load_set() if i.language == lang]
    scores = [scorer(i.text) for i in items]
    labels = [i.label for i in items]
    return sign_accuracy(scores, labels), per_label(scores, labels)


def test_each_chosen_scorer_reads_its_language_as_well_as_the_rule_asks() -> None:
    reference, _ = _accuracy("en", _vader_as_shipped)
    assert threshold(reference) >= 0.65
    for lang, scorer in scorers.CHOSEN.items():
        accuracy, labels = _accuracy(lang, scorer)
        assert eligible(accuracy, labels, reference), (lang, accuracy, labels)


def test_the_domain_lexicon_is_kept_because_it_reads_english_better() -> None:
    shipped, _ = _accuracy("en", _vader_as_shipped)
    chosen, _ = _accuracy("en", scorers.english)
    assert chosen > shipped


def test_the_examples_get_their_language_and_the_right_sign_or_none() -> None:
    texts = list(EXAMPLES)
    languages = language.detect(texts)
    scores = scorers.score(texts, languages)
    for text, lang, score in zip(texts, languages, scores, strict=True):
        want_lang, want_sign = EXAMPLES[text]
        assert lang == want_lang, text
        if want_sign is None:
            assert score is None, text
        else:
            assert score is not None and score * want_sign > 0, (text, score)


def test_languages_without_a_scorer_get_none_never_zero() -> None:
    items = [i for i in load_set() if i.language not in scorers.CHOSEN]
    assert {i.language for i in items} >= {"de", "fr", "es", "it", "nl", "pl"}
    texts = [i.text for i in items] + ["Nobody replied.", "", "괜찮아요"]
    languages = [i.language for i in items] + [None, None, "ko"]
    assert scorers.score(texts, languages) == [None] * len(texts)


def test_scores_lie_between_minus_one_and_one() -> None:
    items = [i for i in load_set() if i.language in scorers.CHOSEN]
    scores = scorers.score([i.text for i in items], [i.language for i in items])
    assert all(s is not None and -1 <= s <= 1 for s in scores)


def test_texts_and_languages_must_pair_up() -> None:
    with pytest.raises(ValueError, match="2 texts but 1 languages"):
        scorers.score(["a", "b"], ["en"])


def test_each_analyzer_is_built_once_per_process() -> None:
    assert scorers.vader() is scorers.vader(lexicon=True)
    assert scorers.vader(lexicon=False) is not scorers.vader()
    assert scorers.leia() is scorers.leia()
    assert "outage" not in scorers.vader(lexicon=False).lexicon


def test_a_text_is_read_up_to_a_bound() -> None:
    """A hostile 10 MB comment is read for its first characters only: its language and
    sentiment are those of its head, whatever follows."""
    from productops.sentiment import MAX_READ_CHARS, score_texts

    head = "The dashboard is great and support answered within minutes. " * 100
    head = head[:MAX_READ_CHARS]
    tail = "Ceci est une catastrophe absolue, rien ne fonctionne. " * 200_000
    assert score_texts([head + tail]) == score_texts([head])
