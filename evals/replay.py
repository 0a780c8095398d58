"""Replay: run the current pipeline (or a candidate configuration) over golden items or over
questions taken from the conversation log, without logging the replayed turns.

    python -m evals.replay --split test [--out results.jsonl]     (or: assistant eval replay)

Each item becomes one ItemResult (answer, refusal, citations, retrieved and shown passages,
timings); evals.scoring turns it into per-item scores, summarize() into run-level numbers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from assistant.config import Settings
from assistant.offline import enforce_offline
from assistant.pipeline import Pipeline, TurnRequest
from assistant.prompt import PROMPT_VERSION, prompt_version
from assistant.records import Turn
from assistant.retrieval import evidence_passages
from evals.metrics import hit_at_k, reciprocal_rank, refusal_confusion
from evals.stats import mean_with_stderr
from knowledge.golden_sets import GoldenItem, load_golden


@dataclass
class ItemResult:
    id: str
    question: str
    reference: str
    gold_sources: list[str]
    answerable: bool | None  # None: unknown (a logged question with no label)
    answer: str
    refused: bool
    reason: str
    cited_sources: list[str]
    retrieved_sources: list[str]  # every retrieved passage's source, best first
    invalid_citations: int
    first_token_ms: int | None
    duration_ms: int
    completion_tokens: int
    prompt_tokens: int = 0
    cited_numbers: list[int] = field(default_factory=list)
    # The passages as the prompt showed them to the model: the answer's [n] refers to these.
    passage_numbers: list[int] = field(default_factory=list)
    passage_sources: list[str] = field(default_factory=list)
    passage_texts: list[str] = field(default_factory=list)
    retrieved_scores: list[float] = field(default_factory=list)
    answer_path: str = "generated"  # generated | quoted | cache | none (assistant.records)

    def passages_by_number(self) -> dict[int, str]:
        return dict(zip(self.passage_numbers, self.passage_texts, strict=True))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ItemResult:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def shown_passages(turn: Turn, min_relevance: float):
    """The passages the model saw, numbered as in its prompt (see Pipeline._generate)."""
    if turn.refused and turn.first_token_ms is None:
        return []  # refused before generation: the model saw nothing
    return evidence_passages(turn.passages, min_relevance, turn.question)


def item_result(item: GoldenItem, turn: Turn, min_relevance: float) -> ItemResult:
    shown = shown_passages(turn, min_relevance)
    return ItemResult(
        id=item.id, question=item.question, reference=item.answer,
        gold_sources=list(item.sources), answerable=item.answerable,
        answer=turn.answer, refused=turn.refused, reason=turn.reason,
        cited_sources=[c.source for c in turn.citations],
        retrieved_sources=[p.source for p in turn.passages],
        invalid_citations=turn.invalid_citations, first_token_ms=turn.first_token_ms,
        duration_ms=turn.duration_ms, completion_tokens=turn.completion_tokens,
        prompt_tokens=turn.prompt_tokens,
        cited_numbers=[c.n for c in turn.citations],
        passage_numbers=[p.n for p in shown], passage_sources=[p.source for p in shown],
        passage_texts=[p.text for p in shown],
        retrieved_scores=[p.score for p in turn.passages],
        answer_path=turn.answer_path,
    )


def replay(pipeline: Pipeline, items: list[GoldenItem], progress: bool = True) -> list[ItemResult]:
    """Ask every item through the pipeline (no cache); the caller sets pipeline.log = None."""
    results = []
    for item in tqdm(items, desc="Replaying", unit="q", disable=not progress, file=sys.stderr):
        turn = pipeline.ask(TurnRequest(item.question, use_cache=False))
        results.append(item_result(item, turn, pipeline.settings.min_relevance))
    return results


# -- where items come from ----------------------------------------------------------------------


def logged_items(rows: list[dict], limit: int | None = None) -> list[GoldenItem]:
    """Distinct questions from logged turn rows (newest first) as unlabelled items.

    A user's correction (feedback) becomes the reference answer; answerable stays unknown.
    """
    items: list[GoldenItem] = []
    seen: set[str] = set()
    for row in rows:
        question = (row.get("question") or "").strip()
        if not question or question in seen or row.get("reason") == "EMPTY_QUESTION":
            continue
        seen.add(question)
        corrections = [f["correction"] for f in row.get("feedback", []) if f.get("correction")]
        items.append(GoldenItem(f"log-{row['id']}", question, corrections[-1] if corrections
                                else "", (), None))  # type: ignore[arg-type]
        if limit is not None and len(items) >= limit:
            break
    return items


# -- the candidate configuration ----------------------------------------------------------------


class SystemPromptOverride:
    """Wraps a generator so a candidate system prompt replaces the shipped one."""

    def __init__(self, generator, system_prompt: str):
        self.inner = generator
        self.system_prompt = system_prompt
        self.name = generator.name
        self.adapter = generator.adapter
        digest = hashlib.sha256(system_prompt.encode()).hexdigest()[:8]
        self.prompt_version = f"{PROMPT_VERSION}+sys-{digest}"

    def stream(self, messages, max_new_tokens=200, yes_no=False):
        replaced = [
            {**m, "content": self.system_prompt} if m["role"] == "system" else m for m in messages
        ]
        return self.inner.stream(replaced, max_new_tokens, yes_no=yes_no)

    def load(self):
        return self.inner.load()


def candidate_settings(settings: Settings, adapter: str | None = None, top_k: int | None = None,
                       min_relevance: float | None = None,
                       max_new_tokens: int | None = None) -> Settings:
    changes = {"adapter": adapter, "top_k": top_k, "min_relevance": min_relevance,
               "max_new_tokens": max_new_tokens}
    return settings.with_changes(**{k: v for k, v in changes.items() if v is not None})


def build_pipeline(settings: Settings, system_prompt: str | None = None, generator=None,
                   progress=None, embeddings=None) -> Pipeline:
    """The app's pipeline for these settings, with the turn log switched off; `generator` and
    `embeddings` default to the configured model and MiniLM."""
    from assistant.runtime import make_generator, open_assistant

    def say(message: str) -> None:
        print(message, file=sys.stderr)

    progress = progress or say
    if generator is None:
        generator = make_generator(settings, progress)
    if system_prompt:
        generator = SystemPromptOverride(generator, system_prompt)
    pipeline = open_assistant(settings, progress=progress, generator=generator,
                              embeddings=embeddings)
    pipeline.log = None  # replays are eval runs, not user conversations
    return pipeline


# -- run-level summary (retrieval, citations, refusals, latency) -------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summarize(results: list[ItemResult], k: int = 5) -> dict:
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if r.answerable is False]
    labelled = [r for r in results if r.answerable is not None]
    answered = [r for r in results if not r.refused]
    hits = [hit_at_k(r.retrieved_sources, r.gold_sources, k) for r in answerable if r.gold_sources]
    rr = [reciprocal_rank(r.retrieved_sources, r.gold_sources) for r in answerable
          if r.gold_sources]
    generated = [r for r in results if r.first_token_ms is not None]
    ttft = [r.first_token_ms for r in generated]
    total = [r.duration_ms for r in generated]
    cited = [bool(r.cited_sources) for r in answered]
    correct_source = [bool(set(r.cited_sources) & set(r.gold_sources))
                      for r in answered if r.answerable]
    quoted = [r.answer_path == "quoted" for r in answered]
    return {
        "items": len(results),
        f"retrieval_hit@{k}": mean_with_stderr(hits)[0] if hits else None,
        "retrieval_mrr": mean_with_stderr(rr)[0] if rr else None,
        "answered": len(answered),
        "answers_with_valid_citation": sum(cited) / len(cited) if cited else None,
        "answers_citing_a_gold_source": (
            sum(correct_source) / len(correct_source) if correct_source else None),
        "quoted_rate": sum(quoted) / len(quoted) if quoted else None,
        "invalid_citations_removed": sum(r.invalid_citations for r in results),
        "refusal_rate_unanswerable": (
            sum(r.refused for r in unanswerable) / len(unanswerable) if unanswerable else None),
        "refusal_rate_answerable": (
            sum(r.refused for r in answerable) / len(answerable) if answerable else None),
        "refusal": refusal_confusion([(not r.answerable, r.refused) for r in labelled]),
        "refusal_reasons": dict(Counter(r.reason for r in results if r.refused)),
        "generated": len(generated),
        "first_token_ms_p50": percentile(ttft, 50), "first_token_ms_p95": percentile(ttft, 95),
        "duration_ms_p50": percentile(total, 50), "duration_ms_p95": percentile(total, 95),
        "completion_tokens_mean": (
            sum(r.completion_tokens for r in generated) / len(generated) if generated else None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test", help="golden split name or JSONL path")
    parser.add_argument("--out", help="write per-item results as JSONL here")
    parser.add_argument("--limit", type=int, help="only the first N items")
    args = parser.parse_args()
    pipeline = build_pipeline(Settings.from_env())
    items = load_golden(args.split)[: args.limit]
    results = replay(pipeline, items)
    if args.out:
        with Path(args.out).open("w", encoding="utf-8") as out:
            for r in results:
                out.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")
    print(json.dumps(summarize(results), indent=2))


if __name__ == "__main__":
    enforce_offline()  # an entry point: offline switches before anything else runs
    main()


# -- storing a replay as an eval run ------------------------------------------------------------


def run_info(pipeline: Pipeline, kind: str, name: str, dataset: str, dataset_hash: str,
             config: dict | None = None):
    """Provenance of a run made with this pipeline."""
    from evals.scoring import metric_versions
    from evals.store import RunInfo, adapter_hash

    generator = pipeline.generator
    inner = getattr(generator, "inner", generator)
    settings = pipeline.settings
    return RunInfo(
        kind=kind, name=name, model=generator.name, adapter=generator.adapter,
        adapter_hash=adapter_hash(getattr(inner, "adapter_dir", None)),
        prompt_version=getattr(generator, "prompt_version",
                               prompt_version(settings.source_chars)),
        kb_version=pipeline.kb_version(), dataset=dataset, dataset_hash=dataset_hash,
        metric_versions=metric_versions(),
        config={"top_k": settings.top_k, "min_relevance": settings.min_relevance,
                "max_new_tokens": settings.max_new_tokens, "collection": settings.collection,
                "source_chars": settings.source_chars,
                "adapter": settings.adapter, **(config or {})},
    )


def record_replay(store, info, results: list[ItemResult], embed=None, k: int = 5,
                  duration_ms: int = 0, checker=None) -> str:
    """Score the results (answered_wrong by `checker`, the shipped one when None), store them
    as one run, return its id."""
    from evals.scoring import score_run
    from evals.store import ItemRow

    summary, per_item = score_run(results, k, embed, checker)
    rows = [ItemRow(r.id, r.question, r.reference, r.answer, scores, r.to_dict())
            for r, scores in zip(results, per_item, strict=True)]
    return store.save_run(info, summary, rows, duration_ms)


def rescore_run(store, run_id: str, embed=None, checker=None) -> str:
    """Score a stored replay run's answers again with the current metrics, as a new run."""
    from evals.scoring import metric_versions
    from evals.store import RunInfo

    run = store.run(run_id)
    if run is None or run["kind"] != "replay":
        raise KeyError(f"no replay run with id {run_id}")
    results = [ItemResult.from_dict(item["data"]) for item in store.items(run_id)]
    keep = ("kind", "model", "adapter", "adapter_hash", "prompt_version", "kb_version",
            "dataset", "dataset_hash", "git_commit")
    info = RunInfo(**{k: run[k] for k in keep}, name=f"{run['name']} (rescored)",
                   metric_versions=metric_versions(),
                   config={**run["config"], "rescored_from": run_id})
    return record_replay(store, info, results, embed, k=run["config"].get("top_k", 5),
                         duration_ms=run["duration_ms"], checker=checker)
