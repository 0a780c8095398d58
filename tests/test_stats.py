"""Tests for evals.stats: hand-computed values, determinism and the verdict logic."""

import math

import numpy as np
import pytest

from evals.stats import (
    bootstrap_ci,
    length_controlled_win_rate,
    mean_with_stderr,
    paired_bootstrap_delta,
    regression_verdict,
    win_tie_loss,
)

RNG = np.random.default_rng(1234)
SCORES = RNG.uniform(0, 1, size=200).round(3).tolist()


def test_mean_with_stderr_hand_computed():
    mean, se = mean_with_stderr([1, 2, 3, 4])
    # sample variance = (2.25 + .25 + .25 + 2.25) / 3 = 5/3; se = sqrt(5/3) / 2
    assert mean == 2.5
    assert se == pytest.approx(math.sqrt(5 / 3) / 2)
    assert mean_with_stderr([7.0]) == (7.0, None)
    with pytest.raises(ValueError):
        mean_with_stderr([])
    with pytest.raises(ValueError):
        mean_with_stderr([1.0, None])


def test_bootstrap_ci_contains_mean_and_is_deterministic():
    low, high = bootstrap_ci(SCORES)
    mean = float(np.mean(SCORES))
    assert low < mean < high
    # roughly mean +/- 1.96 standard errors
    _, se = mean_with_stderr(SCORES)
    assert high - low == pytest.approx(2 * 1.96 * se, rel=0.15)
    assert bootstrap_ci(SCORES) == (low, high)
    assert bootstrap_ci(SCORES, seed=1) != (low, high)
    narrow = bootstrap_ci(SCORES, confidence=0.5)
    assert low < narrow[0] < narrow[1] < high


def test_bootstrap_ci_degenerate_inputs():
    assert bootstrap_ci([0.0] * 50) == (0.0, 0.0)
    assert bootstrap_ci([1.0]) == (1.0, 1.0)
    with pytest.raises(ValueError):
        bootstrap_ci(SCORES, confidence=1.0)
    with pytest.raises(ValueError):
        bootstrap_ci(SCORES, n_resamples=0)


def test_paired_delta_of_identical_lists_is_exactly_zero():
    r = paired_bootstrap_delta(SCORES, list(SCORES))
    assert r["delta"] == 0.0
    assert (r["low"], r["high"]) == (0.0, 0.0)
    assert r["p_worse"] == 0.0
    assert r["n"] == len(SCORES)


def test_paired_delta_detects_a_worse_candidate():
    worse = [s - 0.1 + 0.02 * RNG.standard_normal() for s in SCORES]
    r = paired_bootstrap_delta(SCORES, worse)
    assert r["delta"] == pytest.approx(float(np.mean(np.subtract(worse, SCORES))))
    assert r["low"] < r["delta"] < r["high"] < 0
    assert r["p_worse"] == 1.0
    assert paired_bootstrap_delta(SCORES, worse) == r  # seeded
    with pytest.raises(ValueError):
        paired_bootstrap_delta(SCORES, worse[:-1])


def test_paired_delta_is_tighter_than_unpaired_noise():
    # candidate = baseline + 0.01 everywhere: the pairing removes all item variance
    r = paired_bootstrap_delta(SCORES, [s + 0.01 for s in SCORES])
    assert r["low"] == pytest.approx(0.01) and r["high"] == pytest.approx(0.01)


def test_regression_verdict():
    worse = [s - 0.1 for s in SCORES]
    deltas_bad = {"token_f1": paired_bootstrap_delta(SCORES, worse)}
    verdict = regression_verdict(deltas_bad, {"token_f1": 0.02}, {"token_f1": True})
    assert verdict["passed"] is False
    assert verdict["regressions"] == ["token_f1"]
    assert verdict["improvements"] == []

    same = {"token_f1": paired_bootstrap_delta(SCORES, SCORES)}
    verdict = regression_verdict(same, {"token_f1": 0.0}, {"token_f1": True})
    assert verdict == {
        "passed": True,
        "regressions": [],
        "improvements": [],
        "details": {"token_f1": {"delta": 0.0, "low": 0.0, "high": 0.0, "margin": 0.0}},
    }

    # a drop smaller than the margin is tolerated
    verdict = regression_verdict(deltas_bad, {"token_f1": 0.2}, {"token_f1": True})
    assert verdict["passed"] is True and verdict["regressions"] == []


def test_regression_verdict_respects_direction():
    latency_base = [1.0 + 0.1 * (i % 5) for i in range(100)]
    faster = [x - 0.3 for x in latency_base]
    slower = [x + 0.3 for x in latency_base]
    hib = {"latency_s": False, "em": True}
    deltas = {
        "latency_s": paired_bootstrap_delta(latency_base, faster),
        "em": paired_bootstrap_delta(SCORES, [s + 0.05 for s in SCORES]),
    }
    verdict = regression_verdict(deltas, {"latency_s": 0.1}, hib)
    assert verdict["passed"] is True
    assert verdict["improvements"] == ["latency_s", "em"]
    assert verdict["details"]["latency_s"]["delta"] == pytest.approx(0.3)

    deltas["latency_s"] = paired_bootstrap_delta(latency_base, slower)
    verdict = regression_verdict(deltas, {"latency_s": 0.1}, hib)
    assert verdict["passed"] is False and verdict["regressions"] == ["latency_s"]

    with pytest.raises(ValueError):
        regression_verdict(deltas, {}, {"em": True})


def test_win_tie_loss():
    assert win_tie_loss(SCORES, SCORES)["win_rate"] == 0.5
    r = win_tie_loss([0.5, 0.5, 0.5, 0.5], [0.9, 0.5, 0.1, 0.52])
    assert (r["win"], r["tie"], r["loss"], r["n"]) == (2, 1, 1, 4)
    assert r["win_rate"] == pytest.approx((2 + 0.5) / 4)
    r = win_tie_loss([0.5, 0.5, 0.5, 0.5], [0.9, 0.5, 0.1, 0.52], tie_margin=0.05)
    assert (r["win"], r["tie"], r["loss"]) == (1, 2, 1)
    assert r["win_rate"] == pytest.approx(0.5)


def test_length_controlled_win_rate_identical_runs():
    lengths = RNG.integers(20, 400, size=len(SCORES)).tolist()
    r = length_controlled_win_rate(SCORES, SCORES, lengths, lengths)
    assert r["lc_win_rate"] == pytest.approx(0.5)
    assert r["win_rate"] == 0.5
    assert r["converged"]


def test_length_controlled_win_rate_higher_for_better_candidate_at_equal_lengths():
    base = [0.5] * 40
    cand = [0.9] * 30 + [0.1] * 10  # wins 75% of items at the same length
    lengths = [100] * 40
    r = length_controlled_win_rate(base, cand, lengths, lengths)
    assert r["win_rate"] == 0.75
    assert r["lc_win_rate"] == pytest.approx(0.75, abs=1e-3)  # only a tiny ridge shrinkage
    assert r["lc_win_rate"] > 0.5
    assert r["slope"] == 0.0 and r["length_scale"] == 0.0


def test_length_controlled_win_rate_removes_a_pure_length_effect():
    # The candidate wins only where its answer is longer; at equal length it ties.
    n = 40
    base = [0.5] * n
    cand = [0.9] * (n // 2) + [0.5] * (n // 2)
    base_len = [100] * n
    cand_len = [200] * (n // 2) + [100] * (n // 2)
    r = length_controlled_win_rate(base, cand, base_len, cand_len)
    assert r["win_rate"] == 0.75
    assert r["lc_win_rate"] == pytest.approx(0.5, abs=0.01)
    assert r["slope"] > 0
    assert r["converged"]


def test_length_controlled_win_rate_recovers_a_known_model():
    # outcomes drawn from P(win) = sigmoid(0.5 + 1.0 * z): LC should be near sigmoid(0.5)
    rng = np.random.default_rng(7)
    n = 3000
    base_len = rng.integers(50, 300, n)
    cand_len = rng.integers(50, 300, n)
    z = (cand_len - base_len) / np.std(cand_len - base_len)
    wins = rng.uniform(size=n) < 1 / (1 + np.exp(-(0.5 + z)))
    cand = np.where(wins, 1.0, 0.0)
    r = length_controlled_win_rate([0.5] * n, cand.tolist(), base_len, cand_len)
    assert r["lc_win_rate"] == pytest.approx(1 / (1 + math.exp(-0.5)), abs=0.03)
    assert r["slope"] == pytest.approx(1.0, abs=0.15)
