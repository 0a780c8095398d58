"""The semantic cache's veto rules (in assistant.cache_backend): numbers, negation, opposite
words."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.cache_backend import KeyTermCosineEvaluation
from assistant.cache_veto import contrast_terms, key_terms, vetoed


def test_key_terms_are_numbers_and_negation():
    assert key_terms("Why can't I?") == (frozenset(), True)
    assert key_terms("ROUGE-2 on 4,096 items") == (frozenset({"2", "4096"}), False)
    assert key_terms("LoRA rank eight") == key_terms("LoRA rank 8")
    assert key_terms("use one off the shelf") == (frozenset(), False)  # "one" is no number


def test_opposite_words_are_contrast_terms():
    assert contrast_terms("What does a thumbs up do?") == frozenset({"up"})
    assert contrast_terms("What does a thumbs down do?") == frozenset({"down"})
    assert contrast_terms("How is BLEU computed?") == frozenset()


@pytest.mark.parametrize("question, other", [
    ("How many parameters does LoRA rank 8 train?", "How many parameters does LoRA rank 16 train?"),
    ("Should refusals be cached?", "Should refusals not be cached?"),
    ("What does a thumbs up do?", "What does a thumbs down do?"),
    ("What is the biggest benefit of RAG?", "What is the biggest risk of RAG?"),
])
def test_minimal_pairs_are_vetoed(question, other):
    assert vetoed(question, other) and vetoed(other, question)


def test_rewordings_are_not_vetoed():
    assert not vetoed("How is ROUGE-L computed?", "how do you calculate rouge-l")
    assert not vetoed("LoRA rank eight?", "What does rank 8 mean for LoRA?")


def test_evaluation_is_the_clamped_cosine_unless_vetoed():
    evaluation = KeyTermCosineEvaluation()
    a, b = np.array([1.0, 0.0]), np.array([1.0, 1.0])
    score = evaluation.evaluation({"question": "What is BLEU?", "embedding": a},
                                  {"question": "Define BLEU", "embedding": b})
    assert score == pytest.approx(2 ** -0.5)
    assert evaluation.evaluation({"question": "rank 8", "embedding": a},
                                 {"question": "rank 16", "embedding": a}) == 0.0
    assert evaluation.evaluation({"question": "q", "embedding": a},
                                 {"question": "q", "embedding": -a}) == 0.0
    assert evaluation.evaluation({"question": "q", "embedding": None},
                                 {"question": "q", "embedding": a}) == 0.0
    assert evaluation.range() == (0.0, 1.0)
