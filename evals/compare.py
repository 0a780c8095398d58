"""Compare a candidate run with a baseline run on identical items: a gate for CI and fine-tuning.

The judge is deterministic and reference-based (no model is asked), one score per item:

* answerable item: 0 if the system refused; otherwise token F1 against the reference answer,
  plus 0.25 when the answer cites one of the gold sources (F1 alone when there are none);
* unanswerable item: 1 for a refusal, 0 for an answer (a refusal wins);
* item with a ``correct`` score (MMLU, BoolQ, robustness): that score;
* unlabelled item (a logged question): 0 if refused, else its groundedness.

The candidate wins an item when its judge score beats the baseline's by more than
``tie_margin`` (loses when it trails by more, otherwise a tie); the win rate counts ties as
half (AlpacaEval). The length-controlled win rate regresses out the answers' length difference
(in words). Each metric's delta gets a paired bootstrap 95% CI over the items where both runs
have it; a metric regresses when that CI lies entirely below ``-margin``.
"""

from __future__ import annotations

from evals.scoring import HIGHER_IS_BETTER
from evals.stats import length_controlled_win_rate, paired_bootstrap_delta, regression_verdict
from evals.stats import win_tie_loss as count_win_tie_loss

JUDGE = "reference-judge-1"
CITATION_BONUS = 0.25
TIE_MARGIN = 0.05
# Metrics gated by default, with the tolerated drop (same scale as the metric).
DEFAULT_MARGINS = {
    "judge": 0.02, "exact_match": 0.02, "token_f1": 0.02, "rouge_l": 0.02, "bleu": 2.0,
    "chrf": 2.0, "hit_at_k": 0.02, "reciprocal_rank": 0.02, "groundedness": 0.02,
    "citation_precision": 0.02, "answer_relevance": 0.02, "cites_gold_source": 0.02,
    "refusal_correct": 0.02, "correct": 0.02, "worst_case": 0.02, "answered_wrong": 0.02,
}
# Rates with no better direction: refusal_correct judges refusals; a quote is right by
# construction, and whether quoting more is better depends on what it replaced.
NOT_COMPARED = {"refused", "quoted"}


class IncomparableRuns(ValueError):
    """The runs cannot be compared (different items or different metric definitions)."""


def judge_score(scores: dict, data: dict) -> float:
    answerable = data.get("answerable")
    refused = bool(scores.get("refused")) or bool(data.get("refused"))
    if answerable is True:
        if refused:
            return 0.0
        f1 = scores.get("token_f1") or 0.0
        return f1 + CITATION_BONUS * (scores.get("cites_gold_source") or 0.0)
    if answerable is False:
        return 1.0 if refused else 0.0
    if scores.get("correct") is not None:
        return float(scores["correct"])
    return 0.0 if refused else float(scores.get("groundedness") or 0.0)


def _words(text: str | None) -> int:
    return len((text or "").split())


def check_comparable(baseline: dict, candidate: dict, base_items: list[dict],
                     cand_items: list[dict]) -> None:
    base_ids = {i["item_id"] for i in base_items}
    cand_ids = {i["item_id"] for i in cand_items}
    if base_ids != cand_ids:
        only_base, only_cand = sorted(base_ids - cand_ids), sorted(cand_ids - base_ids)
        raise IncomparableRuns(
            f"the runs scored different items: {len(only_base)} only in the baseline "
            f"{only_base[:5]}, {len(only_cand)} only in the candidate {only_cand[:5]}. "
            "Replay both on the same split (and --limit).")
    a, b = baseline.get("metric_versions") or {}, candidate.get("metric_versions") or {}
    changed = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    if changed:
        raise IncomparableRuns(f"metric definitions differ between the runs: {changed}")


def compare_runs(baseline: dict, candidate: dict, base_items: list[dict], cand_items: list[dict],
                 margins: dict[str, float] | None = None, tie_margin: float = TIE_MARGIN,
                 seed: int = 0) -> dict:
    """Verdict dict: per-item outcomes, win rates, per-metric paired deltas, pass/fail."""
    check_comparable(baseline, candidate, base_items, cand_items)
    margins = {**DEFAULT_MARGINS, **(margins or {})}
    cand_by_id = {i["item_id"]: i for i in cand_items}
    pairs = [(b, cand_by_id[b["item_id"]]) for b in base_items]
    for item in (x for pair in pairs for x in pair):
        item["scores"] = {**item["scores"], "judge": judge_score(item["scores"], item["data"])}

    base_judge = [b["scores"]["judge"] for b, _ in pairs]
    cand_judge = [c["scores"]["judge"] for _, c in pairs]
    wtl = count_win_tie_loss(base_judge, cand_judge, tie_margin)
    lc = length_controlled_win_rate(
        base_judge, cand_judge, [_words(b["answer"]) for b, _ in pairs],
        [_words(c["answer"]) for _, c in pairs], tie_margin=tie_margin)
    outcomes = {
        b["item_id"]: ("win" if cj - bj > tie_margin else "loss" if bj - cj > tie_margin
                       else "tie")
        for (b, _), bj, cj in zip(pairs, base_judge, cand_judge, strict=True)
    }
    deltas = metric_deltas(pairs, seed)
    unknown = [m for m in margins if m not in HIGHER_IS_BETTER]
    if unknown:
        raise ValueError(f"unknown metric(s) in margins: {unknown}")
    gated = {m: d for m, d in deltas.items() if m in margins}
    verdict = regression_verdict(gated, margins, HIGHER_IS_BETTER)
    return {
        "baseline_run_id": baseline["id"], "candidate_run_id": candidate["id"],
        "judge": {"name": JUDGE, "tie_margin": tie_margin, "citation_bonus": CITATION_BONUS},
        "win_tie_loss": wtl, "length_controlled": lc, "outcomes": outcomes,
        "deltas": deltas, "margins": {m: margins[m] for m in gated}, "verdict": verdict,
    }


def metric_deltas(pairs: list[tuple[dict, dict]], seed: int = 0) -> dict[str, dict]:
    """Paired bootstrap delta (candidate - baseline) of every metric both runs have per item."""
    names = sorted({m for b, c in pairs for m in b["scores"] if m in c["scores"]})
    deltas = {}
    for metric in names:
        if metric in NOT_COMPARED or metric not in HIGHER_IS_BETTER:
            continue
        both = [(b["scores"][metric], c["scores"][metric]) for b, c in pairs
                if b["scores"].get(metric) is not None and c["scores"].get(metric) is not None]
        if not both:
            continue
        base, cand = [float(x) for x, _ in both], [float(y) for _, y in both]
        result = paired_bootstrap_delta(base, cand, seed=seed)
        result["baseline"] = sum(base) / len(base)
        result["candidate"] = sum(cand) / len(cand)
        deltas[metric] = result
    return deltas


def compare_stored(store, baseline_id: str, candidate_id: str, **kwargs) -> tuple[str, dict]:
    """Compare two stored runs, store the comparison; returns (comparison id, verdict)."""
    baseline, candidate = store.run(baseline_id), store.run(candidate_id)
    for run_id, run in ((baseline_id, baseline), (candidate_id, candidate)):
        if run is None:
            raise IncomparableRuns(f"no run with id {run_id} (see `assistant eval runs`)")
    verdict = compare_runs(baseline, candidate, store.items(baseline_id),
                           store.items(candidate_id), **kwargs)
    return store.save_comparison(baseline_id, candidate_id, verdict), verdict


def parse_margins(values: tuple[str, ...] | list[str]) -> dict[str, float]:
    """["token_f1=0.05", ...] -> {"token_f1": 0.05}."""
    margins = {}
    for value in values:
        name, sep, number = value.partition("=")
        if not sep:
            raise ValueError(f"--margin takes METRIC=VALUE, not {value!r}")
        margins[name.strip()] = float(number)
    return margins
