"""The prompt: numbered sources followed by the question, in chat-message form."""

from __future__ import annotations

from assistant.excerpts import excerpt
from assistant.records import Passage

# Bump whenever the wording or the shown text changes: logged per turn, part of cache keys.
PROMPT_VERSION = "p2"

SYSTEM_PROMPT = (
    "You are a careful assistant that answers only from the numbered sources given to you. "
    "Answer in one to three short sentences. After each sentence, cite the source it comes "
    "from with its number in brackets, like [1]. If the sources do not contain the answer, "
    "reply exactly: I cannot find this in my sources."
)

# "Answer anyway (unverified)": the user chose an answer without reliable sources, so the model
# answers from what it knows; the answer is shown and logged as unverified.
UNVERIFIED_SYSTEM_PROMPT = (
    "You are a helpful assistant. No reliable source was found for this question and the user "
    "asked for an answer anyway. Answer from your general knowledge in one to three short "
    "sentences. Do not cite sources. If you do not know, say so."
)

# Added to the system prompt when the output guard asks the model once more.
STRICT_SUFFIX = (
    " Your previous answer was not supported by the sources. Use only facts stated in the "
    "sources, keep their wording, and end every sentence with its source number."
)

# Each source is cut to its sentences that bear on the question, within this many characters:
# the prompt's prefill dominates time to first token on a CPU (see evals/bench_prompt.py).
MAX_PASSAGE_CHARS = 600


def prompt_version(max_chars: int = MAX_PASSAGE_CHARS) -> str:
    """The version logged and used in cache keys; a non-default source budget is part of it."""
    return PROMPT_VERSION if max_chars == MAX_PASSAGE_CHARS else f"{PROMPT_VERSION}-s{max_chars}"


def format_sources(passages: list[Passage], question: str = "",
                   max_chars: int = MAX_PASSAGE_CHARS) -> str:
    blocks = []
    for p in passages:
        title = f"{p.source} > {p.heading}" if p.heading else p.source
        blocks.append(f"[{p.n}] ({title})\n{excerpt(p.text, question, max_chars)}")
    return "\n\n".join(blocks)


def build_messages(question: str, passages: list[Passage], strict: bool = False,
                   max_chars: int = MAX_PASSAGE_CHARS, unverified: bool = False) -> list[dict]:
    if unverified:
        return [{"role": "system", "content": UNVERIFIED_SYSTEM_PROMPT},
                {"role": "user", "content": question}]
    if passages:
        sources = format_sources(passages, question, max_chars)
        user = f"Sources:\n\n{sources}\n\nQuestion: {question}"
    else:
        user = f"Sources: (none)\n\nQuestion: {question}"
    return [
        {"role": "system", "content": SYSTEM_PROMPT + (STRICT_SUFFIX if strict else "")},
        {"role": "user", "content": user},
    ]
