"""The prompt: numbered sources followed by the question, in chat-message form."""

from __future__ import annotations

from assistant.excerpts import excerpt
from assistant.records import Passage

# Bump whenever the wording, the shown text or how the answer is decoded changes: logged per
# turn, part of cache keys. p4: p3's text, with the yes/no correction (assistant.yes_no).
PROMPT_VERSION = "p4"

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

# Added to the question when the output guard asks the model once more (not to the system
# prompt: that would change the fixed prefix whose KV cache every turn reuses).
STRICT_SUFFIX = (
    "\n\nYour previous answer was not supported by the sources. Use only facts stated in the "
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


# Worked examples shown before every question, on a topic far from any knowledge base: they
# teach the answer's shape (short, a [n] after each sentence, "No" when the source says no, the
# exact refusal) better than instructions alone. They are a fixed prefix, so llama.cpp reuses
# their KV cache from turn to turn and they add nothing to the time to first token.
EXAMPLE_SOURCES = (
    "[1] (gardening.md > Watering tomatoes)\n"
    "Tomato plants need about 2.5 cm of water a week. Water them at the base in the early "
    "morning, so that the leaves dry before evening and fungal disease does not spread.\n\n"
    "[2] (gardening.md > Pests)\n"
    "Aphids gather under young leaves. A strong spray of water removes most of them; "
    "ladybirds eat the rest.")
EXAMPLES = (
    ("How much water do tomato plants need?",
     "About 2.5 cm of water a week, given at the base of the plant [1]."),
    ("Should tomatoes be watered in the evening?",
     "No. Water them in the early morning, so that the leaves dry before evening and fungal "
     "disease does not spread [1]."),
    ("What gets rid of aphids?",
     "A strong spray of water removes most aphids [2], and ladybirds eat the rest [2]."),
    ("When should tomatoes be harvested?", "I cannot find this in my sources."),
)


def example_turns() -> list[dict]:
    turns = []
    for question, answer in EXAMPLES:
        turns.append({"role": "user",
                      "content": f"Sources:\n\n{EXAMPLE_SOURCES}\n\nQuestion: {question}"})
        turns.append({"role": "assistant", "content": answer})
    return turns


def build_messages(question: str, passages: list[Passage], strict: bool = False,
                   max_chars: int = MAX_PASSAGE_CHARS, unverified: bool = False) -> list[dict]:
    if unverified:
        return [{"role": "system", "content": UNVERIFIED_SYSTEM_PROMPT},
                {"role": "user", "content": question}]
    sources = format_sources(passages, question, max_chars) if passages else "(none)"
    user = f"Sources:\n\n{sources}\n\nQuestion: {question}" + (STRICT_SUFFIX if strict else "")
    return [{"role": "system", "content": SYSTEM_PROMPT}, *example_turns(),
            {"role": "user", "content": user}]
