"""Trim a retrieved passage to the sentences that bear on the question.

Time to first token is bound by the prompt's prefill on a CPU, so every source sentence that
does not help answer costs time. The sentences sharing the most content words with the
question are kept, in their original order, up to a character budget; a gap is shown as
"…" so the model does not read two distant sentences as one thought.
"""

from __future__ import annotations

from assistant.text import content_words, split_sentences

GAP = " … "


def _overlap(sentence: str, question_words: set[str]) -> int:
    return len(content_words(sentence) & question_words)


def excerpt(text: str, question: str, max_chars: int) -> str:
    """The passage itself when it fits, else its best sentences within max_chars."""
    text = text.strip()
    if len(text) <= max_chars:
        return text
    sentences = [s.text for s in split_sentences(text)]
    question_words = content_words(question)
    # Best first; among equals the earlier sentence, which usually defines the topic.
    ranked = sorted(range(len(sentences)),
                    key=lambda i: (-_overlap(sentences[i], question_words), i))
    kept: list[int] = []
    used = 0
    for i in ranked:
        cost = len(sentences[i]) + len(GAP)
        if kept and used + cost > max_chars:
            continue
        kept.append(i)
        used += cost
    kept.sort()
    if len(kept) == 1 and len(sentences[kept[0]]) > max_chars:
        return sentences[kept[0]][:max_chars].rstrip() + "…"
    pieces = []
    for position, i in enumerate(kept):
        if position and i != kept[position - 1] + 1:
            pieces.append(GAP.strip())
        pieces.append(sentences[i])
    return " ".join(pieces)
