"""Training examples in exactly the chat format the pipeline prompts the model with."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from assistant.prompt import build_messages
from assistant.records import Passage

# The sentence the system prompt asks for when the sources lack the answer.
REFUSAL_TARGET = "I cannot find this in my sources."


def normalized_question(text: str) -> str:
    """Lower-case alphanumerics only: paraphrase-insensitive enough to catch copied items."""
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(re.findall(r"\w+", text))


def question_hash(text: str) -> str:
    return hashlib.sha256(normalized_question(text).encode()).hexdigest()[:16]


def cited_target(answer: str, n: int) -> str:
    """The reference answer with its citation: one marker before the final full stop."""
    answer = re.sub(r"\s*\[\d+\]", "", answer).strip()
    body = answer[:-1] if answer.endswith(".") else answer
    return f"{body} [{n}]."


def chat_example(question: str, passages: list[Passage], target: str, origin: str) -> dict:
    messages = build_messages(question, passages)
    messages.append({"role": "assistant", "content": target})
    return {"messages": messages, "origin": origin, "question_hash": question_hash(question)}
