"""Quote instead of withholding: when the model's answer fails the support check, show the
source sentences that answer the question, verbatim, each with its [n] marker.

A sentence qualifies when its embedding is close to the question's and it shares a content
word with it; the best one or two are quoted, in source order within a passage. When none
qualifies the turn is refused as before: nothing in the sources answers, as far as we can tell.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.records import Passage
from assistant.text import content_words, split_sentences

EmbedFn = Callable[[list[str]], list[list[float]]]

# Chosen on the golden train split (`python -m evals.quote_threshold`: 47 of 64 decisions
# right); the two unanswerable questions that reached generation scored 0.62 and 0.63.
MIN_SIMILARITY = 0.66
MAX_QUOTES = 2
MAX_QUOTE_CHARS = 400
QUOTED_NOTICE = (
    "Quoted from the sources: the model's own answer did not pass the check against its "
    "sources, so these are the sources' sentences, word for word."
)


@dataclass(frozen=True)
class Quote:
    n: int
    sentence: str
    similarity: float


def candidate_sentences(passages: Sequence[Passage]) -> list[tuple[int, str]]:
    out = []
    for p in passages:
        for s in split_sentences(p.text):
            text = s.claim
            if len(content_words(text)) >= 3 and len(text) <= MAX_QUOTE_CHARS:
                out.append((p.n, text))
    return out


def best_quotes(question: str, passages: Sequence[Passage], embed_fn: EmbedFn,
                min_similarity: float = MIN_SIMILARITY, max_quotes: int = MAX_QUOTES
                ) -> list[Quote]:
    """The sentences that answer the question best, most similar first; [] when none does."""
    candidates = candidate_sentences(passages)
    question_words = content_words(question)
    candidates = [(n, s) for n, s in candidates if content_words(s) & question_words]
    if not candidates:
        return []
    vectors = np.asarray(embed_fn([question] + [s for _, s in candidates]), dtype=float)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
    similarities = vectors[1:] @ vectors[0]
    ranked = sorted(range(len(candidates)), key=lambda i: -similarities[i])
    quotes = [Quote(candidates[i][0], candidates[i][1], round(float(similarities[i]), 4))
              for i in ranked[:max_quotes] if similarities[i] >= min_similarity]
    return quotes


def block_quotes(sentences: Sequence[tuple[int, str]]) -> str:
    """Markdown block quotes, one per (passage number, sentence), each with its marker."""
    return "\n\n".join(f"> {sentence} [{n}]" for n, sentence in sentences)


def quoted_answer(quotes: Sequence[Quote]) -> str:
    return block_quotes([(q.n, q.sentence) for q in quotes])
