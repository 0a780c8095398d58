"""Plain-English notes shown to the user with a checked answer or message."""

from __future__ import annotations

from collections import Counter

from assistant.guards import pii, secret_keys

# What a refused turn says is in records.REFUSALS (one table for the pipeline, the guards and
# the UI); these are the notes that go with an answer that is shown.
LOW_CONFIDENCE_MESSAGE = (
    "This answer is only weakly supported by the sources; check it against the passages shown."
)
REASK_MESSAGE = "The first draft did not pass my checks, so I asked the model again more strictly."
CITATIONS_FIXED = "I corrected citation markers that pointed to the wrong source or to no source."
SHORTENED = "I shortened the answer to the allowed length."
HTML_MADE_INERT = "I turned HTML, scripts and unsafe links in the answer into plain text."


def _names(kind: str) -> tuple[str, str]:
    if kind in pii.NAMES:
        return pii.NAMES[kind]
    return secret_keys.name_of(kind)


def _count_phrase(kind: str, n: int) -> str:
    one, many = _names(kind)
    return one if n == 1 else f"{n} {many}"


def join_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def describe_kinds(kinds: Counter) -> str:
    """Counter({"email": 1, "card": 2}) -> "an email address and 2 card numbers"."""
    phrases, seen = [], set()
    for kind in kinds:
        name = _names(kind)[0]
        if name in seen:  # several secret kinds share a wording
            continue
        seen.add(name)
        total = sum(m for k, m in kinds.items() if _names(k)[0] == name)
        phrases.append(_count_phrase(kind, total))
    return join_list(phrases)


def removed_from_message(kinds: Counter) -> str:
    return f"I removed {describe_kinds(kinds)} from your message before processing it."


def removed_from_answer(kinds: Counter) -> str:
    return f"I removed {describe_kinds(kinds)} from the answer."


def sentences_dropped(unsupported: int, contradicted: int = 0, quoted: bool = False) -> str:
    """The note for sentences removed from an answer; contradictions are named as such, and
    `quoted` says that what their sources say is quoted at the end."""
    parts = []
    if unsupported:
        parts.append("1 sentence that my sources do not support" if unsupported == 1
                     else f"{unsupported} sentences that my sources do not support")
    if contradicted:
        parts.append("1 sentence that contradicts its source" if contradicted == 1
                     else f"{contradicted} sentences that contradict their sources")
    note = f"I removed {join_list(parts)}"
    return note + ("; the sources' own words are quoted at the end." if quoted else ".")
