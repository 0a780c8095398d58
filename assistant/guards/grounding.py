"""Groundedness: split an answer into sentences with their [n] markers and score each sentence
against the passages. With a support checker (assistant/guards/support.py) the score is the
probability that the passage supports the sentence, read by a cross-encoder, and each sentence
also gets a label (supported / contradicted / not addressed). Without one, the score is
content-word overlap, plus embedding similarity when an embedder is given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from assistant.guards.support import CONTRADICTED, SUPPORTED, Judgement, SupportChecker
from assistant.records import Passage
from assistant.text import Sentence, content_words

EmbedFn = Callable[[list[str]], list[list[float]]]

# The assistant's own "not in the sources" reply and similar meta sentences are not claims.
META_SENTENCE = re.compile(
    r"(?i)\b(?:cannot|can't|could not|couldn't) find (?:this|that|it|the answer)\b|"
    r"\bnot (?:in|covered by) (?:my|the) sources\b|\bi don't know\b|\bi do not know\b"
)


def lexical_support(claim_words: set[str], passage_words: set[str]) -> float:
    """Share of the sentence's content words that the passage contains."""
    if not claim_words:
        return 1.0
    return len(claim_words & passage_words) / len(claim_words)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


@dataclass
class SentenceSupport:
    sentence: Sentence
    lexical: dict[int, float]  # passage number -> overlap score
    semantic: dict[int, float]  # passage number -> cosine (empty without an embedder)
    meta: bool = False  # not a claim ("I cannot find this in my sources")
    judged: dict[int, Judgement] = field(default_factory=dict)  # with a support checker

    def score(self, n: int, embedding_weight: float) -> float:
        if self.judged:  # the checker's verdict: supported or not
            return 1.0 if n in self.judged and self.judged[n].label == SUPPORTED else 0.0
        lex = self.lexical.get(n, 0.0)
        if n not in self.semantic:
            return lex
        return max(lex, (1 - embedding_weight) * lex + embedding_weight * self.semantic[n])

    def best(self, numbers: Sequence[int], embedding_weight: float) -> tuple[float, int | None]:
        best, best_n = 0.0, None
        for n in numbers:
            s = self.score(n, embedding_weight)
            if s > best:
                best, best_n = s, n
        return best, best_n

    def contradicted_by(self, numbers: Sequence[int]) -> list[int]:
        """The passages among `numbers` that the checker reads as contradicting the sentence."""
        return [n for n in numbers if n in self.judged and self.judged[n].label == CONTRADICTED]


def judge_claims(table: list[SentenceSupport], passages: Sequence[Passage],
                 checker: SupportChecker) -> None:
    """Fill each claim's `judged` with the checker's reading against every passage (one batch)."""
    claims = [row for row in table if not row.meta and content_words(row.sentence.claim)]
    pairs = [(row.sentence.claim, f"{p.heading}. {p.text}") for row in claims for p in passages]
    judgements = iter(checker.judge_many(pairs))
    for row in claims:
        row.judged = {p.n: next(judgements) for p in passages}


def support_table(
    sentences: Sequence[Sentence],
    passages: Sequence[Passage],
    embed_fn: EmbedFn | None = None,
    checker: SupportChecker | None = None,
) -> list[SentenceSupport]:
    passage_words = {p.n: content_words(f"{p.heading} {p.text}") for p in passages}
    table = []
    for s in sentences:
        words = content_words(s.claim)
        lexical = {n: lexical_support(words, pw) for n, pw in passage_words.items()}
        table.append(SentenceSupport(s, lexical, {}, meta=bool(META_SENTENCE.search(s.claim))))
    if checker is not None and passages and sentences:
        judge_claims(table, passages, checker)
    elif embed_fn is not None and passages and sentences:
        claims = [row.sentence.claim or row.sentence.text for row in table]
        vectors = embed_fn(claims + [p.text for p in passages])
        claim_vectors, passage_vectors = vectors[: len(claims)], vectors[len(claims):]
        for row, cv in zip(table, claim_vectors, strict=True):
            row.semantic = {
                p.n: cosine(cv, pv) for p, pv in zip(passages, passage_vectors, strict=True)
            }
    return table
