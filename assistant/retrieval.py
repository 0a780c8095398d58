"""Top-k retrieval with relevance scores, and the evidence test that decides about refusing."""

from __future__ import annotations

from assistant.records import Passage


def to_passages(hits) -> list[Passage]:
    """Number (langchain Document, relevance) hits [1]..[k] in the order the prompt shows them."""
    passages = []
    for n, (doc, score) in enumerate(hits, start=1):
        meta = doc.metadata or {}
        passages.append(
            Passage(
                n=n,
                chunk_id=str(doc.id or meta.get("chunk_id", "")),
                source=str(meta.get("source", "?")),
                heading=str(meta.get("heading", "")),
                text=doc.page_content,
                score=round(float(score), 4),
                start=int(meta.get("start", 0)),
                end=int(meta.get("end", 0)),
            )
        )
    return passages


def has_evidence(passages: list[Passage], min_relevance: float) -> bool:
    """Enough evidence when at least one passage is at or above the calibrated relevance."""
    return any(p.score >= min_relevance for p in passages)


def evidence_passages(passages: list[Passage], min_relevance: float) -> list[Passage]:
    """The passages worth showing the model, renumbered from 1 so [n] stays dense."""
    kept = [p for p in passages if p.score >= min_relevance]
    return [
        Passage(i, p.chunk_id, p.source, p.heading, p.text, p.score, p.start, p.end)
        for i, p in enumerate(kept, start=1)
    ]
