"""Does a passage support a claim? A cross-encoder that reads the two together.

The model is the assistant's own embedding model (all-MiniLM-L6-v2, from its PyPI package) with
a classification head and a LoRA adapter trained on the labelled handbook set
(`python -m evals.support_train`), shipped in `support_model/`. Reading claim and passage in one
pass lets it see word order and negation, which the word-overlap and embedding checks cannot:
"context-free metrics compare with the source" and its reversal share every word.

The cross-encoder misses most claims that differ from their source by a single negation, number,
exchanged word or swapped pair of terms, and it sometimes doubts a verbatim copy; so surface
contradictions (contradiction_cues.py) are looked for first, and a claim made only of its source
sentence's words, with none of them, is supported without asking the model.

A claim is checked against the sentences of the passage that share the most words with it,
within PREMISE_CHARS, so that a long chunk does not push the relevant sentence out of the
model's 256-token window.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.excerpts import excerpt
from assistant.guards.contradiction_cues import (
    contradiction_cues,
    entailed_by_words,
    unseen_names,
)

SUPPORTED, CONTRADICTED, NOT_ADDRESSED = "supported", "contradicted", "not_addressed"
LABELS = (SUPPORTED, CONTRADICTED, NOT_ADDRESSED)
ADAPTER_DIR = Path(__file__).resolve().parent / "support_model"
PREMISE_CHARS = 350
RECENT_VERDICTS = 512
MAX_NOT_ADDRESSED = 0.3  # dev documents: 0.3 to 0.7 decide the same; the cautious end
MAX_TOKENS = 256


@dataclass(frozen=True)
class Judgement:
    label: str
    probabilities: dict[str, float]  # the cross-encoder's reading; {} when not asked
    cues: tuple[str, ...] = ()  # surface contradictions found (contradiction_cues.py)


def premise(passage: str, claim: str, max_chars: int = PREMISE_CHARS) -> str:
    """The passage's sentences that bear on the claim (the passage itself when short)."""
    return excerpt(passage, claim, max_chars)


def label_of(probabilities: dict[str, float], max_not_addressed: float) -> str:
    """The cross-encoder's reading, used only for "does the passage address this at all": its
    supported-vs-contradicted split is close to a coin toss on held-out documents (17% of
    contradictions caught at 10% false alarms), while not-addressed is caught every time."""
    return NOT_ADDRESSED if probabilities[NOT_ADDRESSED] > max_not_addressed else SUPPORTED


def surface_verdict(claim: str, passage: str) -> Judgement | None:
    """What the claim's words alone settle, before asking the model: a surface contradiction;
    a model or product name the passage never names (not addressed); a claim made only of its
    source sentences' words (supported). None: the cross-encoder decides. (Order and checks
    chosen on the dev documents.)"""
    cues = tuple(contradiction_cues(claim, passage))
    if cues:
        return Judgement(CONTRADICTED, {}, cues)
    if unseen_names(claim, passage):
        return Judgement(NOT_ADDRESSED, {})
    if entailed_by_words(claim, passage):
        return Judgement(SUPPORTED, {})
    return None


def build_model(adapter_dir: Path | None = None, trainable: bool = False):
    """(tokenizer, model): MiniLM with a 3-way head; LoRA from adapter_dir, or a new one."""
    from peft import LoraConfig, PeftModel, TaskType, get_peft_model
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from assistant.embeddings import embedding_model_dir

    base_dir = str(embedding_model_dir())
    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    # The new head is reported "missing" on every load; the adapter brings its weights.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        base = AutoModelForSequenceClassification.from_pretrained(
            base_dir, num_labels=len(LABELS), local_files_only=True)
    finally:
        hf_logging.set_verbosity(verbosity)
    if adapter_dir is not None:
        model = PeftModel.from_pretrained(base, str(adapter_dir), is_trainable=trainable)
    else:
        config = LoraConfig(
            task_type=TaskType.SEQ_CLS, r=16, lora_alpha=32, lora_dropout=0.05,
            target_modules=["query", "key", "value", "attention.output.dense",
                            "intermediate.dense", "output.dense"],
            modules_to_save=["classifier", "pooler"])
        model = get_peft_model(base, config)
    model.train(trainable)
    return tokenizer, model


def encode(tokenizer, premises: Sequence[str], claims: Sequence[str]):
    return tokenizer(list(premises), list(claims), truncation="only_first",
                     max_length=MAX_TOKENS, padding=True, return_tensors="pt")


class SupportChecker:
    """Loaded on first use; thread-safe (one forward pass at a time)."""

    def __init__(self, adapter_dir: Path = ADAPTER_DIR,
                 max_not_addressed: float = MAX_NOT_ADDRESSED):
        self.adapter_dir = Path(adapter_dir)
        self.max_not_addressed = max_not_addressed
        self._model = None
        self._lock = threading.Lock()
        self._recent: dict[tuple[str, str], Judgement] = {}

    @property
    def available(self) -> bool:
        return (self.adapter_dir / "adapter_config.json").is_file()

    def _load(self):
        if self._model is None:
            import torch

            tokenizer, model = build_model(self.adapter_dir)
            self._model = (tokenizer, model.eval(), torch)
        return self._model

    def judge_many(self, pairs: Sequence[tuple[str, str]]) -> list[Judgement]:
        """Judge (claim, passage) pairs; the model reads, in one batch, only the pairs the
        claims' words do not settle. Recent verdicts are remembered: the guard re-checks the
        same sentences after re-pointing their markers."""
        with self._lock:
            judged = {pair: self._recent[pair] for pair in pairs if pair in self._recent}
            undecided = []
            for pair in dict.fromkeys(pairs):
                if pair not in judged:
                    verdict = surface_verdict(*pair)
                    if verdict is None:
                        undecided.append(pair)
                    else:
                        judged[pair] = verdict
            for pair, probabilities in zip(undecided, self._read(undecided), strict=True):
                judged[pair] = Judgement(label_of(probabilities, self.max_not_addressed),
                                         probabilities)
            if len(self._recent) > RECENT_VERDICTS:
                self._recent.clear()
            self._recent.update(judged)
        return [judged[pair] for pair in pairs]

    def _read(self, pairs: list[tuple[str, str]]) -> list[dict[str, float]]:
        """The cross-encoder's probabilities for each (claim, passage) pair."""
        if not pairs:
            return []
        tokenizer, model, torch = self._load()
        premises = [premise(passage, claim) for claim, passage in pairs]
        batch = encode(tokenizer, premises, [claim for claim, _ in pairs])
        with torch.inference_mode():
            rows = torch.softmax(model(**batch).logits.float(), dim=-1).tolist()
        return [{label: round(p, 4) for label, p in zip(LABELS, row, strict=True)}
                for row in rows]

    def judge(self, claim: str, passage: str) -> Judgement:
        return self.judge_many([(claim, passage)])[0]
