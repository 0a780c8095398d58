"""Replay: run the current pipeline (or a candidate configuration) over golden items.

    python -m evals.replay --split test [--out results.jsonl]

Each item becomes one result row (answer, refusal, citations, retrieved sources, timings); the
summary reports retrieval hit@k/MRR, citation validity, refusal rates and latency percentiles.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass

from tqdm import tqdm

from assistant.pipeline import Pipeline, TurnRequest
from evals.golden import GoldenItem, load_golden
from evals.metrics import hit_at_k, reciprocal_rank, refusal_confusion
from evals.stats import mean_with_stderr


@dataclass
class ItemResult:
    id: str
    question: str
    reference: str
    gold_sources: list[str]
    answerable: bool
    answer: str
    refused: bool
    reason: str
    cited_sources: list[str]
    retrieved_sources: list[str]
    invalid_citations: int
    first_token_ms: int | None
    duration_ms: int
    completion_tokens: int


def replay(pipeline: Pipeline, items: list[GoldenItem], progress: bool = True) -> list[ItemResult]:
    results = []
    for item in tqdm(items, desc="Replaying", unit="q", disable=not progress, file=sys.stderr):
        turn = pipeline.ask(TurnRequest(item.question, use_cache=False))
        results.append(ItemResult(
            id=item.id, question=item.question, reference=item.answer,
            gold_sources=list(item.sources), answerable=item.answerable,
            answer=turn.answer, refused=turn.refused, reason=turn.reason,
            cited_sources=[c.source for c in turn.citations],
            retrieved_sources=[p.source for p in turn.passages],
            invalid_citations=turn.invalid_citations, first_token_ms=turn.first_token_ms,
            duration_ms=turn.duration_ms, completion_tokens=turn.completion_tokens,
        ))
    return results


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summarize(results: list[ItemResult], k: int = 5) -> dict:
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    answered = [r for r in results if not r.refused]
    hits = [hit_at_k(r.retrieved_sources, r.gold_sources, k) for r in answerable]
    rr = [reciprocal_rank(r.retrieved_sources, r.gold_sources) for r in answerable]
    generated = [r for r in results if r.first_token_ms is not None]
    ttft = [r.first_token_ms for r in generated]
    total = [r.duration_ms for r in generated]
    cited = [bool(r.cited_sources) for r in answered]
    correct_source = [bool(set(r.cited_sources) & set(r.gold_sources))
                      for r in answered if r.answerable]
    return {
        "items": len(results),
        f"retrieval_hit@{k}": mean_with_stderr(hits)[0] if hits else None,
        "retrieval_mrr": mean_with_stderr(rr)[0] if rr else None,
        "answered": len(answered),
        "answers_with_valid_citation": sum(cited) / len(cited) if cited else None,
        "answers_citing_a_gold_source": (
            sum(correct_source) / len(correct_source) if correct_source else None),
        "invalid_citations_removed": sum(r.invalid_citations for r in results),
        "refusal_rate_unanswerable": (
            sum(r.refused for r in unanswerable) / len(unanswerable) if unanswerable else None),
        "refusal_rate_answerable": (
            sum(r.refused for r in answerable) / len(answerable) if answerable else None),
        "refusal": refusal_confusion([(not r.answerable, r.refused) for r in results]),
        "refusal_reasons": _count(r.reason for r in results if r.refused),
        "generated": len(generated),
        "first_token_ms_p50": percentile(ttft, 50), "first_token_ms_p95": percentile(ttft, 95),
        "duration_ms_p50": percentile(total, 50), "duration_ms_p95": percentile(total, 95),
    }


def _count(values) -> dict:
    counts: dict = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return counts


def main() -> None:
    from assistant.config import Settings
    from assistant.runtime import make_generator, open_assistant

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test", help="golden split name or JSONL path")
    parser.add_argument("--out", help="write per-item results as JSONL here")
    parser.add_argument("--limit", type=int, help="only the first N items")
    args = parser.parse_args()
    settings = Settings.from_env()
    pipeline = open_assistant(settings, progress=lambda m: print(m, file=sys.stderr),
                              generator=make_generator(settings))
    pipeline.log = None  # replays are eval runs, not user conversations
    items = load_golden(args.split)[: args.limit]
    results = replay(pipeline, items)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            for r in results:
                out.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
    print(json.dumps(summarize(results), indent=2))


if __name__ == "__main__":
    main()
