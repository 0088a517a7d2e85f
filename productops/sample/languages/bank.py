"""What one language's customers write: a phrase bank and the parts that make texts unique."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bank:
    """One language's texts. `{p}` stands for the product's name.

    `phrases` carry a theme (theme -> tone -> phrases, tones `neg` and `pos`); everything
    else carries none, and the tests hold every part to it against the theme patterns of
    `config/themes.toml`.
    """

    phrases: dict[str, dict[str, tuple[str, ...]]]
    neutral: tuple[str, ...]  # a passive's comment, a mention without an opinion
    openers: tuple[str, ...]  # greetings before a customer's text
    contexts: tuple[str, ...]  # templates with numbers and names (see text.fill)
    closers: tuple[str, ...]  # sign-offs, templates too
    mentions: tuple[str, ...]  # how a public post names the product, before the phrase
    post_titles: tuple[str, ...]  # a forum post's title, no opinion
    incident_titles: tuple[str, ...]  # a forum post's title on an outage day
    review_titles: dict[str, tuple[str, ...]]  # tone (neg, neu, pos) -> an app review's title
    edit_notes: tuple[str, ...]  # what an author appends when editing a post
