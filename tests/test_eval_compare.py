"""The regression gate: fails on a deliberately worse candidate, passes on an identical one."""

import pytest
from click.testing import CliRunner

from assistant.config import Settings
from evals.cli import eval_group
from evals.compare import IncomparableRuns, compare_runs, judge_score, parse_margins
from evals.store import EvalStore
from tests.test_eval_store import make_run

N = 20


def good_scores(i):
    return {"token_f1": 0.8 + 0.01 * (i % 5), "cites_gold_source": 1.0, "refused": 0.0,
            "refusal_correct": 1.0, "duration_ms": 1000 + i}


def worse_scores(i):
    return {**good_scores(i), "token_f1": 0.2 + 0.01 * (i % 5), "cites_gold_source": 0.0}


@pytest.fixture
def store():
    return EvalStore(Settings.from_env().home / "evals.db")


def test_gate_fails_on_a_worse_candidate(store):
    base = make_run(store, "base", [good_scores(i) for i in range(N)])
    cand = make_run(store, "worse", [worse_scores(i) for i in range(N)])
    result = CliRunner().invoke(eval_group, ["compare", base, cand])
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output and "token_f1" in result.output
    comparison = store.comparisons()[0]
    verdict = comparison["verdict"]
    assert verdict["win_tie_loss"]["loss"] == N and verdict["win_tie_loss"]["win_rate"] == 0.0
    assert verdict["length_controlled"]["lc_win_rate"] < 0.1
    assert set(verdict["verdict"]["regressions"]) >= {"token_f1", "judge", "cites_gold_source"}
    assert "duration_ms" not in verdict["verdict"]["details"]  # latency is not gated by default
    assert (Settings.from_env().home / "reports" / f"{comparison['id']}.html").is_file()


def test_gate_passes_on_an_identical_candidate(store):
    base = make_run(store, "base", [good_scores(i) for i in range(N)])
    cand = make_run(store, "same", [good_scores(i) for i in range(N)])
    result = CliRunner().invoke(eval_group, ["compare", base, cand])
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output
    verdict = store.comparisons()[0]["verdict"]
    assert verdict["win_tie_loss"]["tie"] == N and verdict["win_tie_loss"]["win_rate"] == 0.5
    assert verdict["deltas"]["token_f1"]["delta"] == 0.0


def test_margin_option_tolerates_a_small_drop(store):
    base = make_run(store, "base", [good_scores(i) for i in range(N)])
    slightly = [{**good_scores(i), "token_f1": good_scores(i)["token_f1"] - 0.03}
                for i in range(N)]
    cand = make_run(store, "slightly worse", slightly)
    strict = CliRunner().invoke(eval_group, ["compare", base, cand])
    assert strict.exit_code == 1
    tolerant = CliRunner().invoke(eval_group, ["compare", base, cand, "--margin",
                                               "token_f1=0.05", "--margin", "judge=0.05"])
    assert tolerant.exit_code == 0, tolerant.output


def test_different_item_sets_are_an_error(store):
    base = make_run(store, "base", [good_scores(i) for i in range(N)])
    cand = make_run(store, "fewer", [good_scores(i) for i in range(N - 1)])
    result = CliRunner().invoke(eval_group, ["compare", base, cand])
    assert result.exit_code == 2 and "different items" in result.output
    with pytest.raises(IncomparableRuns, match="metric definitions"):
        compare_runs({"id": "a", "metric_versions": {"f1": "1"}},
                     {"id": "b", "metric_versions": {"f1": "2"}}, [], [])


def test_judge_and_margin_parsing():
    assert judge_score({"token_f1": 0.5, "cites_gold_source": 1.0}, {"answerable": True}) == 0.75
    assert judge_score({"token_f1": 0.5, "refused": 1.0}, {"answerable": True}) == 0.0
    assert judge_score({"refused": 1.0}, {"answerable": False}) == 1.0
    assert judge_score({"refused": 0.0}, {"answerable": False}) == 0.0
    assert judge_score({"correct": 1.0}, {}) == 1.0
    assert parse_margins(["token_f1=0.05"]) == {"token_f1": 0.05}
    with pytest.raises(ValueError):
        parse_margins(["token_f1"])
