"""Text helpers shared by the prompt, the cache, the guards and the evals: citation markers,
sentence splitting, content words and vector cosine (one definition of each, so that they all
agree on what a sentence, a content word and a similarity are)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
# No "^": it is matched from a position inside the answer (match(answer, start)), where "^"
# would never match.
_LEADING_MARKERS = re.compile(r"\s*(?:\[\d+(?:\s*,\s*\d+)*\]\s*)+")
_ABBREVIATIONS = re.compile(r"(?i)\b(?:e\.g|i\.e|etc|vs|cf|approx|fig|no|dr|mr|mrs|ms|st)\.$")
SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.!?,;:])")
# After . ! ? (and the CJK full stops, which need no space after them) or at a line break.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+|(?<=[\u3002\uff01\uff1f])\s*|\n+")

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers him his how i if in into is it its itself just me more most my
no nor not now of off on once only or other our ours out over own same she should so some such
than that the their theirs them then there these they this those through to too under until up
very was we were what when where which while who whom why will with would you your yours
use used using may might must shall one two also often usually like well much many get gets
""".split())

@dataclass
class Sentence:
    text: str  # as written, markers included
    start: int
    end: int
    citations: list[int] = field(default_factory=list)

    @property
    def claim(self) -> str:
        """The sentence without its markers ("metric [2]." -> "metric.")."""
        return SPACE_BEFORE_PUNCTUATION.sub(r"\1", MARKER.sub("", self.text)).strip()


# Opposites that flip a statement while barely moving its embedding or its content words (many
# are stopwords): the cache's veto and the support check's "one word replaced" cue use them.
OPPOSITE_PAIRS = (
    ("up", "down"), ("benefit", "risk"), ("benefits", "risks"), ("advantage", "disadvantage"),
    ("advantages", "disadvantages"), ("pros", "cons"), ("before", "after"),
    ("increase", "decrease"), ("increases", "decreases"), ("minimum", "maximum"),
    ("min", "max"), ("best", "worst"), ("input", "output"), ("inputs", "outputs"),
    ("precision", "recall"), ("positive", "negative"), ("first", "last"), ("more", "less"),
    ("higher", "lower"), ("larger", "smaller"), ("explicit", "implicit"), ("online", "offline"),
    ("same", "different"), ("few", "many"), ("fewer", "more"), ("most", "least"),
    ("small", "large"), ("high", "low"), ("early", "late"), ("earlier", "later"),
    ("always", "never"), ("often", "rarely"), ("faster", "slower"), ("fast", "slow"),
    ("cheaper", "costlier"), ("easier", "harder"), ("longer", "shorter"), ("long", "short"),
    # terms of the field that name opposite kinds: swapping them reverses a definition
    ("context-free", "context-dependent"), ("dense", "sparse"), ("extractive", "abstractive"),
    ("supervised", "unsupervised"), ("encoder", "decoder"), ("encoder-only", "decoder-only"),
)
_OPPOSITE = {frozenset(pair) for pair in OPPOSITE_PAIRS}


def are_opposites(a: str, b: str) -> bool:
    return frozenset((a, b)) in _OPPOSITE


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
    # Letters of any script ("Büros", "東京"), not only a-z.
    tokens = re.findall(r"\d+(?:[.,]\d+)*(?:e-?\d+)?|[^\W\d_][\w'+-]*", text.lower())
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


def unit(vector: Sequence[float] | np.ndarray) -> np.ndarray:
    """The vector scaled to length 1 (float32); an all-zero vector stays zero."""
    array = np.asarray(vector, dtype=np.float32).ravel()
    norm = float(np.linalg.norm(array))
    return array / norm if norm else array


def cosine(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Cosine similarity of two vectors (lists or numpy arrays); 0.0 if either is all zeros."""
    va = np.asarray(a, dtype=float).ravel()
    vb = np.asarray(b, dtype=float).ravel()
    if va.shape != vb.shape:
        raise ValueError(f"vectors differ in length: {va.size} vs {vb.size}")
    norm = float(np.linalg.norm(va) * np.linalg.norm(vb))
    return float(np.dot(va, vb) / norm) if norm else 0.0
