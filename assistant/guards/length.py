"""Length bounds of an answer: at least `min_chars`, at most `max_chars` (cut at the last
sentence end that fits)."""

from __future__ import annotations

from assistant.text import split_sentences


def out_of_bounds(answer: str, min_chars: int, max_chars: int) -> tuple[str, str] | None:
    """None when the answer's length is within bounds; else (what went wrong, the repaired
    answer: "" when too short, shortened when too long)."""
    n = len(answer.strip())
    if n < min_chars:
        return f"answer too short ({n} characters)", ""
    if n <= max_chars:
        return None
    cut = answer[:max_chars]
    ends = [s.end for s in split_sentences(cut) if s.end < len(cut) - 1]
    fixed = cut[: ends[-1]] if ends else cut.rsplit(" ", 1)[0] + " …"
    return f"answer too long ({n} > {max_chars} characters); shortened", fixed.strip()
