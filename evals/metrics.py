"""Metric functions for the offline eval suite, and the version of each.

Everything here is a small, pure function: no model is loaded and nothing is read from disk.
This module holds the retrieval, refusal and calibration metrics; the metrics of an answer
against its reference are in :mod:`evals.reference_metrics`, groundedness and citation
precision in :mod:`evals.grounding_metrics`, and the vector cosine in ``assistant.text``.

Every public metric has an entry in :data:`METRIC_VERSIONS`.  An eval run records that
dict next to its scores, so two runs are only compared when they measured the same thing.
Bump a version string whenever a change could move a score.

Conventions
-----------
* Scores in ``[0, 1]`` unless stated otherwise; BLEU and chrF use sacrebleu's 0-100 scale.
* ``references`` may be a single string or a non-empty list of strings; per-item text
  metrics take the maximum over references.
* A value that is undefined for the given input (no gold sources, no citations, a class
  that never occurs, ...) is returned as ``None`` rather than as a misleading 0 or 1, and
  never raises ``ZeroDivisionError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import sacrebleu

_SB = sacrebleu.__version__

METRIC_VERSIONS: dict[str, str] = {
    "normalize_answer": "norm-squad-unicode-1",
    "exact_match": "em-squad-unicode-1",
    "token_f1": "f1-squad-unicode-1",
    "bleu": f"sacrebleu-{_SB}-bleu-corpus-1",
    "sentence_bleu": f"sacrebleu-{_SB}-bleu-sentence-effective-order-1",
    "chrf": f"sacrebleu-{_SB}-chrf-corpus-1",
    "sentence_chrf": f"sacrebleu-{_SB}-chrf-sentence-1",
    "rouge_l": "rouge-score-0.1.2-rougeL-f-unicode-tok-1",
    "hit_at_k": "hit-at-k-1",
    "reciprocal_rank": "rr-1",
    "recall_at_k": "recall-at-k-unique-gold-1",
    "refusal_confusion": "refusal-positive-class-1",
    "groundedness": "content-words-max-passage-2",
    "citation_precision": "citation-content-words-2",
    "expected_calibration_error": "ece-equal-width-right-closed-1",
    "cosine": "cosine-1",  # assistant.text.cosine, as answer relevance uses it
}


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")


# ---------------------------------------------------------------------------------------
# Retrieval
#
# ``retrieved_sources`` is the ranked list of source ids the retriever returned (best
# first; duplicates allowed, e.g. two chunks of one document).  ``gold_sources`` are the
# sources that answer the question.  With no gold sources the metric is undefined: None.


def hit_at_k(retrieved_sources: Sequence[str], gold_sources: Iterable[str], k: int) -> float | None:
    """1.0 if any gold source is among the first ``k`` retrieved, else 0.0 (None: no gold)."""
    _check_k(k)
    gold = set(gold_sources)
    if not gold:
        return None
    return float(any(src in gold for src in list(retrieved_sources)[:k]))


def reciprocal_rank(
    retrieved_sources: Sequence[str], gold_sources: Iterable[str], k: int | None = None
) -> float | None:
    """1/rank of the first gold source (rank 1 = first), 0.0 if none is found.

    This is the per-query term of MRR; pass ``k`` for MRR@k.  None when there is no gold.
    """
    if k is not None:
        _check_k(k)
    gold = set(gold_sources)
    if not gold:
        return None
    ranked = list(retrieved_sources) if k is None else list(retrieved_sources)[:k]
    for rank, src in enumerate(ranked, start=1):
        if src in gold:
            return 1.0 / rank
    return 0.0


def recall_at_k(
    retrieved_sources: Sequence[str], gold_sources: Iterable[str], k: int
) -> float | None:
    """Share of distinct gold sources found among the first ``k`` retrieved (None: no gold)."""
    _check_k(k)
    gold = set(gold_sources)
    if not gold:
        return None
    return len(gold & set(list(retrieved_sources)[:k])) / len(gold)


# ---------------------------------------------------------------------------------------
# Refusals


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def refusal_confusion(items: Iterable[tuple[bool, bool]]) -> dict[str, Any]:
    """Confusion matrix of refusals, with *refuse* as the positive class.

    ``items`` are ``(should_refuse, did_refuse)`` pairs.

    * ``tp``: should refuse and did;  ``fn``: should refuse but answered;
    * ``fp``: should answer but refused (over-refusal);  ``tn``: should answer and did.

    Returns ``precision`` = tp/(tp+fp) (of the refusals, how many were right),
    ``recall`` = tp/(tp+fn) (of the questions to refuse, how many were refused),
    ``f1``, ``accuracy``, ``false_refusal_rate`` = fp/(fp+tn), ``n`` and ``counts``.
    Any ratio with a zero denominator is None.  ``f1`` is None when precision or recall
    is None, and 0.0 when both are 0.
    """
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for should_refuse, did_refuse in items:
        key = ("tp" if did_refuse else "fn") if should_refuse else ("fp" if did_refuse else "tn")
        counts[key] += 1
    tp, fp, fn, tn = counts["tp"], counts["fp"], counts["fn"], counts["tn"]
    n = tp + fp + fn + tn
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    if precision is None or recall is None:
        f1 = None
    elif precision + recall == 0:
        f1 = 0.0
    else:
        f1 = 2 * precision * recall / (precision + recall)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": _ratio(tp + tn, n),
        "false_refusal_rate": _ratio(fp, fp + tn),
        "n": n,
        "counts": counts,
    }


# ---------------------------------------------------------------------------------------
# Calibration


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool | float], n_bins: int = 10
) -> float | None:
    """Expected calibration error with ``n_bins`` equal-width bins on [0, 1].

    Bins are right-closed, ``(i/n, (i+1)/n]``, with 0.0 in the first bin.
    ECE = sum over bins of ``|bin| / N * |accuracy(bin) - mean confidence(bin)|``.
    ``correct`` is booleans or 0/1 (fractions are accepted as partial credit).
    Returns None for empty input.
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    conf = np.asarray(confidences, dtype=float)
    acc = np.asarray(correct, dtype=float)
    if conf.shape != acc.shape or conf.ndim != 1:
        raise ValueError("confidences and correct must be 1-D and of equal length")
    if conf.size == 0:
        return None
    if np.any((conf < 0) | (conf > 1)) or np.any(np.isnan(conf)):
        raise ValueError("confidences must lie in [0, 1]")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.searchsorted(edges[1:-1], conf, side="left")
    conf_sum = np.bincount(bins, weights=conf, minlength=n_bins)
    acc_sum = np.bincount(bins, weights=acc, minlength=n_bins)
    return float(np.abs(acc_sum - conf_sum).sum() / conf.size)
