"""PII redaction against published test sentences, look-alikes, and its cost per message.

    python -m evals.pii_eval                  # recall, look-alikes, names, ms per message
    python -m evals.pii_eval --show 20        # also print 20 redacted sentences to read
    python -m evals.pii_eval --guard          # also the whole input guard's ms per message
    python -m evals.pii_eval --ner PATH       # a spaCy NER model (e.g. en_core_web_sm) on names

Recall counts an identifier as redacted when every letter and digit of it lies inside a
finding. "before" is assistant/guards/pii.py as committed at --before (default HEAD), loaded
from git into this process, so both are timed in the same run (the ratio is what to compare
between machines). Data: evals/redteam/pii_published.jsonl (evals/pii_sources.py),
pii_lookalikes.jsonl, pii_lookalikes_more.jsonl; names' false positives also on benign.jsonl
and injections.jsonl.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
import types
from collections import Counter
from pathlib import Path

from assistant.guards import pii

ROOT = Path(__file__).resolve().parent.parent
REDTEAM = Path(__file__).parent / "redteam"
LOOKALIKE_FILES = ("pii_lookalikes.jsonl", "pii_lookalikes_more.jsonl")
QUESTION_FILES = ("benign.jsonl", "injections.jsonl")


def read_jsonl(name: str) -> list[dict]:
    with (REDTEAM / name).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def module_at(ref: str):
    """pii.py as committed at ref, as a module (None where git or the file is missing)."""
    try:
        source = subprocess.run(
            ["git", "show", f"{ref}:assistant/guards/pii.py"], cwd=ROOT, check=True,
            capture_output=True, text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType(f"pii_at_{ref}")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{ref}:pii.py", "exec"), module.__dict__)
    return module


def covered(findings, text: str, start: int, end: int) -> bool:
    inside = [False] * (end - start)
    for f in findings:
        for i in range(max(f.start, start), min(f.end, end)):
            inside[i - start] = True
    return all(ok or not text[start + i].isalnum() for i, ok in enumerate(inside))


def short_source(row: dict) -> str:
    return row["source"].split(" (")[0].replace("anonymize_helpers/", "")


def recall(rows: list[dict], find) -> Counter:
    """Counter of (split, source, kind) -> [redacted, total] as two Counters' keys."""
    hits, totals = Counter(), Counter()
    for row in rows:
        spans = [s for s in row.get("spans", []) if s["kind"] != "PERSON"]
        if not spans:
            continue
        findings = find(row["text"])
        for s in spans:
            key = (row["split"], short_source(row), s["kind"])
            totals[key] += 1
            hits[key] += covered(findings, row["text"], s["start"], s["end"])
    return hits, totals


def print_recall(rows, before) -> None:
    after_hits, totals = recall(rows, pii.find_pii)
    before_hits = recall(rows, before.find_pii)[0] if before else Counter()
    print("Identifiers redacted (split | source | kind: before -> after / total)")
    by_split = Counter()
    for key in sorted(totals):
        split = key[0]
        by_split[split, "before"] += before_hits[key]
        by_split[split, "after"] += after_hits[key]
        by_split[split, "total"] += totals[key]
        print(f"  {' | '.join(key)}: {before_hits[key]} -> {after_hits[key]} / {totals[key]}")
    for split in ("tune", "report"):
        print(f"  ALL {split}: {by_split[split, 'before']} -> {by_split[split, 'after']}"
              f" / {by_split[split, 'total']}")


def lookalike_rows(rows: list[dict]) -> list[dict]:
    out = [r for name in LOOKALIKE_FILES for r in read_jsonl(name)]
    return out + [r for r in rows if r.get("lookalike")]


def print_lookalikes(rows: list[dict], before) -> None:
    looks = lookalike_rows(rows)
    for label, find in (("before", before.find_pii if before else None),
                        ("after", pii.find_pii)):
        if find is None:
            continue
        bad = [(r["id"], [r["text"][f.start:f.end] for f in find(r["text"])]) for r in looks]
        bad = [b for b in bad if b[1]]
        print(f"Look-alikes redacted ({label}): {len(bad)} / {len(looks)} {bad if bad else ''}")


def print_names(rows: list[dict]) -> None:
    """The name policy's figures: PERSON spans redacted, and names found in questions."""
    hits, totals = Counter(), Counter()
    for row in rows:
        spans = [s for s in row.get("spans", []) if s["kind"] == "PERSON"]
        findings = [f for f in pii.find_pii(row["text"]) if f.kind == "person"] if spans else []
        for s in spans:
            totals[row["split"]] += 1
            hits[row["split"]] += covered(findings, row["text"], s["start"], s["end"])
    print("Person names redacted (cue policy): "
          + ", ".join(f"{k} {hits[k]}/{totals[k]}" for k in sorted(totals)))
    questions = [r["text"] for name in QUESTION_FILES for r in read_jsonl(name)]
    questions += [r["text"] for r in lookalike_rows(rows)]
    named = [(t[:60], [t[f.start:f.end] for f in pii.find_pii(t) if f.kind == "person"])
             for t in questions]
    named = [n for n in named if n[1]]
    print(f"Questions with a [NAME] redaction: {len(named)} / {len(questions)} {named}")


def timed(find, texts: list[str], repeat: int = 3) -> list[float]:
    ms = []
    for _ in range(repeat):
        for text in texts:
            t0 = time.perf_counter()
            find(text)
            ms.append((time.perf_counter() - t0) * 1000)
    return ms


def print_speed(rows: list[dict], before, guard: bool) -> None:
    texts = [r["text"] for r in rows] + [r["text"] for r in read_jsonl("benign.jsonl")]
    pii.find_pii("warm up: call me on 555 0100")  # builds the analyzer
    results = {"after": timed(pii.find_pii, texts)}
    if before:
        results["before"] = timed(before.find_pii, texts)
    print(f"find_pii ms per message over {len(texts)} messages x 3:")
    for label, ms in results.items():
        print(f"  {label}: p50 {statistics.median(ms):.3f}  mean {statistics.fmean(ms):.3f}"
              f"  p95 {sorted(ms)[int(0.95 * len(ms))]:.3f}")
    if before:
        ratio = statistics.median(results["after"]) / statistics.median(results["before"])
        print(f"  p50 ratio after/before: {ratio:.0f}x")
    if guard:
        print_guard_speed(texts, before)


def print_guard_speed(texts: list[str], before) -> None:
    """Guards.check_input with this find_pii, then with the baseline's (patched in)."""
    from assistant.guards.guards import Guards
    from assistant.prompt import SYSTEM_PROMPT

    guards = Guards(SYSTEM_PROMPT)
    sample = random.Random(0).sample(texts, min(200, len(texts)))
    guards.check_input(sample[0])
    current = pii.find_pii
    finders = [("after", current)] + ([("before", before.find_pii)] if before else [])
    try:
        for label, find in finders:
            pii.find_pii = find
            ms = timed(guards.check_input, sample, repeat=1)
            print(f"whole input guard (Guards.check_input), {label}, {len(sample)} messages: "
                  f"p50 {statistics.median(ms):.1f} ms, p95 {sorted(ms)[int(0.95 * len(ms))]:.1f}")
    finally:
        pii.find_pii = current


def print_samples(rows: list[dict], n: int) -> None:
    chosen = random.Random(1).sample([r for r in rows if r.get("spans")], n)
    for row in chosen:
        out = pii.apply_redactions(row["text"], pii.find_pii(row["text"]))
        values = [s["value"] for s in row["spans"]]
        print(f"- {row['id']}: {out!r}\n    values: {values}")


def print_ner(rows: list[dict], path: str) -> None:
    """A spaCy NER model's recall on PERSON and its persons found in our questions."""
    import spacy

    nlp = spacy.load(path, exclude=["parser"])
    hits = totals = 0
    t0 = time.perf_counter()
    for row in rows:
        spans = [s for s in row.get("spans", []) if s["kind"] == "PERSON"]
        ents = [e for e in nlp(row["text"]).ents if e.label_ == "PERSON"] if spans else []
        for s in spans:
            totals += 1
            hits += any(e.start_char < s["end"] and s["start"] < e.end_char for e in ents)
    ms = (time.perf_counter() - t0) * 1000 / max(1, len(rows))
    questions = [r["text"] for name in QUESTION_FILES for r in read_jsonl(name)]
    flagged = [t[:50] for t in questions if any(e.label_ == "PERSON" for e in nlp(t).ents)]
    print(f"NER {path}: PERSON recall {hits}/{totals}, {ms:.1f} ms per message, "
          f"questions with a PERSON: {len(flagged)} / {len(questions)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="HEAD", help="git ref of the baseline pii.py")
    parser.add_argument("--show", type=int, default=0, help="print N redacted sentences")
    parser.add_argument("--guard", action="store_true", help="time the whole input guard")
    parser.add_argument("--ner", help="path or name of a spaCy pipeline to compare on names")
    args = parser.parse_args(argv)
    rows = read_jsonl("pii_published.jsonl")
    before = module_at(args.before)
    print_recall(rows, before)
    print_lookalikes(rows, before)
    print_names(rows)
    print_speed(rows, before, args.guard)
    if args.show:
        print_samples(rows, args.show)
    if args.ner:
        print_ner(rows, args.ner)


if __name__ == "__main__":
    main()
