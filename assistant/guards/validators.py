"""guardrails-ai validators (`@register_validator`) wrapping the detectors of this package.

Each validator returns a FailResult whose error message is safe to log (kinds and counts,
never the matched value), whose fix_value is the repaired text where a repair exists, and
whose error spans carry the kind of each finding. Richer results (scores, sentence tables)
are left in the `metadata` dict passed to `Guard.validate`, which guardrails hands to the
validator by reference.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from guardrails.validator_base import (
    ErrorSpan,
    FailResult,
    PassResult,
    ValidationResult,
    Validator,
    register_validator,
)

from assistant import text
from assistant.guards import grounding, html_safety, pii, secret_keys
from assistant.guards.injection import HARMFUL_FAMILY, InjectionDetector
from assistant.guards.leakage import LeakDetector

# Injection score from other families above which a harmful request adds to it.
JAILBREAK_FRAMING = 0.3


def counts_phrase(kinds: Counter) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))


def drop_spans(text: str, spans) -> str:
    """Remove spans (sentences) and tidy the whitespace left behind."""
    out, cursor = [], 0
    for start, end in sorted(spans):
        out.append(text[cursor:start])
        cursor = max(cursor, end)
    out.append(text[cursor:])
    joined = "".join(out)
    joined = re.sub(r"[ \t]{2,}", " ", joined)
    joined = re.sub(r"[ \t]+\n", "\n", joined)
    return re.sub(r"\n{3,}", "\n\n", joined).strip()


def _spans(findings) -> list[ErrorSpan]:
    return [ErrorSpan(start=f.start, end=f.end, reason=f.kind) for f in findings]


@register_validator(name="assistant/pii", data_type="string")
class RedactPII(Validator):
    """E-mail, phone, payment card (Luhn), IBAN (mod-97), US SSN, UK NI number."""

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        findings = pii.find_pii(value)
        metadata["pii_findings"] = findings
        if not findings:
            return PassResult()
        kinds = Counter(f.kind for f in findings)
        return FailResult(
            error_message=f"personal data found: {counts_phrase(kinds)}",
            fix_value=pii.apply_redactions(value, findings),
            error_spans=_spans(findings),
        )


@register_validator(name="assistant/secrets", data_type="string")
class RedactSecrets(Validator):
    """Provider API keys and tokens, private keys, high-entropy `key = value` assignments."""

    def __init__(self, min_entropy: float = 3.0, on_fail=None, **kwargs):
        super().__init__(on_fail=on_fail, min_entropy=min_entropy, **kwargs)
        self.min_entropy = min_entropy

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        findings = secret_keys.find_secrets(value, self.min_entropy)
        metadata["secret_findings"] = findings
        if not findings:
            return PassResult()
        kinds = Counter(f.kind for f in findings)
        return FailResult(
            error_message=f"secrets found: {counts_phrase(kinds)}",
            fix_value=pii.apply_redactions(value, findings),
            error_spans=_spans(findings),
        )


def injection_assessment(detector: InjectionDetector, value: str, metadata: dict):
    """Assess once per validation; the injection and harmful-request validators share it."""
    cached = metadata.get("injection_assessment")
    if cached is None or metadata.get("injection_text") != value:
        cached = detector.assess(value)
        metadata["injection_assessment"] = cached
        metadata["injection_text"] = value
    return cached


class _DetectorValidator(Validator):
    """A validator scoring text with the shared InjectionDetector against a threshold."""

    def __init__(self, detector: InjectionDetector, threshold: float = 1.0, on_fail=None,
                 **kwargs):
        super().__init__(on_fail=on_fail, threshold=threshold, **kwargs)
        self.detector = detector
        self.threshold = threshold


@register_validator(name="assistant/prompt_injection", data_type="string")
class PromptInjection(_DetectorValidator):
    """Patterns on de-obfuscated variants plus similarity to known attacks."""

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        assessment = injection_assessment(self.detector, value, metadata)
        exclude = frozenset({HARMFUL_FAMILY})
        score = assessment.score(exclude)
        if score >= JAILBREAK_FRAMING:  # a harmful request inside a jailbreak framing
            score += assessment.family_scores().get(HARMFUL_FAMILY, 0.0)
        if score < self.threshold:
            return PassResult()
        families = ", ".join(assessment.top_families(exclude=exclude))
        methods = assessment.methods()
        how = f"; matched after undoing {', '.join(methods)}" if methods else ""
        return FailResult(error_message=f"{families} (score {score:.1f}){how}")


@register_validator(name="assistant/harmful_request", data_type="string")
class HarmfulRequest(_DetectorValidator):
    """Requests for clearly dangerous material (weapons, malware, account break-ins, ...)."""

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        assessment = injection_assessment(self.detector, value, metadata)
        score = assessment.family_scores().get(HARMFUL_FAMILY, 0.0)
        if score < self.threshold:
            return PassResult()
        return FailResult(error_message="asks for harmful instructions")


@register_validator(name="assistant/profanity", data_type="string")
class AbusiveLanguage(Validator):
    """alt-profanity-check's linear model (bundled in its wheel; no download)."""

    def __init__(self, threshold: float = 0.8, on_fail=None, **kwargs):
        super().__init__(on_fail=on_fail, threshold=threshold, **kwargs)
        self.threshold = threshold

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        from profanity_check import predict_prob

        probability = float(predict_prob([value])[0]) if value.strip() else 0.0
        metadata["profanity_probability"] = probability
        if probability < self.threshold:
            return PassResult()
        return FailResult(error_message=f"abusive language (probability {probability:.2f})")


@register_validator(name="assistant/citations", data_type="string")
class ValidCitations(Validator):
    """Every [n] must name a retrieved passage; the fix removes the ones that do not."""

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        numbers = {p.n for p in metadata.get("passages", [])}
        invalid: list[int] = []

        def keep_valid(match) -> str:
            kept = []
            for raw in match.group(1).split(","):
                n = int(raw)
                (kept if n in numbers else invalid).append(n)
            return "".join(f"[{n}]" for n in dict.fromkeys(kept))

        fixed = text.MARKER.sub(keep_valid, value)
        metadata["invalid_citations"] = invalid
        if not invalid:
            return PassResult()
        return FailResult(
            error_message=f"{len(invalid)} citation(s) to passages that do not exist",
            fix_value=fixed,
        )


def support_label(row: grounding.SentenceSupport, cited: list[int], numbers: list[int],
                  own: float, best: float, min_support: float) -> str:
    """supported / miscited (another passage supports it) / contradicted / not_addressed."""
    if own >= min_support or (not cited and best >= min_support):
        return "supported"
    if best >= min_support:
        return "miscited"
    return "contradicted" if row.contradicted_by(cited or numbers) else "not_addressed"


@register_validator(name="assistant/groundedness", data_type="string")
class Groundedness(Validator):
    """Each sentence must be supported by the passage it cites (or, uncited, by any passage).
    The fix drops unsupported sentences; `metadata["grounding"]` holds the sentence table.
    With a support checker, support is its probability and contradictions are told apart."""

    def __init__(self, embed_fn=None, min_support: float = 0.5, embedding_weight: float = 0.5,
                 checker=None, on_fail=None, **kwargs):
        super().__init__(on_fail=on_fail, min_support=min_support,
                         embedding_weight=embedding_weight, **kwargs)
        self.embed_fn = embed_fn
        self.checker = checker
        # With a checker each score is its verdict (1 supported, 0 not).
        self.min_support = 0.5 if checker is not None else min_support
        self.embedding_weight = embedding_weight

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        passages = metadata.get("passages", [])
        sentences = text.split_sentences(value)
        table = grounding.support_table(sentences, passages, self.embed_fn, self.checker)
        numbers = [p.n for p in passages]
        rows = []
        for row in table:
            cited = [n for n in row.sentence.citations if n in numbers]
            own, _ = row.best(cited, self.embedding_weight)
            best, best_n = row.best(numbers, self.embedding_weight)
            has_claim = bool(text.content_words(row.sentence.claim))
            label = ("supported" if row.meta or not has_claim else
                     support_label(row, cited, numbers, own, best, self.min_support))
            rows.append({
                "sentence": row.sentence,
                "cited": cited,
                "support": own if cited else best,
                "best": best,
                "best_n": best_n,
                "label": label,
                "supported": label == "supported",
                # cites a passage that does not support it, while another passage does
                "miscited": label == "miscited",
                "contradicted": label == "contradicted",
                "claim": has_claim and not row.meta,
            })
        metadata["grounding"] = rows
        unsupported = [r for r in rows if not r["supported"] and not r["miscited"]]
        if not unsupported:
            return PassResult()
        fixed = drop_spans(value, [(r["sentence"].start, r["sentence"].end) for r in unsupported])
        return FailResult(
            error_message=f"{len(unsupported)} of {len(rows)} sentence(s) not supported",
            fix_value=fixed,
            error_spans=[
                ErrorSpan(start=r["sentence"].start, end=r["sentence"].end, reason=r["label"])
                for r in unsupported
            ],
        )


@register_validator(name="assistant/system_prompt_leak", data_type="string")
class SystemPromptLeak(Validator):
    def __init__(self, detector: LeakDetector, on_fail=None, **kwargs):
        super().__init__(on_fail=on_fail, **kwargs)
        self.detector = detector

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        result = self.detector.check(value, metadata.get("passages", []))
        metadata["leak"] = result
        if not result.leaked:
            return PassResult()
        return FailResult(error_message=f"answer reproduces the system prompt: {result.how}")


@register_validator(name="assistant/html", data_type="string")
class InertHTML(Validator):
    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        result = html_safety.make_inert(value)
        metadata["html"] = result
        if not result.changed:
            return PassResult()
        parts = []
        if result.escaped_tags:
            parts.append(f"{result.escaped_tags} HTML tag(s) escaped")
        if result.unsafe_links:
            parts.append(f"{result.unsafe_links} unsafe link(s) removed")
        if result.images:
            parts.append(f"{result.images} image(s) removed")
        return FailResult(error_message="; ".join(parts), fix_value=result.text)


@register_validator(name="assistant/length", data_type="string")
class LengthBounds(Validator):
    """At most `max_chars` (cut at the last sentence end that fits), at least `min_chars`."""

    def __init__(self, min_chars: int = 1, max_chars: int = 2000, on_fail=None, **kwargs):
        super().__init__(on_fail=on_fail, min_chars=min_chars, max_chars=max_chars, **kwargs)
        self.min_chars = min_chars
        self.max_chars = max_chars

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        n = len(value.strip())
        if n < self.min_chars:
            return FailResult(error_message=f"answer too short ({n} characters)", fix_value="")
        if n <= self.max_chars:
            return PassResult()
        cut = value[: self.max_chars]
        ends = [s.end for s in text.split_sentences(cut) if s.end < len(cut) - 1]
        fixed = cut[: ends[-1]] if ends else cut.rsplit(" ", 1)[0] + " …"
        return FailResult(
            error_message=f"answer too long ({n} > {self.max_chars} characters); shortened",
            fix_value=fixed.strip(),
        )
