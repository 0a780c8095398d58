"""`assistant finetune build-data`: chat-format training data from feedback and golden sets.

Sources, each example in the pipeline's own prompt format (numbered retrieved passages):
- the log: thumbs-up answers as they were; corrected answers with the correction as target;
  thumbs-down without a correction is kept aside (for preference training), never a target;
- the golden train split and the handbook QA file: the reference answer citing the passage
  from its gold source, or the refusal when retrieval did not bring that source;
- refusal examples: the same questions with the gold passages taken away;
- optionally BoolQ (dev split) two-passage items: cite the right one, or refuse.
Items of any eval/test set must never be trained on: checked by normalized-question hash.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.finetune.examples import REFUSAL_TARGET, chat_example, cited_target, question_hash
from assistant.records import NOT_IN_SOURCES, Passage, Turn
from assistant.retrieval import evidence_passages, to_passages
from assistant.text import content_words, split_sentences


class ContaminationError(RuntimeError):
    """Training data contains a question of an evaluation set."""


@dataclass
class BuiltData:
    train: list[dict] = field(default_factory=list)
    validation: list[dict] = field(default_factory=list)
    aside: list[dict] = field(default_factory=list)  # thumbs-down without correction

    def counts(self) -> dict:
        return {
            "train": len(self.train),
            "validation": len(self.validation),
            "aside": len(self.aside),
            "by_origin": dict(Counter(e["origin"] for e in self.train + self.validation)),
        }

    def data_hash(self) -> str:
        payload = json.dumps([e["messages"] for e in self.train + self.validation])
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


class ExampleBuilder:
    """Retrieves passages like the pipeline does and turns (question, answer) into examples."""

    def __init__(self, index, top_k: int, min_relevance: float, refusal_share: float = 1.0):
        self.index, self.top_k, self.min_relevance = index, top_k, min_relevance
        # Share of questions that also get a gold-removed refusal example. Too many refusal
        # targets teach the model to refuse answerable questions (measured: with a third of
        # all examples being refusals, refusal correctness fell from 0.94 to 0.58).
        self.refusal_share = refusal_share

    def evidence(self, question: str, exclude_sources: Iterable[str] = ()) -> list[Passage]:
        excluded = set(exclude_sources)
        depth = self.top_k * 3 if excluded else self.top_k
        hits = [(d, s) for d, s in self.index.search(question, depth)
                if d.metadata.get("source") not in excluded][: self.top_k]
        return evidence_passages(to_passages(hits), self.min_relevance, question)

    def answer_examples(self, question: str, answer: str, sources: Iterable[str],
                        origin: str, heading: str | None = None) -> list[dict]:
        """The cited answer (or a refusal when the gold source was not retrieved), plus a
        refusal example with the gold passages removed."""
        sources = list(sources)
        examples = []
        passages = self.evidence(question)
        if passages:
            gold = [p for p in passages if p.source in sources]
            gold.sort(key=lambda p: (heading is not None and not p.heading.endswith(heading),
                                     p.n))
            target = cited_target(answer, gold[0].n) if gold else REFUSAL_TARGET
            examples.append(chat_example(question, passages, target, origin))
        keep_refusal = int(question_hash(question), 16) % 1000 < self.refusal_share * 1000
        without_gold = self.evidence(question, exclude_sources=sources) if keep_refusal else []
        if without_gold:
            examples.append(chat_example(question, without_gold, REFUSAL_TARGET,
                                         origin + ":refusal"))
        return examples

    def refusal_example(self, question: str, origin: str) -> list[dict]:
        passages = self.evidence(question)
        return [chat_example(question, passages, REFUSAL_TARGET, origin)] if passages else []


def from_log(log, min_relevance: float, redact: Callable[[str], str]):
    """(examples, aside) from rated turns; the latest rating of a turn counts."""
    examples, aside = [], []
    latest: dict[str, dict] = {}
    for fb in log.feedback():
        latest[fb["turn_id"]] = fb
    for turn_id, fb in latest.items():
        row = log.turn(turn_id)
        if row is None:
            continue
        turn = Turn.from_row(row)
        question = redact(turn.question)
        passages = turn.passages if turn.unverified else evidence_passages(
            turn.passages, min_relevance, turn.question)
        if not passages:
            continue  # refused before the model ran: nothing the model could learn here
        correction = (fb.get("correction") or "").strip()
        if correction:
            examples.append(chat_example(question, passages, redact(correction),
                                         "log:correction"))
        elif fb["rating"] == "up" and not turn.refused:
            examples.append(chat_example(question, passages, redact(turn.answer), "log:up"))
        elif fb["rating"] == "up" and turn.reason == NOT_IN_SOURCES:
            examples.append(chat_example(question, passages, REFUSAL_TARGET, "log:up"))
        elif fb["rating"] == "down":
            aside.append({"question": question, "rejected": redact(turn.answer),
                          "reason": fb.get("reason"), "turn_id": turn_id,
                          "passages": [p.to_dict() for p in passages]})
    return examples, aside


def boolq_examples(items: list[dict], limit: int, seed: int = 0,
                   refusal_share: float = 1 / 3) -> list[dict]:
    """Two-passage items: answer 'Yes/No' with the supporting sentence cited, or refuse when
    neither passage is the item's own. Teaches picking the right source and abstaining."""
    rng = random.Random(seed)
    items = [i for i in items if i.get("passage") and i.get("question")]
    rng.shuffle(items)
    examples = []
    for i, item in enumerate(items[:limit]):
        distractors = rng.sample(items, 2)
        question = item["question"].strip().rstrip("?") + "?"
        question = question[0].upper() + question[1:]
        if rng.random() < refusal_share:  # the answer is in neither passage
            docs = distractors
            target = REFUSAL_TARGET
        else:
            docs = [item, distractors[0]]
            rng.shuffle(docs)
            n = docs.index(item) + 1
            verdict = "Yes" if str(item["answer"]).lower() == "true" else "No"
            target = f"{verdict}. {_best_sentence(item['passage'], question)} [{n}]."
        passages = [
            Passage(n, f"boolq-{i}-{n}", "boolq", d.get("title", ""), d["passage"][:1000], 1.0,
                    0, 0)
            for n, d in enumerate(docs, start=1)
        ]
        examples.append(chat_example(question, passages, target, "boolq"))
    return examples


def _best_sentence(passage: str, question: str) -> str:
    """The passage sentence sharing most content words with the question."""
    words = content_words(question)
    sentences = [s.text for s in split_sentences(passage) if len(s.text) > 20]
    best = max(sentences or [passage], key=lambda s: len(words & content_words(s)))
    return best.rstrip(".")[:300]


def deduplicate(examples: list[dict]) -> list[dict]:
    seen, unique = set(), []
    for e in examples:
        key = (e["question_hash"], e["messages"][-1]["content"].strip().lower())
        if key not in seen:
            seen.add(key)
            unique.append(e)
    return unique


def check_contamination(examples: list[dict], eval_questions: Iterable[str]) -> None:
    forbidden = {question_hash(q): q for q in eval_questions}
    leaked = sorted({forbidden[e["question_hash"]] for e in examples
                     if e["question_hash"] in forbidden})
    if leaked:
        shown = "; ".join(leaked[:5])
        raise ContaminationError(
            f"{len(leaked)} evaluation question(s) found in the training data, e.g.: {shown}. "
            "Remove them from the log/training sources before building data."
        )


def split(examples: list[dict], validation_share: float = 0.1) -> tuple[list, list]:
    """Deterministic by question, so every example of one question lands on the same side."""
    cutoff = int(validation_share * 1000)
    validation = [e for e in examples if int(e["question_hash"], 16) % 1000 < cutoff]
    train = [e for e in examples if int(e["question_hash"], 16) % 1000 >= cutoff]
    return train, validation


def write(data: BuiltData, out_dir: Path, manifest: dict) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("train", "validation", "aside"):
        with open(out_dir / f"{name}.jsonl", "w", encoding="utf-8") as out:
            for row in getattr(data, name):
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    manifest = {**manifest, **data.counts(), "data_hash": data.data_hash()}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return out_dir


def build(index, settings, log=None, golden_train=(), handbook_qa=(), boolq_items=(),
          boolq_limit: int = 600, eval_questions: Iterable[str] = (),
          redact: Callable[[str], str] = lambda text: text, seed: int = 0,
          refusal_share: float = 1.0) -> BuiltData:
    """refusal_share: share of refusal examples kept from each source (gold-removed handbook
    questions, BoolQ items with neither passage relevant); 1.0 keeps them all."""
    builder = ExampleBuilder(index, settings.top_k, settings.min_relevance, refusal_share)
    examples: list[dict] = []
    aside: list[dict] = []
    if log is not None:
        logged, aside = from_log(log, settings.min_relevance, redact)
        examples.extend(logged)
    for item in golden_train:
        if item.answerable:
            examples.extend(builder.answer_examples(item.question, item.answer, item.sources,
                                                    "golden"))
        else:
            examples.extend(builder.refusal_example(item.question, "golden:unanswerable"))
    for qa in handbook_qa:
        examples.extend(builder.answer_examples(qa["question"], qa["answer"], [qa["source"]],
                                                "handbook_qa", heading=qa.get("heading")))
    if boolq_items:
        examples.extend(boolq_examples(list(boolq_items), boolq_limit, seed,
                                       refusal_share=refusal_share / 2))
    examples = deduplicate(examples)
    check_contamination(examples, eval_questions)
    random.Random(seed).shuffle(examples)
    train, validation = split(examples)
    return BuiltData(train, validation, aside)
