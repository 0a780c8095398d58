"""Reference metrics: an answer against its reference answer(s). SQuAD exact match and token
F1, BLEU and chrF through sacrebleu, ROUGE-L with a Unicode-aware tokenizer.

Conventions as in :mod:`evals.metrics` (whose ``METRIC_VERSIONS`` versions these functions):
``references`` is one string or a non-empty list of them, and per-item scores take the maximum
over references; BLEU and chrF are on sacrebleu's 0-100 scale.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sacrebleu.metrics import BLEU, CHRF

if TYPE_CHECKING:
    from rouge_score.rouge_scorer import RougeScorer


def _as_references(references: str | Sequence[str]) -> list[str]:
    """A single reference string or a non-empty sequence of them, as a list."""
    refs = [references] if isinstance(references, str) else list(references)
    if not refs:
        raise ValueError("at least one reference is required")
    return refs


# ---------------------------------------------------------------------------------------
# Answer normalisation, exact match, token F1 (SQuAD style)

_ARTICLES = re.compile(r"\b(a|an|the)\b")


def _is_punctuation(ch: str) -> bool:
    # Unicode punctuation (P*) plus ASCII symbols SQuAD also strips ($, +, <, =, >, ^, `, |, ~).
    return ch in string.punctuation or unicodedata.category(ch).startswith("P")


def normalize_answer(text: str) -> str:
    """SQuAD-style normalisation, made Unicode-aware.

    Lowercase, delete punctuation (any Unicode ``P*`` character plus ASCII
    ``string.punctuation``, so ``«»``, ``¿`` and ``、`` go as well as ``.,!``), remove the
    English articles *a*, *an*, *the* as whole words, and collapse whitespace.  As in SQuAD,
    punctuation is deleted, not replaced by a space: ``"don't"`` becomes ``"dont"``.
    """
    text = text.lower()
    text = "".join(ch for ch in text if not _is_punctuation(ch))
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, references: str | Sequence[str]) -> float:
    """1.0 if the normalised prediction equals any normalised reference, else 0.0."""
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(ref) for ref in _as_references(references)))


def _f1_tokens(pred_tokens: list[str], ref_tokens: list[str]) -> float:
    if not pred_tokens or not ref_tokens:
        return float(pred_tokens == ref_tokens)  # both empty -> 1.0, one empty -> 0.0
    common = sum((Counter(pred_tokens) & Counter(ref_tokens)).values())
    if common == 0:
        return 0.0
    precision = common / len(pred_tokens)
    recall = common / len(ref_tokens)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, references: str | Sequence[str]) -> float:
    """SQuAD bag-of-tokens F1 on normalised whitespace tokens, max over references.

    Token overlap counts multiplicity (a token present twice in both counts twice).
    If both sides normalise to nothing the score is 1.0; if only one does it is 0.0.
    """
    pred = normalize_answer(prediction).split()
    return max(_f1_tokens(pred, normalize_answer(r).split()) for r in _as_references(references))


# ---------------------------------------------------------------------------------------
# BLEU / chrF through sacrebleu


@dataclass(frozen=True)
class CorpusScore:
    """A corpus-level sacrebleu score.

    ``score`` is on sacrebleu's 0-100 scale; ``signature`` is sacrebleu's reproducibility
    signature (e.g. ``nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0``) and
    ``text`` sacrebleu's one-line rendering with the sub-scores.
    """

    metric: str
    score: float
    signature: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _reference_streams(
    predictions: Sequence[str], references_list: Sequence[str | Sequence[str]]
) -> list[list[str | None]]:
    """Turn per-item references into sacrebleu's reference streams (its transpose).

    Items with fewer references are padded with ``None``, which sacrebleu treats as
    "no reference here" (variable number of references per segment).
    """
    if len(predictions) != len(references_list):
        raise ValueError(
            f"{len(predictions)} predictions but {len(references_list)} reference lists"
        )
    if not predictions:
        raise ValueError("at least one prediction is required")
    per_item = [_as_references(refs) for refs in references_list]
    width = max(len(refs) for refs in per_item)
    streams: list[list[str | None]] = [
        [refs[j] if j < len(refs) else None for refs in per_item] for j in range(width)
    ]
    return streams


def bleu(
    predictions: Sequence[str],
    references_list: Sequence[str | Sequence[str]],
    *,
    tokenize: str | None = None,
    lowercase: bool = False,
) -> CorpusScore:
    """Corpus BLEU via ``sacrebleu.metrics.BLEU`` with its defaults (13a, exp smoothing).

    ``references_list[i]`` holds the reference(s) for ``predictions[i]`` (per-item layout;
    sacrebleu's own reference *streams* are the transpose of this).  Items may have
    different numbers of references.  Pass ``tokenize="zh"``, ``"ja-mecab"``, ``"intl"``...
    for non-Latin-script corpora.
    """
    metric = BLEU(tokenize=tokenize, lowercase=lowercase)
    streams = _reference_streams(predictions, references_list)
    result = metric.corpus_score(list(predictions), streams)
    return CorpusScore("bleu", float(result.score), str(metric.get_signature()), str(result))


def chrf(
    predictions: Sequence[str],
    references_list: Sequence[str | Sequence[str]],
    *,
    word_order: int = 0,
) -> CorpusScore:
    """Corpus chrF via ``sacrebleu.metrics.CHRF`` (``word_order=2`` gives chrF++).

    Same per-item reference layout as :func:`bleu`.
    """
    metric = CHRF(word_order=word_order)
    streams = _reference_streams(predictions, references_list)
    result = metric.corpus_score(list(predictions), streams)
    return CorpusScore("chrf", float(result.score), str(metric.get_signature()), str(result))


@functools.lru_cache(maxsize=8)
def _sentence_bleu_metric(tokenize: str | None, lowercase: bool) -> BLEU:
    return BLEU(tokenize=tokenize, lowercase=lowercase, effective_order=True)


@functools.lru_cache(maxsize=8)
def _sentence_chrf_metric(word_order: int) -> CHRF:
    return CHRF(word_order=word_order)


def sentence_bleu(
    prediction: str,
    references: str | Sequence[str],
    *,
    tokenize: str | None = None,
    lowercase: bool = False,
) -> float:
    """Per-item BLEU (0-100) with effective order, as sacrebleu recommends for sentences.

    Sentence BLEU is noisy; average it only for rough per-item ranking and report the
    corpus :func:`bleu` as the headline number.
    """
    metric = _sentence_bleu_metric(tokenize, lowercase)
    return float(metric.sentence_score(prediction, _as_references(references)).score)


def sentence_chrf(
    prediction: str, references: str | Sequence[str], *, word_order: int = 0
) -> float:
    """Per-item chrF (0-100)."""
    metric = _sentence_chrf_metric(word_order)
    return float(metric.sentence_score(prediction, _as_references(references)).score)


# ---------------------------------------------------------------------------------------
# ROUGE-L with a Unicode-aware tokenizer

# Scripts written without spaces between words; each character becomes its own token.
# Hangul is included so Korean is compared per syllable block, like Chinese and Japanese.
_CJK_RANGES = (
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK Unified Ideographs Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0x20000, 0x323AF),  # CJK Unified Ideographs Extensions B-H and supplement
)


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def _is_word_char(ch: str) -> bool:
    # Letters, numbers and combining marks (so Devanagari vowel signs stay inside words).
    return unicodedata.category(ch)[0] in "LNM"


class UnicodeTokenizer:
    """Tokenizer for ``rouge_score.rouge_scorer.RougeScorer`` that keeps non-ASCII text.

    rouge_score's default tokenizer replaces everything outside ``[a-z0-9]`` with spaces,
    so an answer in German, French or Chinese loses its words (or all of them).  This one
    NFKC-normalises and lowercases the text, then emits maximal runs of Unicode word
    characters (letters, digits, combining marks); CJK ideographs, kana and Hangul
    syllables are emitted one character per token.  Punctuation and underscores separate
    tokens and are dropped.  No stemming.
    """

    def tokenize(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFKC", text).lower()
        tokens: list[str] = []
        word: list[str] = []
        for ch in text:
            if _is_cjk(ch):
                if word:
                    tokens.append("".join(word))
                    word = []
                tokens.append(ch)
            elif _is_word_char(ch):
                word.append(ch)
            elif word:
                tokens.append("".join(word))
                word = []
        if word:
            tokens.append("".join(word))
        return tokens


_TOKENIZER = UnicodeTokenizer()


@functools.lru_cache(maxsize=1)
def _rouge_l_scorer() -> RougeScorer:
    # Imported on first use: rouge_score pulls in nltk, which takes seconds to import.
    from rouge_score.rouge_scorer import RougeScorer

    return RougeScorer(["rougeL"], use_stemmer=False, tokenizer=_TOKENIZER)


def rouge_l(prediction: str, reference: str | Sequence[str]) -> float:
    """ROUGE-L F-measure (LCS-based) from ``rouge_score``, with :class:`UnicodeTokenizer`.

    A list of references gives the maximum over them.  Both sides empty scores 0.0
    (rouge_score's convention).
    """
    scorer = _rouge_l_scorer()
    return max(
        float(scorer.score(ref, prediction)["rougeL"].fmeasure) for ref in _as_references(reference)
    )

