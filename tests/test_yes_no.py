"""Yes/no questions: which questions count, and the first-token correction of a model's "Yes"
habit in both runtimes (llama.cpp on a tiny random-weight qwen2, made in the test)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.yes_no import is_yes_no_question, opening_bias


@pytest.mark.parametrize("question", [
    "Is hit@k the same thing as recall@k?",
    "does Chroma use cosine distance by default?",
    "Can I add PDF files to the knowledge base?",
    "Isn't BLEU a precision metric?",
    "is the us a member of nato? Answer yes or no.",
    "  \"Should I cache refusals?\"",
])
def test_questions_that_expect_yes_or_no(question):
    assert is_yes_no_question(question)


@pytest.mark.parametrize("question", [
    "What is BLEU?",
    "How does the semantic cache decide that two questions are the same?",
    "Is BLEU or chrF better for German?",  # asks to choose
    "Why is my sentence-level BLEU exactly zero?",
    "Island hopping tips?",  # 'Is' only as the start of a word
    "",
])
def test_questions_that_do_not(question):
    assert not is_yes_no_question(question)


def test_only_the_first_token_is_shifted():
    adjust = opening_bias(token_id=2, bias=1.5)
    first = adjust(None, np.zeros(5, dtype=np.float32))
    second = adjust(None, np.zeros(5, dtype=np.float32))
    assert first.tolist() == [0, 0, -1.5, 0, 0]
    assert second.tolist() == [0] * 5


def test_a_batch_of_one_is_shifted_too():
    torch = pytest.importorskip("torch")
    scores = opening_bias(token_id=1, bias=2.0)(None, torch.zeros((1, 3)))
    assert scores.tolist() == [[0.0, -2.0, 0.0]]


MESSAGES = [{"role": "system", "content": "Answer from the sources."},
            {"role": "user", "content": "Sources:\n\n[1] LoRA freezes the base.\n\nQuestion: ?"}]


def test_llama_cpp_lowers_the_first_word_on_yes_no_questions_only(tiny_qwen_gguf, monkeypatch):
    from assistant import llama_generator
    from assistant.llama_generator import LlamaCppGenerator

    generator = LlamaCppGenerator(tiny_qwen_gguf, name="tiny", threads=1, context_tokens=512,
                                  yes_bias=1e4)
    plain = list(generator.stream(MESSAGES, max_new_tokens=3))
    # Random weights never favour "Yes"; stand the model's own first choice in for it.
    monkeypatch.setattr(llama_generator, "YES_WORD", plain[0])
    assert list(generator.stream(MESSAGES, max_new_tokens=3, yes_no=False)) == plain
    shifted = list(generator.stream(MESSAGES, max_new_tokens=3, yes_no=True))
    assert shifted[0] != plain[0]


def test_a_model_without_a_measured_bias_is_left_alone(tiny_qwen_gguf, monkeypatch):
    from assistant import llama_generator
    from assistant.llama_generator import LlamaCppGenerator

    generator = LlamaCppGenerator(tiny_qwen_gguf, name="tiny", threads=1, context_tokens=512)
    plain = list(generator.stream(MESSAGES, max_new_tokens=3))
    monkeypatch.setattr(llama_generator, "YES_WORD", plain[0])
    assert list(generator.stream(MESSAGES, max_new_tokens=3, yes_no=True)) == plain


def test_the_calibration_picks_the_smallest_best_bias():
    from evals.yes_no_calibration import accuracy_by_bias, best_bias

    rows = [{"label": "yes", "log_odds": 3.0}, {"label": "yes", "log_odds": 2.0},
            {"label": "no", "log_odds": 1.0}, {"label": "no", "log_odds": -1.0}]
    table = accuracy_by_bias(rows, biases=(0.0, 1.0, 1.5, 2.5))
    assert [row["accuracy"] for row in table] == [0.75, 1.0, 1.0, 0.75]
    assert [row["said_no"] for row in table] == [1, 2, 2, 3]
    assert best_bias(table) == 1.0
