"""Statistics for comparing eval runs: standard errors, bootstrap CIs, paired deltas,
win rates (raw and length-controlled) and a pass/fail regression verdict.

All resampling is vectorised numpy and seeded, so the same inputs and seed always give
the same numbers.  Inputs are per-item scores; undefined per-item values (``None``/NaN)
must be filtered out by the caller (for paired comparisons, on both sides together) —
they are rejected here rather than silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

# Upper bound on the number of indices drawn at once (resamples x items) by the bootstrap.
_MAX_DRAW = 2_000_000


def _as_array(values: Sequence[float], name: str = "values") -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numbers (filter out None first)") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def _check_bootstrap_args(n_resamples: int, confidence: float) -> None:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def _bootstrap_means(arr: np.ndarray, n_resamples: int, seed: int | None) -> np.ndarray:
    """Means of ``n_resamples`` resamples (with replacement, same size) of ``arr``."""
    rng = np.random.default_rng(seed)
    n = arr.size
    rows = max(1, _MAX_DRAW // n)
    out = np.empty(n_resamples)
    for start in range(0, n_resamples, rows):
        stop = min(start + rows, n_resamples)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = arr[idx].mean(axis=1)
    return out


def _percentile_interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    low, high = np.quantile(samples, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def mean_with_stderr(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and standard error of the mean, ``std(ddof=1) / sqrt(n)``.

    The standard error is None for a single value (it is undefined).
    """
    arr = _as_array(values)
    mean = float(arr.mean())
    if arr.size < 2:
        return mean, None
    return mean, float(arr.std(ddof=1) / np.sqrt(arr.size))


def bootstrap_ci(
    values: Sequence[float],
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval ``(low, high)`` of the mean.

    Resamples the items with replacement ``n_resamples`` times and takes the
    ``(1-confidence)/2`` and ``(1+confidence)/2`` quantiles of the resampled means.
    Deterministic for a given ``seed``.
    """
    _check_bootstrap_args(n_resamples, confidence)
    arr = _as_array(values)
    return _percentile_interval(_bootstrap_means(arr, n_resamples, seed), confidence)


def paired_bootstrap_delta(
    baseline: Sequence[float],
    candidate: Sequence[float],
    n_resamples: int = 2000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> dict[str, float]:
    """Paired bootstrap of the mean improvement ``candidate - baseline``.

    ``baseline[i]`` and ``candidate[i]`` must score the same item.  Items are resampled
    as pairs (the same indices on both sides), which removes the between-item variance
    that an unpaired comparison would carry.

    Returns ``delta`` (observed mean of ``candidate - baseline``), ``low``/``high`` (the
    percentile CI of that mean at ``confidence``), ``p_worse`` (share of resamples whose
    delta is < 0: a bootstrap estimate of how likely the candidate is worse) and ``n``.
    Identical inputs give exactly ``delta = low = high = p_worse = 0``.
    """
    _check_bootstrap_args(n_resamples, confidence)
    base = _as_array(baseline, "baseline")
    cand = _as_array(candidate, "candidate")
    if base.size != cand.size:
        raise ValueError(f"baseline has {base.size} items but candidate has {cand.size}")
    diffs = cand - base
    boot = _bootstrap_means(diffs, n_resamples, seed)
    low, high = _percentile_interval(boot, confidence)
    return {
        "delta": float(diffs.mean()),
        "low": low,
        "high": high,
        "p_worse": float(np.mean(boot < 0)),
        "n": int(diffs.size),
    }


def _outcomes(
    baseline_scores: Sequence[float], candidate_scores: Sequence[float], tie_margin: float
) -> np.ndarray:
    """Per item: 1.0 candidate wins, 0.5 tie (|difference| <= tie_margin), 0.0 loss."""
    if tie_margin < 0:
        raise ValueError("tie_margin must be >= 0")
    base = _as_array(baseline_scores, "baseline_scores")
    cand = _as_array(candidate_scores, "candidate_scores")
    if base.size != cand.size:
        raise ValueError(f"baseline has {base.size} items but candidate has {cand.size}")
    diff = cand - base
    return np.where(diff > tie_margin, 1.0, np.where(diff < -tie_margin, 0.0, 0.5))


def win_tie_loss(
    baseline_scores: Sequence[float], candidate_scores: Sequence[float], tie_margin: float = 0.0
) -> dict[str, Any]:
    """Count candidate wins, ties and losses item by item.

    A tie is ``|candidate - baseline| <= tie_margin``.  ``win_rate`` is
    ``(wins + 0.5 * ties) / n`` (AlpacaEval convention), so identical runs score 0.5.
    """
    outcome = _outcomes(baseline_scores, candidate_scores, tie_margin)
    win = int(np.sum(outcome == 1.0))
    tie = int(np.sum(outcome == 0.5))
    loss = int(np.sum(outcome == 0.0))
    return {
        "win": win,
        "tie": tie,
        "loss": loss,
        "n": int(outcome.size),
        "win_rate": (win + 0.5 * tie) / outcome.size,
    }


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # numerically stable logistic


def _fit_logistic(
    X: np.ndarray, y: np.ndarray, l2: float, max_iter: int
) -> tuple[np.ndarray, bool]:
    """Ridge-penalised logistic regression with fractional targets, by damped Newton steps.

    Minimises ``mean(softplus(X @ w) - y * (X @ w)) + l2/2 * |w|^2`` (the cross-entropy
    with soft labels ``y`` in [0, 1]).  Returns the weights and whether it converged.
    """
    n, d = X.shape

    def objective(w: np.ndarray) -> float:
        eta = X @ w
        softplus = np.logaddexp(0.0, eta)
        return float(np.mean(softplus - y * eta) + 0.5 * l2 * (w @ w))

    w = np.zeros(d)
    current = objective(w)
    for _ in range(max_iter):
        p = _sigmoid(X @ w)
        grad = X.T @ (p - y) / n + l2 * w
        hess = (X.T * (p * (1 - p))) @ X / n + l2 * np.eye(d)
        step = np.linalg.solve(hess, grad)
        decrement = float(grad @ step)  # squared Newton decrement: ~2x the remaining gap
        if decrement < 1e-18:
            return w, True
        t = 1.0  # backtracking (Armijo) line search, tolerant of float noise in the objective
        slack = 1e-15 * max(1.0, abs(current))
        while t > 1e-10:
            trial = w - t * step
            value = objective(trial)
            if value <= current - 1e-4 * t * decrement + slack:
                break
            t *= 0.5
        else:
            return w, True  # no further decrease possible at float precision
        w, current = trial, value
    return w, False


def length_controlled_win_rate(
    baseline_scores: Sequence[float],
    candidate_scores: Sequence[float],
    baseline_lengths: Sequence[float],
    candidate_lengths: Sequence[float],
    *,
    tie_margin: float = 0.0,
    l2: float = 1e-4,
    max_iter: int = 100,
) -> dict[str, Any]:
    """Win rate of the candidate with the effect of answer length regressed out.

    Method (a simplified take on AlpacaEval's length-controlled win rate):

    1. Per item, the outcome is ``y = 1`` (candidate wins), ``0.5`` (tie, i.e. the score
       difference is within ``tie_margin``) or ``0`` (loss) — ties are fractional targets.
    2. The length difference ``d = candidate_length - baseline_length`` is divided by its
       standard deviation (not centred, so ``z = 0`` still means "same length").
    3. A logistic regression ``P(win) = sigmoid(b + w * z)`` is fitted by minimising the
       cross-entropy with the soft targets plus a small ridge penalty ``l2/2 * (b² + w²)``
       (keeps the fit finite when outcomes are perfectly separated by length), using
       Newton's method with a backtracking line search, numpy only.
    4. The length-controlled win rate is the prediction at zero length difference,
       ``sigmoid(b)``: how often the candidate would win if both answers were as long.

    If every item has the same length difference, the length effect cannot be separated
    from quality; the slope is then fixed at 0 and the result is the (ridge-shrunk) raw
    win rate.

    Returns ``lc_win_rate``, the raw ``win_rate``, the fitted ``intercept`` and ``slope``
    (log-odds per standard deviation of length difference), ``length_scale`` (that
    standard deviation; 0.0 in the degenerate case), ``n`` and ``converged``.
    """
    y = _outcomes(baseline_scores, candidate_scores, tie_margin)
    base_len = _as_array(baseline_lengths, "baseline_lengths")
    cand_len = _as_array(candidate_lengths, "candidate_lengths")
    if not base_len.size == cand_len.size == y.size:
        raise ValueError("scores and lengths must all have the same number of items")
    if l2 <= 0:
        raise ValueError("l2 must be > 0")

    diff = cand_len - base_len
    scale = float(diff.std())
    if scale > 0:
        X = np.column_stack([np.ones_like(diff), diff / scale])
    else:
        X = np.ones((diff.size, 1))
    w, converged = _fit_logistic(X, y, l2, max_iter)
    intercept = float(w[0])
    return {
        "lc_win_rate": float(_sigmoid(np.array(intercept))),
        "win_rate": float(y.mean()),
        "intercept": intercept,
        "slope": float(w[1]) if w.size > 1 else 0.0,
        "length_scale": scale,
        "n": int(y.size),
        "converged": converged,
    }


def regression_verdict(
    deltas: Mapping[str, Mapping[str, float]],
    margins: Mapping[str, float],
    higher_is_better: Mapping[str, bool],
) -> dict[str, Any]:
    """Pass/fail verdict for a candidate run from per-metric paired bootstrap deltas.

    ``deltas[m]`` is a :func:`paired_bootstrap_delta` result (``candidate - baseline``).
    Each metric's CI is first turned into an *improvement* CI: as is when
    ``higher_is_better[m]``, negated and swapped otherwise (e.g. latency).

    * regression: the improvement CI's upper bound is below ``-margins[m]`` — the
      candidate is confidently worse by more than the tolerated margin;
    * improvement: the improvement CI's lower bound is above 0.

    A metric missing from ``margins`` gets margin 0 (strictest); a metric missing from
    ``higher_is_better`` is an error, since guessing the direction could hide a
    regression.  ``passed`` is True when there is no regression.  ``details`` holds the
    oriented ``delta``/``low``/``high`` and margin per metric.
    """
    regressions: list[str] = []
    improvements: list[str] = []
    details: dict[str, dict[str, float]] = {}
    for metric, result in deltas.items():
        if metric not in higher_is_better:
            raise ValueError(f"higher_is_better has no entry for metric {metric!r}")
        margin = float(margins.get(metric, 0.0))
        if margin < 0:
            raise ValueError(f"margin for {metric!r} must be >= 0")
        if higher_is_better[metric]:
            delta, low, high = result["delta"], result["low"], result["high"]
        else:
            delta, low, high = -result["delta"], -result["high"], -result["low"]
        details[metric] = {"delta": delta, "low": low, "high": high, "margin": margin}
        if high < -margin:
            regressions.append(metric)
        elif low > 0:
            improvements.append(metric)
    return {
        "passed": not regressions,
        "regressions": regressions,
        "improvements": improvements,
        "details": details,
    }
