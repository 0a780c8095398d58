"""Cleaning a user's question before anything else sees it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# C0/C1 control characters except tab and newline; they break terminals, logs and prompts.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")


class EmptyQuestion(ValueError):
    """The question had no visible text."""


@dataclass(frozen=True)
class CleanQuestion:
    text: str
    original_chars: int
    truncated: bool
    removed_characters: int

    @property
    def notices(self) -> list[str]:
        notes = []
        if self.truncated:
            notes.append(
                f"Your question was {self.original_chars:,} characters long; only the first "
                f"{len(self.text):,} were used."
            )
        if self.removed_characters:
            notes.append(
                f"{self.removed_characters} control or invalid character(s) were removed."
            )
        return notes


def clean_question(raw: str | bytes | None, max_chars: int) -> CleanQuestion:
    """Normalise, strip control/invalid characters and truncate; raise EmptyQuestion if blank."""
    if raw is None:
        raise EmptyQuestion("Please type a question.")
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    original_chars = len(raw)
    text = _SURROGATES.sub("", raw)  # lone surrogates cannot be encoded to UTF-8 for SQLite
    text = _CONTROL.sub("", text).replace("\ufffd", "")
    removed = original_chars - len(text)
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        raise EmptyQuestion("Please type a question: the message was empty.")
    truncated = len(text) > max_chars
    if truncated:
        text = text[:max_chars].rstrip()
    return CleanQuestion(text, original_chars, truncated, removed)


# What redaction (assistant/guards/pii.py, secret_keys.py) leaves behind: [EMAIL], [CARD], ...
PLACEHOLDER = re.compile(r"\[[A-Z][A-Z_]*\]")
_CLAUSE_BREAK = re.compile(r"(?<=[.!?;,])\s+|\s+[-\u2013\u2014]\s+")


def search_text(question: str) -> str:
    """The question for searching and cache keys, without what redaction left in it: the
    clauses around "[CARD]" or "[EMAIL]" ("my card is [CARD]") say nothing about the topic
    and pull retrieval towards other passages, so they are left out when a clause without
    placeholders remains; otherwise only the placeholders are."""
    if not PLACEHOLDER.search(question):
        return question
    clauses = [c for c in _CLAUSE_BREAK.split(question) if c.strip()]
    clean = [c for c in clauses if not PLACEHOLDER.search(c)]
    text = " ".join(clean) if clean else PLACEHOLDER.sub(" ", question)
    return re.sub(r"\s+([,.;:?!])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()
