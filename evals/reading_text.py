"""Text helpers of the reading set, used both to build it and to score answers: answer tokens
(SQuAD-normalised, numbers as digits, Porter stems), content words, passage clean-up, and
windows of whole sentences around an answer.

Markers and stopwords are ``assistant.text``'s (the stoplist keeps negations and drops titles).
The sentence splitter is the reading set's own: it does not break after an initial ("Vincent J.
McMahon"), and the frozen set's passage windows were cut with it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from assistant.text import MARKER, STOPWORDS
from evals.reference_metrics import normalize_answer

# assistant.prompt.MAX_PASSAGE_CHARS when v1 was frozen. A longer passage would be cut down by
# the prompt's excerpting (which may drop the answer); the tests check the two still agree.
WINDOW_CHARS = 600

_WIKI_FOOTNOTE = re.compile(r"\[\d+\]")
# assistant.text's stoplist, but negations stay ("not" changes what an answer says) and titles
# go ("Hannibal Lecktor" is the whole answer whether or not "Dr." comes with it).
_STOPWORDS = (STOPWORDS - {"no", "not", "nor"}) | {"mr", "mrs", "ms", "miss", "dr", "sir"}
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60",
                      "seventy": "70", "eighty": "80", "ninety": "90", "hundred": "100"})
MAGNITUDES = frozenset(("thousand", "million", "billion", "trillion"))  # count as numbers


def strip_markers(text: str) -> str:
    return " ".join(MARKER.sub(" ", text).split())


def cited_numbers(text: str) -> set[int]:
    return {int(n) for m in MARKER.finditer(text) for n in m.group(1).split(",")}


@functools.cache
def _porter():
    from nltk.stem.porter import PorterStemmer  # nltk takes ~1 s to import: only when scoring

    return PorterStemmer()


@functools.cache
def _stem(token: str) -> str:
    """Porter stem, so "vampire"/"vampires" and "move"/"moving" match (no data files needed)."""
    return _porter().stem(token)


@functools.cache
def stop_stems() -> frozenset[str]:
    return frozenset(_stem(w) for w in _STOPWORDS)


def answer_tokens(text: str) -> list[str]:
    """SQuAD-normalised tokens (lowercase, no punctuation or articles), numbers as digits,
    stemmed."""
    text = strip_markers(text.replace("\u2019", "'"))
    return [_stem(_NUMBER_WORDS.get(t, t)) for t in normalize_answer(text).split()]


def content_words(tokens: Iterable[str]) -> set[str]:
    """The stemmed tokens that are not stopwords."""
    return {t for t in tokens if t not in stop_stems()}


def clean_passage(text: str) -> str:
    """Wikipedia footnotes like "[1]" out: they would look like our citation markers."""
    return re.sub(r"[ \t]{2,}", " ", _WIKI_FOOTNOTE.sub("", text)).strip()


def as_question(text: str) -> str:
    """Datasets ask in lower case, some without "?"; ask as a user would."""
    text = " ".join(text.split()).rstrip(" ?")
    return text[:1].upper() + text[1:] + "?"


def support(passage: str, reference: str) -> float:
    """Share of the reference's content words found in the passage (0 when it has none)."""
    wanted = content_words(answer_tokens(reference))
    if not wanted:
        return 0.0
    return len(wanted & content_words(answer_tokens(passage))) / len(wanted)



# ---------------------------------------------------------------------------------------------
# Passage windows: the prompt shows at most WINDOW_CHARS, so keep the part with the answer


# After . ! or ? and a space, but not after an initial ("Vincent J. McMahon"), or at a newline.
_SENTENCE_BREAK = re.compile(r"(?<![\s(][A-Z]\.)(?<=[.!?])\s+|\n+")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for sep in _SENTENCE_BREAK.finditer(text):
        if sep.start() > start:
            spans.append((start, sep.start()))
        start = sep.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def window_around(text: str, anchor_start: int, anchor_end: int,
                  limit: int = WINDOW_CHARS) -> str:
    """Whole sentences around [anchor_start, anchor_end), grown one sentence at a time (before,
    then after, alternately) while the window stays within ``limit`` characters."""
    if len(text) <= limit:
        return text
    spans = sentence_spans(text)
    first = next(i for i, (_, end) in enumerate(spans) if end > anchor_start)
    last = next(i for i, (_, end) in enumerate(spans) if end >= anchor_end)
    if spans[last][1] - spans[first][0] > limit:  # one huge sentence: cut characters instead
        start = max(0, min(anchor_start, anchor_end - limit))
        return text[start:start + limit]
    grown = True
    while grown:
        grown = False
        if first > 0 and spans[last][1] - spans[first - 1][0] <= limit:
            first, grown = first - 1, True
        if last + 1 < len(spans) and spans[last + 1][1] - spans[first][0] <= limit:
            last, grown = last + 1, True
    return text[spans[first][0]:spans[last][1]]

