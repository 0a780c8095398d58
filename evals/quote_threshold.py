"""Choose the quote path's similarity threshold on the golden train split (never on test).

For each item, the evidence passages the pipeline would show are retrieved and the best source
sentence is found (assistant/quoting.py, with no threshold). A quote is right for an answerable
item when that sentence comes from a gold source and shares content words with the reference
answer; for an unanswerable item, no quote is right. The threshold with the most right
decisions wins (ties: the higher one, which quotes less).

    python -m evals.quote_threshold [--split train]
"""

from __future__ import annotations

import json

import click

from assistant.config import Settings
from assistant.offline import enforce_offline
from assistant.quoting import best_quotes
from assistant.retrieval import evidence_passages, has_evidence, to_passages
from assistant.text import content_words
from knowledge.golden_sets import load_golden


def best_sentence_per_item(split: str) -> list[dict]:
    from assistant.embeddings import load_embeddings
    from assistant.runtime import UnavailableGenerator, open_assistant

    settings = Settings.from_env()
    pipeline = open_assistant(settings, progress=lambda m: None,
                              generator=UnavailableGenerator("retrieval only"),
                              with_guards=False, with_cache=False)
    embed = load_embeddings().embed_documents
    rows = []
    for item in load_golden(split):
        passages = to_passages(pipeline.index.search(item.question, k=settings.top_k))
        if not has_evidence(passages, settings.min_relevance, item.question):
            continue  # refused for lack of evidence before any answer is written
        shown = evidence_passages(passages, settings.min_relevance, item.question)
        quotes = best_quotes(item.question, shown, embed, min_similarity=-1.0, max_quotes=1)
        if not quotes:
            continue
        source = next(p.source for p in shown if p.n == quotes[0].n)
        answers = bool(item.answerable and source in item.sources
                       and len(content_words(quotes[0].sentence) & content_words(item.answer))
                       >= 2)
        rows.append({"id": item.id, "answerable": item.answerable,
                     "similarity": quotes[0].similarity, "answers": answers,
                     "sentence": quotes[0].sentence})
    return rows


def choose(rows: list[dict]) -> tuple[float, int]:
    best = (0.0, -1)
    for step in range(20, 81):
        threshold = step / 100
        right = sum((r["similarity"] >= threshold) == r["answers"] for r in rows)
        if right >= best[1]:
            best = (threshold, right)
    return best


@click.command()
@click.option("--split", default="train", show_default=True)
def main(split: str):
    rows = best_sentence_per_item(split)
    threshold, right = choose(rows)
    click.echo(json.dumps({"split": split, "items": len(rows), "threshold": threshold,
                           "right_decisions": right}, indent=2))


if __name__ == "__main__":
    enforce_offline()  # an entry point: offline switches before anything else runs
    main()
