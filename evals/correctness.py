"""Answered but wrong: does an answer say what its reference (or, without one, its sources) says?

Token overlap with the reference rewards an answer that borrows the right words into a false
claim, so the answer is read with the support check's cross-encoder instead:

* with a reference (golden items, logged turns with a user's correction): the answer is right
  when it says at least half of what the reference says (the share of the reference's content
  words it contains) or the reference supports one of its sentences, and the reference
  contradicts none of them. A true sentence from the right passage that does not answer the
  question ("Implicit feedback is inferred from what users do" for "what are examples of
  implicit feedback?") is wrong: checking against the gold passages instead of the reference
  passed such answers, and reading the golden test answers showed them to be most of the
  misses. A number the reference lacks is not a contradiction when the passages shown to the
  model state it: references are short, so a true detail they leave out looks like a
  contradiction of them ("6 layers" beside "all-MiniLM-L6-v2"); reading the golden answers of
  a model that writes longer answers showed most of its flags were these. A reference that
  opens with Yes or No is answered by an answer opening with the same word;
* without a reference (logged turns): the answer is wrong when a sentence is supported by none
  of the passages shown to the model.

An answer to an unanswerable question is wrong whatever it says; a refusal is never wrong here
(refusal correctness scores refusals).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from assistant.guards.contradiction_cues import numbers_in
from assistant.guards.support import CONTRADICTED, SUPPORTED, Judgement, SupportChecker
from assistant.text import content_words, split_sentences

VERSION = "reference-recall-or-support-3"
MIN_REFERENCE_RECALL = 0.5


@lru_cache(maxsize=1)
def shipped_checker() -> SupportChecker:
    return SupportChecker()


def claims(answer: str) -> list[str]:
    return [s.claim for s in split_sentences(answer) if len(content_words(s.claim)) >= 2]


def reference_recall(answer: str, reference: str) -> float:
    words = content_words(reference)
    return len(words & content_words(answer)) / len(words) if words else 0.0


def yes_or_no(text: str) -> str | None:
    first = text.strip().split(maxsplit=1)[:1]
    word = first[0].strip(".,;:!").lower() if first else ""
    return word if word in ("yes", "no") else None


def same_yes_no(answer: str, reference: str) -> bool:
    """A reference that opens with Yes or No is answered by the same word first: the reasons
    it gives after it are not what the question asked."""
    expected = yes_or_no(reference)
    return expected is not None and yes_or_no(answer) == expected


def numbers_from_sources(claim: str, passages: Sequence[str]) -> bool:
    """Every number the claim states is in a passage shown to the model."""
    stated = numbers_in(claim)
    return bool(stated) and stated <= set().union(*(numbers_in(p) for p in passages))


def contradicts_reference(claim: str, judgement: Judgement, passages: Sequence[str]) -> bool:
    if judgement.label != CONTRADICTED or not judgement.cues:
        return False
    # References are short: a number the answer took from its source ("6 layers" beside
    # "all-MiniLM-L6-v2") is missing from the reference, not contradicted by it.
    return set(judgement.cues) != {"number"} or not numbers_from_sources(claim, passages)


def wrong_against_reference(answer: str, reference: str, checker: SupportChecker,
                            passages: Sequence[str] = ()) -> bool:
    sentences = claims(answer)
    if not sentences:
        return False  # nothing claimed (a bare marker, a decline in other words)
    judged = checker.judge_many([(c, reference) for c in sentences])
    if any(contradicts_reference(c, j, passages) for c, j in zip(sentences, judged, strict=True)):
        return True  # says the opposite of the reference
    says_enough = (reference_recall(answer, reference) >= MIN_REFERENCE_RECALL
                   or same_yes_no(answer, reference))
    return not (says_enough or any(j.label == SUPPORTED for j in judged))


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
        return float(wrong_against_reference(result.answer, result.reference, checker,
                                             result.passage_texts))
    return float(unsupported_by_passages(result.answer, result.passage_texts, checker))
