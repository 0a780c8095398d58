"""The frozen reading set: its items, the file they are frozen in, and how our prompt poses an
item (the item's passage and a distractor as two numbered sources). See evals/reading.py."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.prompt import MAX_PASSAGE_CHARS, build_messages
from assistant.records import Passage

VERSION = "reading-v1"
FROZEN_PATH = Path(__file__).parent / "data" / f"{VERSION}.jsonl"

SOURCE_LABELS = {"boolq": "Wikipedia", "quac": "Wikipedia", "narrativeqa": "Plot summary"}


@dataclass(frozen=True)
class ReadingItem:
    id: str
    dataset: str  # "boolq" | "narrativeqa" | "quac"
    kind: str  # "yes_no" (references: ["yes"] or ["no"]) | "short"
    question: str
    passage: str
    references: tuple[str, ...]
    title: str = ""
    source_file: str = ""
    source_sha256: str = ""
    source_index: int = -1
    distractor_id: str = ""
    distractor_dataset: str = ""
    distractor_title: str = ""
    distractor_passage: str = ""
    gold_n: int = 1  # the number the item's own passage gets in the prompt (1 or 2)

    def to_json(self) -> dict:
        row = asdict(self)
        row["references"] = list(self.references)
        # Keys of a golden item too, so `finetune build-data --eval-set` can read this file.
        row["answerable"] = True
        row["answer"] = self.references[0]
        return row

    @classmethod
    def from_json(cls, row: dict) -> ReadingItem:
        fields = {k: v for k, v in row.items() if k in cls.__dataclass_fields__}
        return cls(**{**fields, "references": tuple(row["references"])})



def write_reading_set(items: list[ReadingItem], path: Path | str = FROZEN_PATH) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")
    return path


def load_reading_set(path: Path | str = FROZEN_PATH) -> list[ReadingItem]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [ReadingItem.from_json(json.loads(line)) for line in lines if line.strip()]



# ---------------------------------------------------------------------------------------------
# How the prompt poses an item


def prompt_question(item: ReadingItem) -> str:
    return f"{item.question} Answer yes or no." if item.kind == "yes_no" else item.question


def item_passages(item: ReadingItem) -> list[Passage]:
    own = (item.id, item.dataset, item.title, item.passage)
    other = (item.distractor_id, item.distractor_dataset, item.distractor_title,
             item.distractor_passage)
    ordered = [own, other] if item.gold_n == 1 else [other, own]
    return [Passage(n, chunk_id, SOURCE_LABELS.get(dataset, "Document"), title, text, 1.0, 0,
                    len(text))
            for n, (chunk_id, dataset, title, text) in enumerate(ordered, start=1) if text]


def item_messages(item: ReadingItem) -> list[dict]:
    return build_messages(prompt_question(item), item_passages(item))


def cut_by_prompt(items: list[ReadingItem]) -> list[str]:
    """Ids of items whose passages the current prompt would excerpt rather than show whole
    (when MAX_PASSAGE_CHARS shrank after the set was frozen): rebuild the set then."""
    return [i.id for i in items
            if max(len(i.passage), len(i.distractor_passage)) > MAX_PASSAGE_CHARS]
