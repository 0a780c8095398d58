"""The semantic cache's veto: two questions that disagree on numbers, negation or opposite
words are never the same question, however close their embeddings. Sentence embeddings
barely see these words although each flips the answer (MiniLM: "...LoRA rank 16" vs "...rank
8" 0.977, "...thumbs up?" vs "...thumbs down?" 0.972, "biggest benefit" vs "biggest risk"
0.897)."""

from __future__ import annotations

import re

from assistant.text import OPPOSITE_PAIRS

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_NUMBER_WORDS = {
    word: str(value) for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
del _NUMBER_WORDS["one"]  # far more often a pronoun ("use one off the shelf") than a number
_NEGATIONS = {"not", "no", "never", "without", "cannot", "none", "nothing", "nor", "neither",
              "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "cant", "wont",
              "shouldnt", "wouldnt", "couldnt", "havent", "hasnt", "mustnt"}

_CONTRAST_WORDS = {word for pair in OPPOSITE_PAIRS for word in pair}


def contrast_terms(question: str) -> frozenset[str]:
    """The opposite-pair words a question uses; two questions must agree on them to match."""
    return frozenset(w for w in _WORD.findall(question.lower()) if w in _CONTRAST_WORDS)


def key_terms(question: str) -> tuple[frozenset[str], bool]:
    """(numbers, negated): "rank 16" vs "rank 8", "ROUGE-2" vs "ROUGE-L", "not" vs no "not".

    The handbook names numbers and negations as the classic false hits of semantic caches.
    """
    text = question.lower()
    numbers = {n.replace(",", "") for n in _NUMBER.findall(text)}
    words = _WORD.findall(text)
    numbers |= {_NUMBER_WORDS[w] for w in words if w in _NUMBER_WORDS}
    negated = any(w in _NEGATIONS or w.endswith("n't") for w in words)
    return frozenset(numbers), negated


def vetoed(question: str, other: str) -> bool:
    """True when the two questions disagree on numbers, negation or opposite words."""
    return (key_terms(question) != key_terms(other)
            or contrast_terms(question) != contrast_terms(other))
