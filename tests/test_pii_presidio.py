"""PII redaction with Presidio's analyzer (real, offline) behind `find_pii`: the identifiers
that the input guard used to keep, published PII test sentences, look-alikes, names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.guards import pii, pii_presidio

ROOT = Path(__file__).resolve().parent.parent
REDTEAM = ROOT / "evals" / "redteam"


def redact(text: str) -> str:
    return pii.apply_redactions(text, pii.find_pii(text))


def read_jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (REDTEAM / name).read_text().splitlines() if line]


# The 9 kinds of miss (ITINs, bank account and passport numbers with their context
# words, a phone number with an extension, card numbers that fail Luhn).
MISSES = [
    ("itin with word", "My ITIN is 911-70-1234, does the handbook cover taxes?", "911-70-1234",
     "[TAX_ID]"),
    ("itin alone", "Please file 911-70-1234 with the leave form.", "911-70-1234", "[TAX_ID]"),
    ("bank account", "my bank account number is 945456787654", "945456787654",
     "[BANK_ACCOUNT]"),
    ("bank account acct", "Refund to acct 4164714570235 please.", "4164714570235",
     "[BANK_ACCOUNT]"),
    ("passport digits", "my passport number is 912803456", "912803456", "[PASSPORT]"),
    ("passport letter", "My passport is A12803456, does travel count as leave?", "A12803456",
     "[PASSPORT]"),
    ("phone extension", "Call me at +1-878-448-0184x514 about the eval.", "+1-878-448-0184x514",
     "[PHONE]"),
    ("card fails luhn dashed", "My credit card number is 4567-8901-2345-6789, block it.",
     "4567-8901-2345-6789", "[CARD]"),
    ("card fails luhn grouped", "The card 4111 1111 1111 1112 was declined.",
     "4111 1111 1111 1112", "[CARD]"),
]


@pytest.mark.parametrize("name,text,value,label", MISSES, ids=[m[0] for m in MISSES])
def test_each_former_miss_is_redacted(name, text, value, label):
    out = redact(text)
    assert value not in out
    assert label in out


def test_presidio_itself_finds_the_context_only_identifiers():
    text = "my passport number is 912803456 and my bank account number is 945456787654"
    kinds = {kind for kind, _, _ in pii_presidio.findings(text)}
    assert {"passport", "bank_account"} <= kinds
    assert pii_presidio.analyzer().__class__.__name__ == "AnalyzerEngine"


def test_the_number_alone_is_not_a_passport_or_account():
    assert pii.find_pii("The run took 912803456 microseconds over 945456787654 tokens.") == []


def test_card_shaped_number_without_a_card_word_stays_when_luhn_fails():
    text = "Tracking ID 4567-8901-2345-6789 from the shipping label."
    assert pii.find_pii(text) == []


@pytest.mark.parametrize("name", ["pii_lookalikes.jsonl", "pii_lookalikes_more.jsonl"])
def test_lookalikes_are_untouched(name):
    changed = {r["id"]: redact(r["text"]) for r in read_jsonl(name) if pii.find_pii(r["text"])}
    assert changed == {}


def test_every_identifier_in_the_published_sentences_is_redacted():
    missed, total = [], 0
    for row in read_jsonl("pii_published.jsonl"):
        spans = [s for s in row.get("spans", []) if s["kind"] != "PERSON"]
        if row.get("lookalike"):
            assert pii.find_pii(row["text"]) == [], row["id"]
            continue
        out = redact(row["text"]) if spans else ""
        total += len(spans)
        missed += [(row["id"], s["value"]) for s in spans if s["value"] in out]
    assert total > 600
    assert missed == []


@pytest.mark.parametrize("text,name", [
    ("My name is Lisa Wirtz. What is LoRA?", "Lisa Wirtz"),
    ("Name: Sieda Batukayev Phone: 0496 46 46 70", "Sieda Batukayev"),
    ("Hi Freddy, I'm contacting you about the eval.", "Freddy"),
    ("Dear Ms. Okafor, when is the next workshop?", "Okafor"),
    ("I'm Priya, priya.raman@research.example.ac.uk, how does QLoRA work?", "Priya"),
    ("Our last names are Samoylova and Sturluson", "Sturluson"),
])
def test_names_after_a_cue_are_redacted(text, name):
    out = redact(text)
    assert name not in out and "[NAME]" in out


@pytest.mark.parametrize("text", [
    "What did Hu et al. propose in the LoRA paper, and how does Vaswani's attention work?",
    "Is RAG with BERT better than GPT on ROUGE-2?",
    "I'm using LoRA with Adam, is that fine?",
    "Hi team, Hello World, contact Support.",
    "Please contact HR about leave; the client Chroma uses is slow.",
    "Hi Llama fans: is Qwen better than SmolLM2?",
])
def test_names_without_a_cue_and_topics_stay(text):
    assert pii.find_pii(text) == []


def test_every_kind_has_a_placeholder_and_a_plain_name():
    kinds = set(pii_presidio.KINDS.values()) | {"person", "email"}
    assert kinds <= set(pii.LABELS) and kinds <= set(pii.NAMES)


OFFLINE_BUILD = """
import socket, sys
attempts = []
def refuse(*args, **kwargs):
    attempts.append(args[1:] or args)
    raise OSError("network blocked")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.getaddrinfo = refuse
socket.create_connection = refuse
from assistant.guards import pii, pii_presidio
pii_presidio.warm_up()
found = [f.kind for f in pii.find_pii(
    "Mail a.b@example.com, passport 912803456, host 41.173.96.26, card 4111111111111111")]
print(found)
assert attempts == [], attempts
assert "torch" not in sys.modules and "transformers" not in sys.modules
assert None not in sys.modules.values()
"""


def test_analyzer_builds_and_runs_with_sockets_blocked():
    done = subprocess.run([sys.executable, "-c", OFFLINE_BUILD], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "'passport'" in done.stdout and "'email'" in done.stdout


@pytest.mark.parametrize("text", ["", "  lead", "a  b\tc\n\nd ", "(((( 911-70-1234 ))))",
                                  "driver's licence: F162823540116.", "x" * 5 + " " * 3])
def test_the_engine_tokens_give_the_text_back(text):
    doc = pii_presidio.analyzer().nlp_engine.tokenize(text)
    assert doc.text == text
    assert all(text[t.idx:t.idx + len(t)] == t.text for t in doc)
