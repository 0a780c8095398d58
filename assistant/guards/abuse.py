"""Abusive language: alt-profanity-check's linear model (bundled in its wheel; no download)."""

from __future__ import annotations

import re

# Words the model scores as abusive on their own although their plain sense is ordinary ("my
# sick dog", "kill a process", "screw the lid on"). A text is also read without them, and
# the lower probability counts: profanity elsewhere in the text still scores as before.
# Not when aimed at a person ("kill yourself", "go die").
PLAIN_SENSE = re.compile(
    r"(?i)(?<!go )\b(?:sick(?:er|est|ness)?|ill|kill(?:s|ed|ing)?|shoot(?:s|ing)?|shot|"
    r"die[sd]?|dying|dead|death|euthani[sz](?:e|ed|ing)|put (?:down|to sleep)|"
    r"screw(?:s|ed|ing)?|bloody)\b(?!\s+(?:yourself|urself|you|u|him|her|them|people)\b)")


def abuse_probability(text: str) -> float:
    """The model's probability that the text is abusive (0.0 for blank text)."""
    if not text.strip():
        return 0.0
    from profanity_check import predict_prob  # loads the model on first use

    plain = PLAIN_SENSE.sub(" ", text)
    if plain == text:
        return float(predict_prob([text])[0])
    if not plain.strip():
        return 0.0
    return float(min(predict_prob([text, plain])))


def load_model() -> None:
    """Load the model now (a second or so), not on the first turn."""
    from profanity_check import predict_prob

    predict_prob([""])
