"""Groundedness and citation precision: how much of an answer its passages support, by content
words. Sentences, citation markers and content words are those of ``assistant.text``, which the
output guards use too, so that the evals and the guards agree on what "grounded" means.

Versioned in :data:`evals.metrics.METRIC_VERSIONS`; a score that is undefined is None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from assistant.text import Sentence, content_words, cosine, split_sentences

EmbedFn = Callable[[list[str]], Any]


def _support(claim_words: set[str], passage_words: set[str]) -> float:
    """Share of the claim's content words that the passage contains."""
    return len(claim_words & passage_words) / len(claim_words)


def _claims(answer: str | Sequence[str]) -> list[str]:
    """The sentences of the answer without their [n] markers; a list is taken as already split."""
    if isinstance(answer, str):
        return [s.claim for s in split_sentences(answer)]
    return [Sentence(s, 0, len(s)).claim for s in answer]


def _semantic(sentences: list[str], passages: Sequence[str], embed_fn: EmbedFn) -> dict[str, Any]:
    """Max cosine of each sentence to any passage, and their mean."""
    semantic: list[float] = []
    if sentences and passages:
        vectors = list(embed_fn(sentences + list(passages)))
        sent_vecs, pass_vecs = vectors[: len(sentences)], vectors[len(sentences) :]
        semantic = [max(cosine(s, p) for p in pass_vecs) for s in sent_vecs]
    elif sentences:
        semantic = [0.0] * len(sentences)
    return {"semantic_per_sentence": semantic,
            "semantic_score": float(np.mean(semantic)) if semantic else None}


def groundedness(
    answer: str | Sequence[str],
    passages: Sequence[str],
    embed_fn: EmbedFn | None = None,
) -> dict[str, Any]:
    """Lexical groundedness of an answer in the retrieved passages.

    ``answer`` is either the answer text (split with ``assistant.text.split_sentences``,
    citation markers stripped) or an already-split list of sentences.  For each sentence, its
    *support* by a passage is the share of the sentence's content words
    (``assistant.text.content_words``: lowercased, stemmed, stopwords dropped) that also occur
    in the passage; the sentence's score is the maximum support over passages (0.0 with no
    passages).  Sentences with no content words ("Sure!", or text in a script other than
    Latin) are skipped.

    Returns a dict with ``score`` (mean over scored sentences, None if there are none),
    ``per_sentence``, ``sentences`` (the scored sentences) and ``best_passage`` (index of the
    most supporting passage, None when there are no passages).

    If ``embed_fn`` is given (a callable mapping a list of texts to a list of vectors, e.g.
    the assistant's embedder), the result also carries ``semantic_per_sentence`` (max
    cosine similarity of each sentence to any passage) and ``semantic_score`` (their mean).
    The lexical ``score`` does not depend on it.
    """
    passage_words = [content_words(p) for p in passages]
    sentences: list[str] = []
    per_sentence: list[float] = []
    best_passage: list[int | None] = []
    for sentence in _claims(answer):
        words = content_words(sentence)
        if not words:
            continue
        supports = [_support(words, p) for p in passage_words]
        best = max(range(len(supports)), key=supports.__getitem__) if supports else None
        sentences.append(sentence)
        per_sentence.append(0.0 if best is None else supports[best])
        best_passage.append(best)

    result: dict[str, Any] = {
        "score": float(np.mean(per_sentence)) if per_sentence else None,
        "per_sentence": per_sentence,
        "sentences": sentences,
        "best_passage": best_passage,
    }
    if embed_fn is not None:
        result.update(_semantic(sentences, passages, embed_fn))
    return result


def citation_precision(
    answer: str, passages_by_number: dict[int, str], threshold: float = 0.5
) -> float | None:
    """Share of (sentence, cited passage) pairs where the cited passage supports the sentence.

    Sentences and markers are found as in :func:`groundedness` (a marker after a full stop
    belongs to the sentence before it; repeated numbers in one sentence count once).  A
    pair is supported when the support of the sentence by passage ``n`` (share of the
    sentence's content words found in it) is ``>= threshold``.  A number missing from
    ``passages_by_number`` counts as unsupported.  Returns None when the answer cites
    nothing.
    """
    pairs = supported = 0
    for sentence in split_sentences(answer):
        words = content_words(sentence.claim)
        if not words:
            continue
        for n in sentence.citations:
            pairs += 1
            passage = passages_by_number.get(n)
            if passage is not None and _support(words, content_words(passage)) >= threshold:
                supported += 1
    return supported / pairs if pairs else None
