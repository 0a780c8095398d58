"""The evidence rule: which retrieved passages count as evidence and are shown to the model."""

from assistant.records import Passage
from assistant.retrieval import evidence_passages, has_evidence

BAR = 0.41
QUESTION = "what is graceful degradation?"
NAMES_IT = "Graceful degradation means the product keeps working in a reduced form."
BESIDE_IT = "A fallback answer keeps users informed when a component fails."


def passage(n: int, text: str, score: float) -> Passage:
    return Passage(n, f"c{n}", "defensive-ux.md", "", text, score, 0, len(text))


def test_passages_at_the_bar_are_the_evidence_and_are_renumbered():
    passages = [passage(1, BESIDE_IT, 0.2), passage(2, NAMES_IT, 0.5)]
    shown = evidence_passages(passages, BAR, QUESTION)
    assert [(p.n, p.text) for p in shown] == [(1, NAMES_IT)]


def test_a_near_miss_that_names_the_question_counts_when_nothing_reaches_the_bar():
    passages = [passage(1, NAMES_IT, 0.37), passage(2, BESIDE_IT, 0.36)]
    assert has_evidence(passages, BAR, QUESTION)
    assert [p.text for p in evidence_passages(passages, BAR, QUESTION)] == [NAMES_IT]


def test_a_near_miss_is_not_added_beside_passages_that_reach_the_bar():
    passages = [passage(1, BESIDE_IT, 0.45), passage(2, NAMES_IT, 0.37)]
    assert [p.text for p in evidence_passages(passages, BAR, QUESTION)] == [BESIDE_IT]


def test_no_evidence_when_the_near_miss_does_not_name_the_question_or_is_far_below():
    assert not has_evidence([passage(1, BESIDE_IT, 0.40)], BAR, QUESTION)
    assert not has_evidence([passage(1, NAMES_IT, 0.25)], BAR, QUESTION)
    assert not has_evidence([passage(1, NAMES_IT, 0.37)], BAR)  # no question: the bar alone


def test_a_near_miss_must_hold_the_names_the_question_uses():
    question = "What learning rate was used to train SmolLM2-135M?"
    general = "Typical learning rates for training are 1e-4 to 3e-4 for LoRA."
    assert not has_evidence([passage(1, general, 0.40)], BAR, question)
    assert has_evidence([passage(1, general + " SmolLM2-135M was trained at 3e-3.", 0.40)], BAR,
                        question)
