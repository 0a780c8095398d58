"""HELM-style robustness: small, meaning-preserving perturbations of each question, and the
worst-case score per item; plus calibration (ECE) where the model gives probabilities.

Perturbations (deterministic for a given seed and text):

* typos: swap two neighbouring letters inside about one word in five (at least one word);
* casing: the whole question lower-cased;
* whitespace: some single spaces become two or three spaces or a tab, plus padding;
* contractions: contract ("what is" -> "what's"), or expand when there is nothing to contract.

Per item the score of one variant is token F1 against the reference for answerable items
(0 when the system refused) and refusal correctness for unanswerable ones; the item's robust
score is the minimum over the original and all perturbed variants (the worst case).
"""

from __future__ import annotations

import random
import re
import sys
import time

from assistant.pipeline import Pipeline, TurnRequest
from evals.metrics import expected_calibration_error
from evals.reference_metrics import token_f1
from knowledge.golden_sets import GoldenItem, dataset_hash

PERTURBATIONS = ("typos", "casing", "whitespace", "contractions")
VERSION = "robustness-perturbations-1"
MIN_CALIBRATION_ITEMS = 50

_CONTRACTIONS = {
    "what is": "what's", "it is": "it's", "that is": "that's", "there is": "there's",
    "who is": "who's", "where is": "where's", "how is": "how's", "do not": "don't",
    "does not": "doesn't", "did not": "didn't", "is not": "isn't", "are not": "aren't",
    "can not": "can't", "cannot": "can't", "will not": "won't", "should not": "shouldn't",
    "would not": "wouldn't", "could not": "couldn't", "i am": "i'm", "you are": "you're",
    "they are": "they're", "we are": "we're", "let us": "let's",
}
_EXPANSIONS = {short: long for long, short in _CONTRACTIONS.items() if long != "cannot"}


def _rng(seed: int, kind: str, text: str) -> random.Random:
    return random.Random(f"{seed}:{kind}:{text}")  # str seeds hash with sha512: stable


def typos(text: str, rng: random.Random, rate: float = 0.2) -> str:
    words = text.split(" ")
    eligible = [i for i, w in enumerate(words) if sum(c.isalpha() for c in w) >= 4]
    if not eligible:
        return text
    chosen = [i for i in eligible if rng.random() < rate] or [rng.choice(eligible)]
    for i in chosen:
        word = words[i]
        inner = [j for j in range(1, len(word) - 2)
                 if word[j].isalpha() and word[j + 1].isalpha() and word[j] != word[j + 1]]
        if inner:
            j = rng.choice(inner)
            words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2:]
    return " ".join(words)


def casing(text: str, rng: random.Random) -> str:
    return text.lower() if text != text.lower() else text.upper()


def whitespace(text: str, rng: random.Random) -> str:
    pieces = text.split(" ")
    out = pieces[0]
    for piece in pieces[1:]:
        out += rng.choice([" ", " ", "  ", "   ", "\t"]) + piece
    return " " + out + "  "


def _match_case(original: str, replacement: str) -> str:
    return replacement[0].upper() + replacement[1:] if original[:1].isupper() else replacement


def contractions(text: str, rng: random.Random) -> str:
    def swap(table: dict[str, str]):
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(table, key=len,
                                                                         reverse=True)))
                             + r")\b", re.IGNORECASE)
        return pattern.subn(lambda m: _match_case(m.group(0), table[m.group(0).lower()]), text)

    contracted, count = swap(_CONTRACTIONS)
    if count:
        return contracted
    expanded, _ = swap(_EXPANSIONS)
    return expanded


def perturb(text: str, kind: str, seed: int = 0) -> str:
    """One perturbation of the text, the same every time for the same (text, kind, seed)."""
    functions = {"typos": typos, "casing": casing, "whitespace": whitespace,
                 "contractions": contractions}
    if kind not in functions:
        raise ValueError(f"unknown perturbation {kind!r}; one of {PERTURBATIONS}")
    return functions[kind](text, _rng(seed, kind, text))


def variants(text: str, seed: int = 0) -> dict[str, str]:
    return {"original": text, **{kind: perturb(text, kind, seed) for kind in PERTURBATIONS}}


def variant_score(item: GoldenItem, answer: str, refused: bool) -> float:
    """Token F1 (0 for a refusal) on answerable items; refusal correctness on unanswerable."""
    if not item.answerable:
        return float(refused)
    return 0.0 if refused else token_f1(answer, item.answer)


def worst_case(scores: dict[str, float]) -> float:
    return min(scores.values())


def calibration(confidences: list[float], correct: list[float],
                min_items: int = MIN_CALIBRATION_ITEMS, n_bins: int = 10) -> dict:
    """ECE when there are at least ``min_items`` probabilities, else a note saying why not."""
    if len(confidences) < min_items:
        return {"ece": None, "n": len(confidences),
                "note": f"ECE needs at least {min_items} items with probabilities"}
    return {"ece": expected_calibration_error(confidences, correct, n_bins), "n": len(confidences),
            "bins": n_bins, "mean_confidence": sum(confidences) / len(confidences),
            "accuracy": sum(correct) / len(correct)}


def run_robustness(store, pipeline: Pipeline, items: list[GoldenItem], dataset: str,
                   seed: int = 0, name: str = "", progress: bool = True) -> str:
    """Ask every variant of every item, store per-item worst cases, return the run id."""
    from tqdm import tqdm

    from evals.replay import run_info
    from evals.scoring import aggregate_scores
    from evals.store import ItemRow

    start = time.monotonic()
    rows, per_item = [], []
    total = len(items) * (1 + len(PERTURBATIONS))
    bar = tqdm(total=total, desc="Robustness", unit="q", disable=not progress, file=sys.stderr)
    for item in items:
        answers, scores, asked = {}, {}, {}
        for kind, question in variants(item.question, seed).items():
            if question not in asked:  # a perturbation that changed nothing is not re-asked
                turn = pipeline.ask(TurnRequest(question, use_cache=False))
                asked[question] = {"question": question, "answer": turn.answer,
                                   "refused": turn.refused, "reason": turn.reason}
            answers[kind] = asked[question]
            scores[kind] = variant_score(item, answers[kind]["answer"], answers[kind]["refused"])
            bar.update()
        item_scores = {**scores, "worst_case": worst_case(scores),
                       "refusal_flips": float(len({a["refused"] for a in answers.values()}) > 1)}
        per_item.append(item_scores)
        rows.append(ItemRow(item.id, item.question, item.answer, answers["original"]["answer"],
                            item_scores, {"answerable": item.answerable, "variants": answers,
                                          "worst_variant": min(scores, key=scores.get)}))
    bar.close()
    metrics = aggregate_scores(per_item, ["original", *PERTURBATIONS, "worst_case",
                                          "refusal_flips"])
    original, worst = metrics.get("original"), metrics.get("worst_case")
    summary = {
        "metrics": metrics,
        "overview": {"items": len(items), "asks": total, "seed": seed,
                     "drop_original_to_worst": (original["mean"] - worst["mean"])
                     if original and worst else None},
    }
    info = run_info(pipeline, "robustness", name or f"robustness:{dataset}", dataset,
                    dataset_hash(items), {"seed": seed, "perturbations": list(PERTURBATIONS)})
    info.metric_versions["robustness"] = VERSION
    return store.save_run(info, summary, rows, int((time.monotonic() - start) * 1000))


def run_mmlu_robustness(store, settings, wheel=None, split: str = "test-tiny",
                        limit: int | None = None, seed: int = 0, name: str = "",
                        progress=print, generator=None) -> str:
    """The same perturbations on MMLU questions (options untouched), scored by letter
    log-likelihood: accuracy per variant, worst case per item, and ECE of the original's
    letter probabilities when there are enough items."""
    from dataclasses import replace

    from tqdm import tqdm

    from assistant.runtime import make_generator
    from evals.mmlu import MMLU, PROMPT_VERSION, continuation_logprobs
    from evals.scoring import aggregate_scores, metric_versions
    from evals.store import ItemRow, RunInfo, adapter_hash

    task = MMLU(wheel, split)
    examples = task.examples[:limit]
    generator = generator or make_generator(settings, progress)
    model, tokenizer = generator.load()
    start = time.monotonic()
    rows, per_item, confidences, correct = [], [], [], []
    for example in tqdm(examples, desc="MMLU robustness", unit="q", file=sys.stderr):
        scores, predicted, seen = {}, {}, {}
        for kind, question in variants(example.question, seed).items():
            if question not in seen:
                variant = replace(example, question=question)
                logprobs = continuation_logprobs(model, tokenizer, task.prompt(variant),
                                                 [f" {x}" for x in example.letters])
                seen[question] = task.evaluate(variant, logprobs)
            scores[kind] = seen[question]["correct"]
            predicted[kind] = seen[question]["predicted"]
        original = seen[example.question]
        confidences.append(original["confidence"])
        correct.append(original["correct"])
        item_scores = {**scores, "worst_case": worst_case(scores),
                       "confidence": original["confidence"]}
        per_item.append(item_scores)
        rows.append(ItemRow(example.id, example.question, original["gold"],
                            original["predicted"], item_scores,
                            {"predicted": predicted, "variants": variants(example.question,
                                                                          seed)}))
    metrics = aggregate_scores(per_item, ["original", *PERTURBATIONS, "worst_case"])
    summary = {"metrics": metrics, "calibration": calibration(confidences, correct),
               "overview": {"items": len(examples), "seed": seed,
                            "drop_original_to_worst": metrics["original"]["mean"]
                            - metrics["worst_case"]["mean"] if examples else None}}
    info = RunInfo(kind="robustness", name=name or f"robustness:mmlu:{split}",
                   model=generator.name, adapter=generator.adapter,
                   adapter_hash=adapter_hash(getattr(generator, "adapter_dir", None)),
                   prompt_version=PROMPT_VERSION, dataset=task.dataset,
                   dataset_hash=task.dataset_hash,
                   metric_versions={**metric_versions(), "robustness": VERSION,
                                    "mmlu": PROMPT_VERSION},
                   config={"split": split, "limit": limit, "seed": seed})
    return store.save_run(info, summary, rows, int((time.monotonic() - start) * 1000))
