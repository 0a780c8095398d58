"""guardrails-ai validators (`@register_validator`): thin wrappers around the plain checks of
this package (pii.py, secret_keys.py, injection.py, abuse.py, citations.py, grounding.py,
leakage.py, links.py, html_safety.py, length.py).

Each validator returns a FailResult whose error message is safe to log (kinds and counts,
never the matched value), whose fix_value is the repaired text where a repair exists, and
whose error spans carry the kind of each finding. Richer results (findings, scores, the graded
sentences) are left in the `metadata` dict passed to `Guard.validate`, which guardrails hands
to the validator by reference.

guardrails is imported here, first in this package, with NLTK's downloader refused and the
environment restored (offline.isolated_import); guards.py takes `Guard` and `OnFailAction`
from here.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from assistant.guards import (
    abuse,
    citations,
    grounding,
    html_safety,
    length,
    links,
    pii,
    secret_keys,
)
from assistant.guards.injection import (
    InjectionDetector,
    describe_injection,
    harmful_score,
    injection_score,
)
from assistant.guards.offline import isolated_import
from assistant.guards.self_harm import mentions_self_harm

with isolated_import():
    from guardrails import Guard, OnFailAction  # noqa: F401  (re-exported)
    from guardrails.validator_base import (
        ErrorSpan,
        FailResult,
        PassResult,
        ValidationResult,
        Validator,
        register_validator,
    )


def counts_phrase(kinds: Counter) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))


class _Check(Validator):
    """A validator with settings: each keyword setting is handed to guardrails (which records
    it) and kept as an attribute; `uses` holds the objects the check calls (not recorded)."""

    def __init__(self, on_fail=None, uses: dict | None = None, **settings):
        super().__init__(on_fail=on_fail, **settings)
        vars(self).update(settings)
        vars(self).update(uses or {})


def _redaction(value: str, findings: list[pii.Finding], what: str) -> ValidationResult:
    if not findings:
        return PassResult()
    kinds = Counter(f.kind for f in findings)
    return FailResult(
        error_message=f"{what} found: {counts_phrase(kinds)}",
        fix_value=pii.apply_redactions(value, findings),
        error_spans=[ErrorSpan(start=f.start, end=f.end, reason=f.kind) for f in findings],
    )


@register_validator(name="assistant/pii", data_type="string")
class RedactPII(Validator):
    """E-mail, phone, payment card (Luhn), IBAN (mod-97), US SSN, UK NI number."""

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        metadata["pii_findings"] = findings = pii.find_pii(value)
        return _redaction(value, findings, "personal data")


@register_validator(name="assistant/secrets", data_type="string")
class RedactSecrets(_Check):
    """Provider API keys and tokens, private keys, high-entropy `key = value` assignments."""

    def __init__(self, min_entropy: float = 3.0, on_fail=None):
        super().__init__(on_fail, min_entropy=min_entropy)

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        metadata["secret_findings"] = findings = secret_keys.find_secrets(value, self.min_entropy)
        return _redaction(value, findings, "secrets")


def injection_assessment(detector: InjectionDetector, value: str, metadata: dict):
    """Assess once per validation; the injection and harmful-request validators share it."""
    cached = metadata.get("injection_assessment")
    if cached is None or metadata.get("injection_text") != value:
        cached = detector.assess(value)
        metadata["injection_assessment"] = cached
        metadata["injection_text"] = value
    return cached


@register_validator(name="assistant/prompt_injection", data_type="string")
class PromptInjection(_Check):
    """Patterns on de-obfuscated variants plus similarity to known attacks."""

    def __init__(self, detector: InjectionDetector, threshold: float = 1.0, on_fail=None):
        super().__init__(on_fail, {"detector": detector}, threshold=threshold)

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        assessment = injection_assessment(self.detector, value, metadata)
        score = injection_score(assessment)
        if score < self.threshold:
            return PassResult()
        return FailResult(error_message=describe_injection(assessment, score))


@register_validator(name="assistant/harmful_request", data_type="string")
class HarmfulRequest(_Check):
    """Requests for clearly dangerous material (weapons, malware, account break-ins, ...)."""

    def __init__(self, detector: InjectionDetector, threshold: float = 1.0, on_fail=None):
        super().__init__(on_fail, {"detector": detector}, threshold=threshold)

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        if harmful_score(injection_assessment(self.detector, value, metadata)) < self.threshold:
            return PassResult()
        return FailResult(error_message="asks for harmful instructions")


@register_validator(name="assistant/self_harm", data_type="string")
class SelfHarm(Validator):
    """A message whose writer may harm themselves: answered with care, never by the model."""

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        if not mentions_self_harm(value):
            return PassResult()
        return FailResult(error_message="the writer may be thinking of harming themselves")


@register_validator(name="assistant/profanity", data_type="string")
class AbusiveLanguage(_Check):
    def __init__(self, threshold: float = 0.8, on_fail=None):
        super().__init__(on_fail, threshold=threshold)

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        metadata["profanity_probability"] = probability = abuse.abuse_probability(value)
        if probability < self.threshold:
            return PassResult()
        return FailResult(error_message=f"abusive language (probability {probability:.2f})")


@register_validator(name="assistant/citations", data_type="string")
class ValidCitations(Validator):
    """Every [n] must name a retrieved passage; the fix removes the ones that do not."""

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        numbers = {p.n for p in metadata.get("passages", [])}
        fixed, invalid = citations.drop_invalid(value, numbers)
        metadata["invalid_citations"] = invalid
        if not invalid:
            return PassResult()
        return FailResult(error_message=f"{len(invalid)} citation(s) to passages that do not "
                                        "exist", fix_value=fixed)


@register_validator(name="assistant/groundedness", data_type="string")
class Groundedness(_Check):
    """Each sentence must be supported by the passage it cites (or, uncited, by any passage).
    The fix drops unsupported sentences; `metadata["grounding"]` holds the graded sentences.
    With a support checker, support is its verdict and contradictions are told apart."""

    def __init__(self, embed_fn=None, min_support: float = 0.5, embedding_weight: float = 0.5,
                 checker=None, on_fail=None):
        super().__init__(on_fail, {"embed_fn": embed_fn, "checker": checker},
                         min_support=min_support, embedding_weight=embedding_weight)
        # With a checker each score is its verdict (1 supported, 0 not).
        self.min_support = 0.5 if checker is not None else min_support

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        graded = grounding.grade_answer(value, metadata.get("passages", []), self.embed_fn,
                                        self.checker, self.min_support, self.embedding_weight)
        metadata["grounding"] = graded
        unsupported = [g for g in graded if g.unsupported]
        if not unsupported:
            return PassResult()
        return FailResult(
            error_message=f"{len(unsupported)} of {len(graded)} sentence(s) not supported",
            fix_value=grounding.drop_sentences(value, unsupported),
            error_spans=[ErrorSpan(start=g.sentence.start, end=g.sentence.end, reason=g.label)
                         for g in unsupported],
        )


@register_validator(name="assistant/system_prompt_leak", data_type="string")
class SystemPromptLeak(_Check):
    def __init__(self, detector, on_fail=None):
        super().__init__(on_fail, {"detector": detector})

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        metadata["leak"] = result = self.detector.check(value, metadata.get("passages", []))
        if not result.leaked:
            return PassResult()
        return FailResult(error_message=f"answer reproduces the system prompt: {result.how}")


@register_validator(name="assistant/source_links", data_type="string")
class SourceLinks(Validator):
    """Links and images only to URLs that appear in the passages the text cites (metadata
    "passages"); the fix keeps each other link's text and drops its URL."""

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        sources = links.cited_sources(value, metadata.get("passages", []))
        metadata["links"] = result = links.remove_outside_links(value, sources)
        if not result.changed:
            return PassResult()
        return FailResult(error_message=result.summary(), fix_value=result.text)


@register_validator(name="assistant/html", data_type="string")
class InertHTML(Validator):
    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        metadata["html"] = result = html_safety.make_inert(value)
        if not result.changed:
            return PassResult()
        return FailResult(error_message=result.summary(), fix_value=result.text)


@register_validator(name="assistant/length", data_type="string")
class LengthBounds(_Check):
    """At most `max_chars` (cut at the last sentence end that fits), at least `min_chars`."""

    def __init__(self, min_chars: int = 1, max_chars: int = 2000, on_fail=None):
        super().__init__(on_fail, min_chars=min_chars, max_chars=max_chars)

    def validate(self, value: Any, metadata: dict) -> ValidationResult:
        problem = length.out_of_bounds(value, self.min_chars, self.max_chars)
        if problem is None:
            return PassResult()
        return FailResult(error_message=problem[0], fix_value=problem[1])
