"""Train and measure the support check (assistant/guards/support.py) on the labelled set.

    python -m evals.support_train train     # LoRA on MiniLM, threshold chosen on dev documents
    python -m evals.support_train measure   # held-out documents: catch rate per kind of error,
                                            # false alarms on supported claims, ms per claim;
                                            # the word-overlap check measured alongside

Splits are by source document: `heldout` files are never trained on or tuned on; a few `train`
files are set aside as `dev` for choosing the epoch count and the threshold.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from pathlib import Path

import click

from assistant.guards import support
from assistant.offline import enforce_offline
from evals.support_set import SUPPORTED, SupportItem, load_support_set

SEED = 7
WARMUP_STEPS = 30
DEV_SHARE = 0.2


def dev_sources(items: list[SupportItem]) -> set[str]:
    sources = sorted({i.source for i in items if i.split == "train"})
    return set(random.Random(SEED).sample(sources, max(1, int(len(sources) * DEV_SHARE))))


def _batches(items, size, rng=None):
    order = list(range(len(items)))
    if rng is not None:
        rng.shuffle(order)
    for start in range(0, len(order), size):
        yield [items[i] for i in order[start:start + size]]


def predict(tokenizer, model, items: list[SupportItem], batch_size: int = 32) -> list[list[float]]:
    import torch

    model.eval()
    out = []
    with torch.inference_mode():
        for batch in _batches(items, batch_size):
            premises = [support.premise(i.passage, i.claim) for i in batch]
            enc = support.encode(tokenizer, premises, [i.claim for i in batch])
            out += torch.softmax(model(**enc).logits.float(), dim=-1).tolist()
    return out


def catch_report(items: list[SupportItem], supported_probs: list[float], threshold: float) -> dict:
    """Per kind: the share judged unsupported (a catch for errors, a false alarm for supported)."""
    by_kind: dict[str, list[bool]] = defaultdict(list)
    by_label: dict[str, list[bool]] = defaultdict(list)
    for item, p in zip(items, supported_probs, strict=True):
        flagged = p < threshold
        by_kind[item.kind].append(flagged)
        by_label[item.label].append(flagged)

    def rate(flags):
        return {"n": len(flags), "flagged": round(sum(flags) / len(flags), 3) if flags else None}

    return {"threshold": threshold,
            "by_label": {k: rate(v) for k, v in sorted(by_label.items())},
            "by_kind": {k: rate(v) for k, v in sorted(by_kind.items())}}


def choose_threshold(items: list[SupportItem], supported_probs: list[float],
                     max_false_alarms: float = 0.08) -> float:
    """The highest threshold whose false-alarm rate on supported dev claims stays in bounds."""
    supported_ps = sorted(p for i, p in zip(items, supported_probs, strict=True)
                          if i.label == SUPPORTED)
    allowed = int(len(supported_ps) * max_false_alarms)
    return round(max(0.05, min(0.95, supported_ps[allowed] if supported_ps else 0.5)), 3)


def train(out_dir: Path, epochs: int = 4, batch_size: int = 16, lr: float = 1e-3,
          log=print) -> dict:
    import torch

    torch.manual_seed(SEED)
    items = load_support_set(split="train")
    dev = dev_sources(items)
    fit = [i for i in items if i.source not in dev]
    held = [i for i in items if i.source in dev]
    tokenizer, model = support.build_model(trainable=True)
    counts = Counter(i.label for i in fit)
    weights = torch.tensor([len(fit) / (len(counts) * counts[label]) for label in support.LABELS])
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    # Warm up, then decay linearly: at a constant 2e-3 the head collapsed to one class.
    total_steps = epochs * ((len(fit) + batch_size - 1) // batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / WARMUP_STEPS)
        * max(0.0, 1 - step / total_steps))
    rng = random.Random(SEED)
    history = []
    for epoch in range(epochs):
        model.train()
        started, total = time.monotonic(), 0.0
        for step, batch in enumerate(_batches(fit, batch_size, rng)):
            premises = [support.premise(i.passage, i.claim) for i in batch]
            enc = support.encode(tokenizer, premises, [i.claim for i in batch])
            target = torch.tensor([support.LABELS.index(i.label) for i in batch])
            loss = loss_fn(model(**enc).logits, target)
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            total += loss.item()
            if step % 40 == 0:
                log(f"epoch {epoch + 1} step {step} loss {total / (step + 1):.3f}")
        probs = [p[0] for p in predict(tokenizer, model, held)]
        threshold = choose_threshold(held, probs)
        report = catch_report(held, probs, threshold)
        history.append({"epoch": epoch + 1, "seconds": round(time.monotonic() - started),
                        "dev": report})
        log(json.dumps(history[-1]["dev"]["by_label"]))
        # Saved every epoch: a long CPU run can be stopped and still leave a usable adapter.
        model.save_pretrained(out_dir)
        meta = {"trained_on": "evals/data/support-v1.jsonl train split minus dev documents",
                "dev_sources": sorted(dev), "items": len(fit), "epochs": epoch + 1, "lr": lr,
                "threshold": threshold, "history": history}
        (out_dir / "support_meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return meta


def lexical_supported_probs(items: list[SupportItem]) -> list[float]:
    """The old check's score: word overlap, or embedding similarity, with the passage."""
    from assistant.embeddings import load_embeddings
    from assistant.guards import grounding
    from assistant.records import Passage
    from assistant.text import split_sentences

    embed = load_embeddings().embed_documents
    out = []
    for item in items:
        passage = Passage(1, "x", item.source, "", item.passage, 1.0, 0, 0)
        row = grounding.support_table(split_sentences(item.claim)[:1], [passage], embed)[0]
        out.append(row.score(1, 0.5))
    return out


def trained_threshold(adapter_dir: Path) -> float:
    """The supported-probability threshold chosen on dev documents during training."""
    meta = json.loads((adapter_dir / "support_meta.json").read_text(encoding="utf-8"))
    return float(meta["threshold"])


def measure(adapter_dir: Path = support.ADAPTER_DIR, split: str = "heldout",
            pairs_per_answer: int = 8) -> dict:
    """The deployed check (cross-encoder + surface cues) and the old word-overlap check on
    `split`; cost as milliseconds per answer of `pairs_per_answer` (claim, passage) pairs."""
    items = load_support_set(split=split)
    checker = support.SupportChecker(adapter_dir)
    checker.judge("warm-up claim.", "warm-up passage.")
    judgements = []
    started = time.monotonic()
    for batch in _batches(items, pairs_per_answer):
        judgements += checker.judge_many([(i.claim, i.passage) for i in batch])
    ms_per_answer = (time.monotonic() - started) * 1000 / ((len(items) + pairs_per_answer - 1)
                                                           // pairs_per_answer)
    # A flagged claim is one the check does not read as supported (cues included).
    flagged_as_prob = [0.0 if j.label != SUPPORTED else 1.0 for j in judgements]
    tokenizer, model = support.build_model(adapter_dir)
    model_only = [p[0] for p in predict(tokenizer, model, items)]
    return {"items": len(items), "split": split,
            "support_check": {**catch_report(items, flagged_as_prob, 0.5),
                              "ms_per_answer": round(ms_per_answer, 1),
                              "pairs_per_answer": pairs_per_answer},
            "cross_encoder_alone": catch_report(items, model_only, trained_threshold(adapter_dir)),
            "word_overlap_check": catch_report(items, lexical_supported_probs(items), 0.5)}


@click.group()
def cli():
    """Train and measure the support check."""


@cli.command("train")
@click.option("--out", type=click.Path(path_type=Path), default=support.ADAPTER_DIR)
@click.option("--epochs", default=4)
def train_command(out: Path, epochs: int):
    out.mkdir(parents=True, exist_ok=True)
    meta = train(out, epochs=epochs)
    click.echo(f"saved to {out}; threshold {meta['threshold']}")


@cli.command("measure")
@click.option("--adapter", type=click.Path(path_type=Path), default=support.ADAPTER_DIR)
@click.option("--split", default="heldout", show_default=True)
def measure_command(adapter: Path, split: str):
    click.echo(json.dumps(measure(adapter, split), indent=2))


if __name__ == "__main__":
    enforce_offline()  # an entry point: offline switches before anything else runs
    cli()
