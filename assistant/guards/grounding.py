"""Groundedness: split an answer into sentences with their [n] markers and score each sentence
against the passages (content-word overlap, plus embedding similarity when an embedder is given).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from assistant.records import Passage

EmbedFn = Callable[[list[str]], list[list[float]]]

MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_LEADING_MARKERS = re.compile(r"^\s*(?:\[\d+(?:\s*,\s*\d+)*\]\s*)+")
_ABBREVIATIONS = re.compile(r"(?i)\b(?:e\.g|i\.e|etc|vs|cf|approx|fig|no|dr|mr|mrs|ms|st)\.$")
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers him his how i if in into is it its itself just me more most my
no nor not now of off on once only or other our ours out over own same she should so some such
than that the their theirs them then there these they this those through to too under until up
very was we were what when where which while who whom why will with would you your yours
use used using may might must shall one two also often usually like well much many get gets
""".split())

# The assistant's own "not in the sources" reply and similar meta sentences are not claims.
META_SENTENCE = re.compile(
    r"(?i)\b(?:cannot|can't|could not|couldn't) find (?:this|that|it|the answer)\b|"
    r"\bnot (?:in|covered by) (?:my|the) sources\b|\bi don't know\b|\bi do not know\b"
)


@dataclass
class Sentence:
    text: str  # as written, markers included
    start: int
    end: int
    citations: list[int] = field(default_factory=list)

    @property
    def claim(self) -> str:
        return MARKER.sub("", self.text).strip()


def split_sentences(answer: str) -> list[Sentence]:
    """Sentences with their spans; markers written after the full stop stay with their sentence."""
    pieces: list[tuple[int, int]] = []
    cursor = 0
    for m in _BOUNDARY.finditer(answer):
        if _ABBREVIATIONS.search(answer[cursor:m.start()]):
            continue
        pieces.append((cursor, m.start()))
        cursor = m.end()
    pieces.append((cursor, len(answer)))

    merged: list[list[int]] = []
    for start, end in pieces:
        if not answer[start:end].strip():
            continue
        lead = _LEADING_MARKERS.match(answer, start, end)
        if lead and merged:
            merged[-1][1] = lead.end()  # "... weights. [1] Next" -> "[1]" belongs to "weights."
            start = lead.end()
            if not answer[start:end].strip():
                continue
        merged.append([start, end])

    sentences = []
    for start, end in merged:
        while start < end and answer[start].isspace():
            start += 1
        while end > start and answer[end - 1].isspace():
            end -= 1
        text = answer[start:end]
        cites = [int(n) for m in MARKER.finditer(text) for n in re.split(r"\s*,\s*", m.group(1))]
        sentences.append(Sentence(text, start, end, list(dict.fromkeys(cites))))
    return sentences


def _stem(word: str) -> str:
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + keep
    return word


def content_words(text: str) -> set[str]:
    tokens = re.findall(r"\d+(?:[.,]\d+)*(?:e-?\d+)?|[a-z][a-z0-9'+-]*", text.lower())
    out = set()
    for token in tokens:
        token = token.strip("'-")
        if not token or token in STOPWORDS:
            continue
        if token[0].isdigit():
            out.add(token)
        elif len(token) > 1:
            out.add(_stem(token))
    return out


def lexical_support(claim_words: set[str], passage_words: set[str]) -> float:
    """Share of the sentence's content words that the passage contains."""
    if not claim_words:
        return 1.0
    return len(claim_words & passage_words) / len(claim_words)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


@dataclass
class SentenceSupport:
    sentence: Sentence
    lexical: dict[int, float]  # passage number -> overlap score
    semantic: dict[int, float]  # passage number -> cosine (empty without an embedder)
    meta: bool = False  # not a claim ("I cannot find this in my sources")

    def score(self, n: int, embedding_weight: float) -> float:
        lex = self.lexical.get(n, 0.0)
        if n not in self.semantic:
            return lex
        return max(lex, (1 - embedding_weight) * lex + embedding_weight * self.semantic[n])

    def best(self, numbers: Sequence[int], embedding_weight: float) -> tuple[float, int | None]:
        best, best_n = 0.0, None
        for n in numbers:
            s = self.score(n, embedding_weight)
            if s > best:
                best, best_n = s, n
        return best, best_n


def support_table(
    sentences: Sequence[Sentence],
    passages: Sequence[Passage],
    embed_fn: EmbedFn | None = None,
) -> list[SentenceSupport]:
    passage_words = {p.n: content_words(f"{p.heading} {p.text}") for p in passages}
    table = []
    for s in sentences:
        words = content_words(s.claim)
        lexical = {n: lexical_support(words, pw) for n, pw in passage_words.items()}
        table.append(SentenceSupport(s, lexical, {}, meta=bool(META_SENTENCE.search(s.claim))))
    if embed_fn is not None and passages and sentences:
        claims = [row.sentence.claim or row.sentence.text for row in table]
        vectors = embed_fn(claims + [p.text for p in passages])
        claim_vectors, passage_vectors = vectors[: len(claims)], vectors[len(claims):]
        for row, cv in zip(table, claim_vectors, strict=True):
            row.semantic = {
                p.n: cosine(cv, pv) for p, pv in zip(passages, passage_vectors, strict=True)
            }
    return table
