"""Citation markers of an answer: drop the ones that name no passage, re-point the ones that
name a passage which does not support their sentence."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from assistant.guards.grounding import GradedSentence
from assistant.text import MARKER


def drop_invalid(answer: str, numbers: Collection[int]) -> tuple[str, list[int]]:
    """(the answer with only markers to passages in `numbers`, the numbers it dropped)."""
    invalid: list[int] = []

    def keep_valid(match: re.Match) -> str:
        kept = []
        for raw in match.group(1).split(","):
            n = int(raw)
            (kept if n in numbers else invalid).append(n)
        return "".join(f"[{n}]" for n in dict.fromkeys(kept))

    return MARKER.sub(keep_valid, answer), invalid


def repoint(answer: str, miscited: Sequence[GradedSentence]) -> str:
    """Replace the markers of each mis-cited sentence by one to the passage that supports it."""
    out, cursor = [], 0
    for graded in sorted(miscited, key=lambda g: g.sentence.start):
        s = graded.sentence
        fixed = MARKER.sub("", s.text).rstrip()
        fixed = re.sub(r"\s+([.!?])$", r"\1", fixed)
        marker = f"[{graded.best_n}]"
        fixed = fixed[:-1] + f" {marker}" + fixed[-1] if fixed[-1:] in ".!?" else \
            f"{fixed} {marker}"
        out.append(answer[cursor:s.start])
        out.append(fixed)
        cursor = s.end
    out.append(answer[cursor:])
    return "".join(out)
