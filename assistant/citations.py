"""Citation markers: find [n] in an answer, keep those that point at a passage, drop the rest."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.records import Citation, Passage
from assistant.text import MARKER, SPACE_BEFORE_PUNCTUATION


@dataclass(frozen=True)
class CitedAnswer:
    text: str
    citations: list[Citation]
    invalid_count: int


def resolve_citations(answer: str, passages: list[Passage]) -> CitedAnswer:
    """Rewrite markers to valid ones only and return the cited passages in order of first use."""
    by_number = {p.n: p for p in passages}
    cited: dict[int, Citation] = {}
    invalid = 0

    def rewrite(match: re.Match) -> str:
        nonlocal invalid
        kept = []
        for raw in match.group(1).split(","):
            n = int(raw)
            if n in by_number:
                kept.append(n)
                cited.setdefault(n, Citation.of(by_number[n]))
            else:
                invalid += 1
        return "".join(f"[{n}]" for n in dict.fromkeys(kept))

    # "[1]", "[2, 3]" and "[1][2]" all occur in small-model output.
    text = MARKER.sub(rewrite, answer)
    text = SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    return CitedAnswer(text, list(cited.values()), invalid)
