"""Golden question sets (JSONL: id, question, answer, sources, answerable): the bundled splits
under knowledge/golden/ or any file of the same shape; read by the evals and by fine-tuning
(which must never train on an eval question)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from knowledge import GOLDEN_DIR


@dataclass(frozen=True)
class GoldenItem:
    id: str
    question: str
    answer: str
    sources: tuple[str, ...]
    answerable: bool


def load_golden(split_or_path: str | Path) -> list[GoldenItem]:
    """Items of a bundled split ("train", "test") or of any JSONL file with the same keys."""
    path = Path(split_or_path)
    if not path.suffix:
        path = GOLDEN_DIR / f"{split_or_path}.jsonl"
    items = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            items.append(GoldenItem(raw["id"], raw["question"], raw.get("answer", ""),
                                    tuple(raw.get("sources", [])), bool(raw["answerable"])))
        except (json.JSONDecodeError, KeyError) as err:
            raise ValueError(f"{path}:{line_no}: not a golden item ({err})") from err
    return items


def dataset_hash(items: list[GoldenItem]) -> str:
    payload = json.dumps([item.__dict__ for item in items], sort_keys=True, default=list)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]
