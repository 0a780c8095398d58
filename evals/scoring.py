"""Per-item scores of a replayed (or logged) turn, and their run-level aggregates.

Which score applies to which item:

* reference metrics (exact_match, token_f1, bleu, chrf, rouge_l): items labelled answerable that
  have a reference answer. A refusal is scored like any answer (its text shares almost nothing
  with the reference, so it scores about 0).
* hit@k, reciprocal rank: items with gold sources (over every retrieved passage, best first).
* groundedness, citation_precision, answer_relevance: answered items only (not refusals);
  groundedness and citation precision are measured against the passages shown to the model.
* cites_gold_source: answered, answerable items with gold sources.
* refusal_correct: labelled items; 1.0 when ``refused == (not answerable)``.
* answered_wrong: 1.0 when the item was answered and the answer is wrong, read with the support
  check against the reference (or, for a logged turn without one, against its own passages);
  see evals/correctness.py. Refusals count 0: refusal_correct judges them.
* quoted: 1.0 when the answer shown was quoted from the sources instead of generated.

A score that does not apply is None (left out of means and of paired comparisons).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from assistant.text import MARKER, cosine
from evals import correctness
from evals.grounding_metrics import citation_precision, groundedness
from evals.metrics import METRIC_VERSIONS, hit_at_k, reciprocal_rank
from evals.reference_metrics import (
    bleu,
    chrf,
    exact_match,
    rouge_l,
    sentence_bleu,
    sentence_chrf,
    token_f1,
)
from evals.replay import ItemResult
from evals.stats import bootstrap_ci, mean_with_stderr

EmbedFn = Callable[[list[str]], Sequence[Sequence[float]]]

# Scores on sacrebleu's 0-100 scale; all others are in [0, 1] (or ms for latency).
HUNDRED_SCALE = {"bleu", "chrf"}
# Direction of every per-item score, for comparisons and regression gates.
HIGHER_IS_BETTER = {
    "exact_match": True, "token_f1": True, "bleu": True, "chrf": True, "rouge_l": True,
    "hit_at_k": True, "reciprocal_rank": True, "groundedness": True,
    "citation_precision": True, "answer_relevance": True, "cites_gold_source": True,
    "refusal_correct": True, "refused": False, "judge": True,
    "duration_ms": False, "first_token_ms": False, "completion_tokens": False,
    "correct": True, "cites_own_passage": True, "worst_case": True, "original": True,
    "typos": True, "casing": True, "whitespace": True, "contractions": True,
    "refusal_flips": False, "citation_valid": True, "thumbs_up": True, "cache_hit": True,
    "p_gold": True, "answered_wrong": False, "quoted": False,
}

SCORING_VERSIONS = {
    "answer_relevance": "minilm-cosine-question-answer-1",
    "cites_gold_source": "cited-source-in-gold-1",
    "refusal_correct": "refused-eq-not-answerable-1",
    "reference_metrics_input": "answer-without-citation-markers-1",
    "answered_wrong": correctness.VERSION,
}


def metric_versions() -> dict[str, str]:
    return {**METRIC_VERSIONS, **SCORING_VERSIONS}


def embedder() -> EmbedFn:
    """The assistant's MiniLM embedder as a plain function (loads on first use)."""
    from assistant.embeddings import load_embeddings

    return load_embeddings().embed_documents


def answer_relevance(question: str, answer: str, embed: EmbedFn) -> float:
    q_vec, a_vec = embed([question, answer])
    return cosine(q_vec, a_vec)


def strip_markers(answer: str) -> str:
    """The answer without its [n] citation markers (references carry none)."""
    return " ".join(MARKER.sub(" ", answer).split()).replace(" .", ".")


def reference_scores(answer: str, reference: str) -> dict[str, float]:
    """Text metrics of the answer (citation markers removed) against the reference."""
    answer = strip_markers(answer)
    return {
        "exact_match": exact_match(answer, reference),
        "token_f1": token_f1(answer, reference),
        "bleu": sentence_bleu(answer, reference),
        "chrf": sentence_chrf(answer, reference),
        "rouge_l": rouge_l(answer, reference),
    }


def score_item(r: ItemResult, k: int = 5, embed: EmbedFn | None = None,
               judge_correctness: bool = True, checker=None) -> dict:
    """Every applicable score of one item; see the module docstring for which apply when.
    `checker` judges answered_wrong (the shipped support checker when None)."""
    scores: dict = dict.fromkeys(
        ["exact_match", "token_f1", "bleu", "chrf", "rouge_l", "hit_at_k", "reciprocal_rank",
         "groundedness", "citation_precision", "answer_relevance", "cites_gold_source",
         "refusal_correct"])
    if r.answerable and r.reference:
        scores.update(reference_scores(r.answer, r.reference))
    if r.gold_sources:
        scores["hit_at_k"] = hit_at_k(r.retrieved_sources, r.gold_sources, k)
        scores["reciprocal_rank"] = reciprocal_rank(r.retrieved_sources, r.gold_sources)
    if not r.refused and r.answer:
        scores["groundedness"] = groundedness(r.answer, r.passage_texts)["score"]
        scores["citation_precision"] = citation_precision(r.answer, r.passages_by_number())
        if embed is not None:
            scores["answer_relevance"] = answer_relevance(r.question, r.answer, embed)
        if r.answerable and r.gold_sources:
            scores["cites_gold_source"] = float(bool(set(r.cited_sources) & set(r.gold_sources)))
    if r.answerable is not None:
        scores["refusal_correct"] = float(r.refused == (not r.answerable))
    scores["refused"] = float(r.refused)
    scores["answered_wrong"] = (correctness.answered_wrong(r, checker) if judge_correctness
                                else None)
    scores["quoted"] = float(r.answer_path == "quoted")
    scores["duration_ms"] = r.duration_ms if r.first_token_ms is not None else None
    scores["first_token_ms"] = r.first_token_ms
    return scores


def corpus_scores(results: list[ItemResult]) -> dict:
    """Corpus BLEU and chrF (with sacrebleu signatures) over answerable items with references."""
    scored = [r for r in results if r.answerable and r.reference]
    if not scored:
        return {}
    answers = [strip_markers(r.answer) for r in scored]
    references = [r.reference for r in scored]
    return {"bleu": bleu(answers, references).to_dict(),
            "chrf": chrf(answers, references).to_dict()}


def aggregate(values: list[float | None], seed: int = 0) -> dict | None:
    """Mean, standard error and 95% bootstrap CI of the defined values (None if there are none)."""
    defined = [float(v) for v in values if v is not None]
    if not defined:
        return None
    mean, stderr = mean_with_stderr(defined)
    low, high = bootstrap_ci(defined, seed=seed) if len(defined) > 1 else (mean, mean)
    return {"mean": mean, "stderr": stderr, "low": low, "high": high, "n": len(defined)}


def aggregate_scores(per_item: list[dict], names: list[str] | None = None) -> dict[str, dict]:
    """{metric: aggregate} over per-item score dicts, for the metrics that have any value."""
    names = names or sorted({name for scores in per_item for name in scores})
    out = {}
    for name in names:
        agg = aggregate([scores.get(name) for scores in per_item])
        if agg is not None:
            out[name] = agg
    return out


def score_run(results: list[ItemResult], k: int = 5, embed: EmbedFn | None = None,
              checker=None) -> tuple[dict, list[dict]]:
    """(summary, per-item scores) of replayed items: metric means with CIs, corpus BLEU/chrF."""
    from evals.replay import summarize

    per_item = [score_item(r, k, embed, checker=checker) for r in results]
    summary = {
        "metrics": aggregate_scores(per_item),
        "corpus": corpus_scores(results),
        "overview": summarize(results, k),
    }
    return summary, per_item
