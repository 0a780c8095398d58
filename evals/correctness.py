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
  opens with Yes or No is answered by an answer opening with the same word, and contradicted
  by one opening with the other;
* v4, from reading the 1.5B model's golden train answers (26 right, 4 wrong by reading; v3
  flagged 15, 11 of them right): a claim that a passage shown to the model supports is not
  contradicted by the reference (the cues misfire on short references: "without looking at
  the input" beside "only compare the output", "not longer than" beside "longer ... otherwise");
  and a partial answer is right when every claim is supported by the passages and it adds at
  least one of the reference's own points (a content word of the reference that the question
  does not already hold). A true sentence beside the point ("version your golden set like
  code" for "how big should it be?") adds none and stays wrong;
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

VERSION = "reference-recall-or-support-4"
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


def opposite_yes_no(answer: str, reference: str) -> bool:
    expected = yes_or_no(reference)
    return expected is not None and yes_or_no(answer) not in (None, expected)


def contradicts_reference(claim: str, judgement: Judgement, passages: Sequence[str],
                          passage_supported: bool) -> bool:
    if judgement.label != CONTRADICTED or not judgement.cues or passage_supported:
        return False
    # References are short: a number the answer took from its source ("6 layers" beside
    # "all-MiniLM-L6-v2") is missing from the reference, not contradicted by it.
    return set(judgement.cues) != {"number"} or not numbers_from_sources(claim, passages)


def adds_a_reference_point(answer: str, reference: str, question: str) -> bool:
    """The answer holds a content word of the reference that the question does not."""
    return bool((content_words(reference) - content_words(question)) & content_words(answer))


def supported_by_passages(sentences: list[str], passages: Sequence[str],
                          checker: SupportChecker) -> list[bool]:
    if not passages:
        return [False] * len(sentences)
    judged = checker.judge_many([(c, p) for c in sentences for p in passages])
    n = len(passages)
    return [any(j.label == SUPPORTED for j in judged[i * n:(i + 1) * n])
            for i in range(len(sentences))]


def wrong_against_reference(answer: str, reference: str, checker: SupportChecker,
                            passages: Sequence[str] = (), question: str = "") -> bool:
    sentences = claims(answer)
    if not sentences:
        return False  # nothing claimed (a bare marker, a decline in other words)
    judged = checker.judge_many([(c, reference) for c in sentences])
    true_to_passages = supported_by_passages(sentences, passages, checker)
    if opposite_yes_no(answer, reference) or any(
            contradicts_reference(c, j, passages, supported)
            for c, j, supported in zip(sentences, judged, true_to_passages, strict=True)):
        return True  # says the opposite of the reference
    says_enough = (reference_recall(answer, reference) >= MIN_REFERENCE_RECALL
                   or same_yes_no(answer, reference))
    if says_enough or any(j.label == SUPPORTED for j in judged):
        return False
    # A partial answer: right when all of it is true to the sources and it is on the point.
    return not (all(true_to_passages) and adds_a_reference_point(answer, reference, question))


def unsupported_by_passages(answer: str, passages: Sequence[str],
                            checker: SupportChecker) -> bool:
    sentences = claims(answer)
    if not sentences or not passages:
        return bool(sentences)
    return not all(supported_by_passages(sentences, passages, checker))


def answered_wrong(result, checker: SupportChecker | None = None) -> float | None:
    """1.0 answered and wrong, 0.0 refused or right, None when it cannot be told."""
    if result.refused or not result.answer:
        return 0.0 if result.answerable is not None or result.reference else None
    if result.answerable is False:
        return 1.0
    checker = checker or shipped_checker()
    if result.reference:
        return float(wrong_against_reference(result.answer, result.reference, checker,
                                             result.passage_texts, result.question))
    return float(unsupported_by_passages(result.answer, result.passage_texts, checker))
