"""What the guards return: one Decision per validator, and a verdict per input or output.
The reason codes of the verdicts, and their wording, are in assistant/records.py."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from assistant.guards import messages
from assistant.records import REFUSALS

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


class Review:
    """What the checks of one text have found so far: the text as repaired, the decisions, the
    notes for the user, and the reason codes that call for a refusal or a second attempt."""

    def __init__(self, text: str, metadata: dict, attempt: int = 1):
        self.text = text
        self.metadata = metadata  # handed to every validator (guardrails passes it by reference)
        self.attempt = attempt  # 1 for a first draft, 2 after a reask
        self.decisions: list[Decision] = []
        self.notes: list[str] = []  # for the user, shown with the answer
        self.refusals: list[str] = []  # reason codes that withhold the text
        self.reasks: list[str] = []  # reason codes that ask the model once more
        self.dropped: list[str] = []  # sentences removed as unsupported
        self.low_confidence = False

    def passed(self, validator: str, detail: str) -> None:
        self.decisions.append(Decision(validator, PASS, NONE, detail))

    def failed(self, validator: str, action: str, detail: str) -> None:
        self.decisions.append(Decision(validator, FAIL, action, detail))

    def decide(self, reason: str, action: str) -> None:
        """Note what the action means for the whole text: a refusal, or a second attempt."""
        if action == REFUSE:
            self.refusals.append(reason)
        elif action == REASK:
            self.reasks.append(reason)

    def output_verdict(self) -> OutputVerdict:
        refused = bool(self.refusals)
        needs_reask = not refused and bool(self.reasks)
        reason = self.refusals[0] if refused else self.reasks[0] if needs_reask else None
        if refused:
            message = REFUSALS[reason].sentence
        elif needs_reask:
            message = messages.REASK_MESSAGE
        else:
            if self.low_confidence:
                self.notes.append(messages.LOW_CONFIDENCE_MESSAGE)
            message = " ".join(self.notes)
        return OutputVerdict(self.text.strip(), needs_reask, refused, reason,
                             self.low_confidence and not refused, message, self.decisions,
                             self.dropped)
