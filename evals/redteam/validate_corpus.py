"""Validate the red-team corpus in this folder (stdlib only).

Usage: python evals/redteam/validate_corpus.py
Exits non-zero and prints the problems if any check fails.
"""
from __future__ import annotations

import collections
import json
import re
import sys
from pathlib import Path

from assistant.offline import enforce_offline

HERE = Path(__file__).resolve().parent
STYLES = {"direct", "roleplay", "encoded", "indirect", "system_prompt_extraction", "obfuscated"}
GOALS = {"override_instructions", "reveal_system_prompt", "exfiltrate_data",
         "harmful_content", "ignore_sources", "change_persona"}
PII_KINDS = {"email", "phone", "credit_card", "iban", "national_id", "api_key", "mixed"}
STYLE_MIN = {"direct": 25, "roleplay": 25, "encoded": 25, "indirect": 25, "system_prompt_extraction": 20}

IBAN_RE = re.compile(r"^[A-Z]{2}\d{2}(?: ?[A-Z0-9]{1,4})+$")
IBAN_IN_TEXT = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
CARD_IN_TEXT = re.compile(r"(?<![\d+])\d(?:[ -]?\d){12,18}(?!\d)")
SSN_RE = re.compile(r"^(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}$")
NINO_RE = re.compile(r"^(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]$")

problems: list[str] = []


def fail(msg: str) -> None:
    problems.append(msg)


def luhn_ok(s: str) -> bool:
    digits = [int(c) for c in s if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(s: str) -> bool:
    s = s.replace(" ", "")
    r = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in r)) % 97 == 1


def load(name: str, keys: set[str], prefix: str, at_least: int = 0) -> list[dict]:
    """The rows of a corpus file, checked: keys, ids, no repeats and at least `at_least` rows."""
    path = HERE / name
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                fail(f"{name}:{n}: empty line")
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                fail(f"{name}:{n}: bad JSON ({e})")
                continue
            if set(row) != keys:
                fail(f"{name}:{n}: keys {sorted(row)} != {sorted(keys)}")
            if not re.fullmatch(prefix + r"\d{3}", str(row.get("id", ""))):
                fail(f"{name}:{n}: bad id {row.get('id')!r}")
            rows.append(row)
    ids = [r.get("id") for r in rows]
    for i, c in collections.Counter(ids).items():
        if c > 1:
            fail(f"{name}: duplicate id {i}")
    text_key = "question" if "question" in keys else "text"
    for t, c in collections.Counter(r.get(text_key) for r in rows).items():
        if c > 1:
            fail(f"{name}: duplicate text {t!r}")
    if len(rows) < at_least:
        fail(f"{path.stem}: {len(rows)} < {at_least}")
    return rows


def check_injections() -> None:
    inj = load("injections.jsonl", {"id", "style", "goal", "text"}, "inj", at_least=160)
    styles = collections.Counter(r["style"] for r in inj)
    for r in inj:
        if r["style"] not in STYLES:
            fail(f"{r['id']}: bad style {r['style']}")
        if r["goal"] not in GOALS:
            fail(f"{r['id']}: bad goal {r['goal']}")
        if not r["text"].strip():
            fail(f"{r['id']}: empty text")
    for s, m in STYLE_MIN.items():
        if styles[s] < m:
            fail(f"injections: style {s} has {styles[s]} < {m}")
    print(f"injections: {len(inj)} {dict(sorted(styles.items()))}")
    print(f"  goals: {dict(sorted(collections.Counter(r['goal'] for r in inj).items()))}")


def check_poisoned() -> None:
    docs = {p.name: p.read_text(encoding="utf-8") for p in (HERE / "poisoned_docs").glob("*.md")}
    if len(docs) < 3:
        fail(f"poisoned_docs: {len(docs)} < 3 documents")
    poi = load("poisoned_questions.jsonl", {"id", "question", "doc"}, "poi")
    if len(poi) != 10:
        fail(f"poisoned_questions: {len(poi)} != 10")
    for r in poi:
        if r["doc"] not in docs:
            fail(f"{r['id']}: unknown doc {r['doc']}")
    for name, text in docs.items():
        if not re.search(r"(?i)(assistant|language model|AI)", text):
            fail(f"{name}: no embedded instruction found")
    print(f"poisoned_docs: {len(docs)}, poisoned_questions: {len(poi)}")


def check_pii_value(r: dict, v: str) -> tuple[bool, bool]:
    """Check one value of a PII item; (is it a card number, is it an IBAN)."""
    if v not in r["text"]:
        fail(f"{r['id']}: value {v!r} not in text")
    is_card = bool(re.fullmatch(r"\d(?:[ -]?\d){12,18}", v))
    is_iban = bool(IBAN_RE.fullmatch(v)) and len(v.replace(" ", "")) >= 15 and not v.startswith(("AKIA", "AIza"))
    if r["kind"] == "credit_card" and not is_card:
        fail(f"{r['id']}: {v!r} does not look like a card number")
    if r["kind"] == "iban" and not is_iban:
        fail(f"{r['id']}: {v!r} does not look like an IBAN")
    if is_card and not luhn_ok(v):
        fail(f"{r['id']}: card {v!r} fails Luhn")
    if is_iban and not iban_ok(v):
        fail(f"{r['id']}: IBAN {v!r} fails mod-97")
    if r["kind"] == "national_id" and not (SSN_RE.fullmatch(v) or NINO_RE.fullmatch(v)):
        fail(f"{r['id']}: {v!r} is neither SSN- nor NINO-formatted")
    if r["kind"] == "api_key" and not re.match(r"(AKIA[A-Z0-9]{16}$|sk-proj-|ghp_[A-Za-z0-9]{36}$|xoxb-|AIza.{35}$)", v):
        fail(f"{r['id']}: {v!r} does not look like a known key format")
    return is_card, is_iban


def check_pii() -> None:
    pii = load("pii.jsonl", {"id", "kind", "text", "values"}, "pii", at_least=60)
    kinds = collections.Counter(r["kind"] for r in pii)
    for k in PII_KINDS:
        if kinds[k] < 8:
            fail(f"pii: kind {k} has {kinds[k]} < 8")
    n_cards = n_ibans = 0
    for r in pii:
        if r["kind"] not in PII_KINDS:
            fail(f"{r['id']}: bad kind {r['kind']}")
        if not r["values"]:
            fail(f"{r['id']}: no values")
        if r["kind"] == "mixed" and len(r["values"]) < 2:
            fail(f"{r['id']}: mixed item needs >= 2 values")
        for v in r["values"]:
            is_card, is_iban = check_pii_value(r, v)
            n_cards += is_card
            n_ibans += is_iban
    print(f"pii: {len(pii)} {dict(sorted(kinds.items()))}; cards checked {n_cards}, IBANs checked {n_ibans}")


def check_lookalikes() -> None:
    lal = load("pii_lookalikes.jsonl", {"id", "text", "note"}, "lal", at_least=20)
    n_lal_cards = n_lal_ibans = 0
    for r in lal:
        for m in CARD_IN_TEXT.finditer(r["text"]):
            n_lal_cards += 1
            if luhn_ok(m.group()):
                fail(f"{r['id']}: look-alike number {m.group()!r} PASSES Luhn")
        for m in IBAN_IN_TEXT.finditer(r["text"]):
            n_lal_ibans += 1
            if iban_ok(m.group()):
                fail(f"{r['id']}: look-alike IBAN {m.group()!r} PASSES mod-97")
    if n_lal_cards < 2 or n_lal_ibans < 1:
        fail(f"pii_lookalikes: expected card-like and IBAN-like decoys ({n_lal_cards}, {n_lal_ibans})")
    print(f"pii_lookalikes: {len(lal)}; card-like decoys {n_lal_cards}, IBAN-like decoys {n_lal_ibans}")


def check_xss_and_benign() -> None:
    xss = load("xss.jsonl", {"id", "text"}, "xss", at_least=40)
    ben = load("benign.jsonl", {"id", "text"}, "ben", at_least=40)
    print(f"xss: {len(xss)}, benign: {len(ben)}")


def main() -> int:
    check_injections()
    check_poisoned()
    check_pii()
    check_lookalikes()
    check_xss_and_benign()
    if problems:
        print(f"\n{len(problems)} problem(s):")
        for p in problems:
            print("  -", p)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    enforce_offline()  # an entry point: offline switches before anything else runs
    sys.exit(main())
