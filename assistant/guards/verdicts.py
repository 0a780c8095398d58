"""What the guards return: one Decision per validator, and a verdict per input or output."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# Reason codes, logged in the turn's `reason` column; their wording is in records.REFUSALS.
from assistant.records import (  # noqa: F401  (re-exported for the guards)
    ANSWER_TOO_LONG,
    EMPTY_ANSWER,
    INVALID_CITATIONS,
    PII_IN_OUTPUT,
    PROMPT_INJECTION,
    SYSTEM_PROMPT_LEAK,
    UNGROUNDED,
    UNSAFE_INPUT,
    UNSAFE_OUTPUT,
)

# Actions a Decision can carry.
NONE = "none"
REDACT = "redact"
REASK = "reask"
DROP_SENTENCES = "drop_sentences"
REFUSE = "refuse"
ESCAPE = "escape"
FIX = "fix"  # a mechanical repair other than redaction: invalid [n] removed, text truncated

PASS = "pass"
FAIL = "fail"


@dataclass
class Decision:
    """One validator's outcome, logged in its own table."""

    validator: str
    outcome: str  # "pass" | "fail"
    action: str  # see the action names above
    detail: str  # short, human-readable, never containing the PII/secret itself

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class InputVerdict:
    text: str  # what to use downstream (PII and secrets redacted)
    blocked: bool
    reason: str | None  # PROMPT_INJECTION | UNSAFE_INPUT when blocked
    message: str  # one plain-English sentence for the user ("" when nothing happened)
    decisions: list[Decision] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class OutputVerdict:
    text: str  # the answer after fixes
    needs_reask: bool  # ask the model once more, with the stricter prompt
    refused: bool
    reason: str | None
    low_confidence: bool  # allowed, with a warning (weakly grounded)
    message: str
    decisions: list[Decision] = field(default_factory=list)
    dropped_sentences: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)
