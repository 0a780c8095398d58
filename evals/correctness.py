"""Answered but wrong: does an answer say what its reference (or, without one, its sources) says?

Token overlap with the reference rewards an answer that borrows the right words into a false
claim, so the answer is read with the support check's cross-encoder instead:

* with a reference (golden items, logged turns with a user's correction): a sentence is right
  when the reference, or a shown passage from a gold source, supports it; the answer is wrong
  when none of its sentences is right or the reference contradicts one of them;
* without a reference (logged turns): the answer is wrong when a sentence is supported by none
  of the passages shown to the model.

An answer to an unanswerable question is wrong whatever it says; a refusal is never wrong here
(refusal correctness scores refusals).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from assistant.guards.support import CONTRADICTED, SUPPORTED, SupportChecker
from assistant.text import content_words, split_sentences

VERSION = "support-check-vs-reference-1"


@lru_cache(maxsize=1)
def shipped_checker() -> SupportChecker:
    return SupportChecker()


def claims(answer: str) -> list[str]:
    return [s.claim for s in split_sentences(answer) if len(content_words(s.claim)) >= 2]


def wrong_against_reference(answer: str, reference: str, gold_passages: Sequence[str],
                            checker: SupportChecker) -> bool:
    sentences = claims(answer)
    if not sentences:
        return False  # nothing claimed (a bare marker, a decline in other words)
    premises = [reference, *gold_passages]
    judged = checker.judge_many([(c, p) for c in sentences for p in premises])
    rows = [judged[i * len(premises):(i + 1) * len(premises)] for i in range(len(sentences))]
    right = [any(j.label == SUPPORTED for j in row) for row in rows]
    contradicted = [row[0].label == CONTRADICTED and not ok for row, ok in zip(rows, right,
                                                                              strict=True)]
    return not any(right) or any(contradicted)


def unsupported_by_passages(answer: str, passages: Sequence[str],
                            checker: SupportChecker) -> bool:
    sentences = claims(answer)
    if not sentences or not passages:
        return bool(sentences)
    judged = checker.judge_many([(c, p) for c in sentences for p in passages])
    n = len(passages)
    return any(not any(j.label == SUPPORTED for j in judged[i * n:(i + 1) * n])
               for i in range(len(sentences)))


def answered_wrong(result, checker: SupportChecker | None = None) -> float | None:
    """1.0 answered and wrong, 0.0 refused or right, None when it cannot be told."""
    if result.refused or not result.answer:
        return 0.0 if result.answerable is not None or result.reference else None
    if result.answerable is False:
        return 1.0
    checker = checker or shipped_checker()
    if result.reference:
        gold = [t for s, t in zip(result.passage_sources, result.passage_texts, strict=True)
                if s in set(result.gold_sources)]
        return float(wrong_against_reference(result.answer, result.reference, gold, checker))
    return float(unsupported_by_passages(result.answer, result.passage_texts, checker))
