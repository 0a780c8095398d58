"""The prompt: numbered sources followed by the question, in chat-message form."""

from __future__ import annotations

from assistant.records import Passage

# Bump whenever the wording below changes: logged per turn, and part of cache keys.
PROMPT_VERSION = "p1"

SYSTEM_PROMPT = (
    "You are a careful assistant that answers only from the numbered sources given to you. "
    "Answer in one to three short sentences. After each sentence, cite the source it comes "
    "from with its number in brackets, like [1]. If the sources do not contain the answer, "
    "reply exactly: I cannot find this in my sources."
)

# Added to the system prompt when the output guard asks the model once more.
STRICT_SUFFIX = (
    " Your previous answer was not supported by the sources. Use only facts stated in the "
    "sources, keep their wording, and end every sentence with its source number."
)

# Keep each passage short enough that four of them and a long question fit the context.
MAX_PASSAGE_CHARS = 1200


def format_sources(passages: list[Passage]) -> str:
    blocks = []
    for p in passages:
        title = f"{p.source} > {p.heading}" if p.heading else p.source
        blocks.append(f"[{p.n}] ({title})\n{p.text[:MAX_PASSAGE_CHARS].strip()}")
    return "\n\n".join(blocks)


def build_messages(question: str, passages: list[Passage], strict: bool = False) -> list[dict]:
    if passages:
        user = f"Sources:\n\n{format_sources(passages)}\n\nQuestion: {question}"
    else:
        user = f"Sources: (none)\n\nQuestion: {question}"
    return [
        {"role": "system", "content": SYSTEM_PROMPT + (STRICT_SUFFIX if strict else "")},
        {"role": "user", "content": user},
    ]
