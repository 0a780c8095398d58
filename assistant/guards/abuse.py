"""Abusive language: alt-profanity-check's linear model (bundled in its wheel; no download)."""

from __future__ import annotations


def abuse_probability(text: str) -> float:
    """The model's probability that the text is abusive (0.0 for blank text)."""
    if not text.strip():
        return 0.0
    from profanity_check import predict_prob  # loads the model on first use

    return float(predict_prob([text])[0])


def load_model() -> None:
    """Load the model now (a second or so), not on the first turn."""
    from profanity_check import predict_prob

    predict_prob([""])
