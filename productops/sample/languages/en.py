"""English: the customer phrases of `sample.text`, and what public posts and reviews add."""

from productops.sample import text
from productops.sample.languages.bank import Bank

BANK = Bank(
    phrases=text.PHRASES,
    neutral=text.NEUTRAL,
    openers=text.OPENERS,
    contexts=text.CONTEXTS,
    closers=text.CLOSERS,
    mentions=("{p}: ", "Re {p}: ", "About {p}: ", "Using {p} at work. "),
    post_titles=("Thoughts on {p}?", "Question about {p}", "Anyone using {p}?", "My take on {p}"),
    incident_titles=("Is {p} down for everyone?", "{p} outage right now?"),
    review_titles={
        "pos": ("Great app", "Really useful", "Highly recommend", "Five stars"),
        "neg": ("Disappointed", "Not good", "Frustrating", "Meh"),
        "neu": ("Okay", "Decent", "Mixed feelings"),
    },
    edit_notes=("Edit: formatting.", "Edit: typo.", "EDIT: wording."),
)
