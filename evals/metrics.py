"""Metric functions for the offline eval suite.

Everything here is a small, pure function: no model is loaded and nothing is read from disk.
Metrics that need an embedder (answer relevance) are computed elsewhere; :func:`cosine` is
the only piece of that which lives here.

Every public metric has an entry in :data:`METRIC_VERSIONS`.  An eval run records that
dict next to its scores, so two runs are only compared when they measured the same thing.
Bump a version string whenever a change could move a score.

Conventions
-----------
* Scores in ``[0, 1]`` unless stated otherwise; BLEU and chrF use sacrebleu's 0-100 scale.
* ``references`` may be a single string or a non-empty list of strings; per-item text
  metrics take the maximum over references.
* A value that is undefined for the given input (no gold sources, no citations, a class
  that never occurs, ...) is returned as ``None`` rather than as a misleading 0 or 1, and
  never raises ``ZeroDivisionError``.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sacrebleu
from sacrebleu.metrics import BLEU, CHRF

if TYPE_CHECKING:
    from rouge_score.rouge_scorer import RougeScorer

_SB = sacrebleu.__version__

METRIC_VERSIONS: dict[str, str] = {
    "normalize_answer": "norm-squad-unicode-1",
    "exact_match": "em-squad-unicode-1",
    "token_f1": "f1-squad-unicode-1",
    "bleu": f"sacrebleu-{_SB}-bleu-corpus-1",
    "sentence_bleu": f"sacrebleu-{_SB}-bleu-sentence-effective-order-1",
    "chrf": f"sacrebleu-{_SB}-chrf-corpus-1",
    "sentence_chrf": f"sacrebleu-{_SB}-chrf-sentence-1",
    "rouge_l": "rouge-score-0.1.2-rougeL-f-unicode-tok-1",
    "hit_at_k": "hit-at-k-1",
    "reciprocal_rank": "rr-1",
    "recall_at_k": "recall-at-k-unique-gold-1",
    "refusal_confusion": "refusal-positive-class-1",
    "groundedness": "lexical-overlap-max-passage-1",
    "citation_precision": "citation-lexical-support-1",
    "expected_calibration_error": "ece-equal-width-right-closed-1",
    "cosine": "cosine-1",
}


# ---------------------------------------------------------------------------------------
# Helpers


def _as_references(references: str | Sequence[str]) -> list[str]:
    """A single reference string or a non-empty sequence of them, as a list."""
    refs = [references] if isinstance(references, str) else list(references)
    if not refs:
        raise ValueError("at least one reference is required")
    return refs


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")


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


# ---------------------------------------------------------------------------------------
# Retrieval
#
# ``retrieved_sources`` is the ranked list of source ids the retriever returned (best
# first; duplicates allowed, e.g. two chunks of one document).  ``gold_sources`` are the
# sources that answer the question.  With no gold sources the metric is undefined: None.


def hit_at_k(retrieved_sources: Sequence[str], gold_sources: Iterable[str], k: int) -> float | None:
    """1.0 if any gold source is among the first ``k`` retrieved, else 0.0 (None: no gold)."""
    _check_k(k)
    gold = set(gold_sources)
    if not gold:
        return None
    return float(any(src in gold for src in list(retrieved_sources)[:k]))


def reciprocal_rank(
    retrieved_sources: Sequence[str], gold_sources: Iterable[str], k: int | None = None
) -> float | None:
    """1/rank of the first gold source (rank 1 = first), 0.0 if none is found.

    This is the per-query term of MRR; pass ``k`` for MRR@k.  None when there is no gold.
    """
    if k is not None:
        _check_k(k)
    gold = set(gold_sources)
    if not gold:
        return None
    ranked = list(retrieved_sources) if k is None else list(retrieved_sources)[:k]
    for rank, src in enumerate(ranked, start=1):
        if src in gold:
            return 1.0 / rank
    return 0.0


def recall_at_k(
    retrieved_sources: Sequence[str], gold_sources: Iterable[str], k: int
) -> float | None:
    """Share of distinct gold sources found among the first ``k`` retrieved (None: no gold)."""
    _check_k(k)
    gold = set(gold_sources)
    if not gold:
        return None
    return len(gold & set(list(retrieved_sources)[:k])) / len(gold)


# ---------------------------------------------------------------------------------------
# Refusals


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def refusal_confusion(items: Iterable[tuple[bool, bool]]) -> dict[str, Any]:
    """Confusion matrix of refusals, with *refuse* as the positive class.

    ``items`` are ``(should_refuse, did_refuse)`` pairs.

    * ``tp``: should refuse and did;  ``fn``: should refuse but answered;
    * ``fp``: should answer but refused (over-refusal);  ``tn``: should answer and did.

    Returns ``precision`` = tp/(tp+fp) (of the refusals, how many were right),
    ``recall`` = tp/(tp+fn) (of the questions to refuse, how many were refused),
    ``f1``, ``accuracy``, ``false_refusal_rate`` = fp/(fp+tn), ``n`` and ``counts``.
    Any ratio with a zero denominator is None.  ``f1`` is None when precision or recall
    is None, and 0.0 when both are 0.
    """
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for should_refuse, did_refuse in items:
        key = ("tp" if did_refuse else "fn") if should_refuse else ("fp" if did_refuse else "tn")
        counts[key] += 1
    tp, fp, fn, tn = counts["tp"], counts["fp"], counts["fn"], counts["tn"]
    n = tp + fp + fn + tn
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    if precision is None or recall is None:
        f1 = None
    elif precision + recall == 0:
        f1 = 0.0
    else:
        f1 = 2 * precision * recall / (precision + recall)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": _ratio(tp + tn, n),
        "false_refusal_rate": _ratio(fp, fp + tn),
        "n": n,
        "counts": counts,
    }


# ---------------------------------------------------------------------------------------
# Groundedness and citation precision (lexical overlap)

_STOPWORDS = frozenset(
    """
    a an the and or but if then else so than that this these those there here of in on at
    to for from by with without about into over under as is are was were be been being am
    do does did doing have has had having it its it's they them their theirs he him his she
    her hers we us our ours you your yours i me my mine not no nor can could should would
    will shall may might must also just only very too more most such which who whom whose
    what when where why how all any both each few other some own same s t d ll re ve m
    """.split()
)

# Same marker syntax the assistant emits and resolves: "[1]", "[2, 3]", "[1][2]".
_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
# Markers placed right after the sentence's full stop belong to that sentence.
_MARKERS_AFTER_STOP = re.compile(r"([.!?。！？]+)((?:[ \t]*\[\d+(?:\s*,\s*\d+)*\])+)")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])\s*|\s*\n+\s*")
_LIST_BULLET = re.compile(r"^(?:[-*•]|\d+[.)])\s+")


def _cited_sentences(text: str) -> list[tuple[str, list[int]]]:
    """Split ``text`` into sentences, each with the citation numbers it carries.

    Simple regex splitting: after ``.``/``!``/``?`` followed by whitespace, after CJK full
    stops, and at line breaks.  Markers written after the full stop (``"... man.[1]"``)
    are attached to the sentence before them.  Markers are removed from the text.
    """
    text = _MARKERS_AFTER_STOP.sub(r"\2\1", text)
    out: list[tuple[str, list[int]]] = []
    for piece in _SENTENCE_BREAK.split(text):
        piece = _LIST_BULLET.sub("", piece.strip())
        cited = [int(n) for m in _MARKER.finditer(piece) for n in m.group(1).split(",")]
        clean = " ".join(_MARKER.sub(" ", piece).split())
        clean = re.sub(r"\s+([.,;:!?。！？、，])", r"\1", clean)
        if not _TOKENIZER.tokenize(clean):
            if cited and out:  # a marker alone on its line: give it to the previous sentence
                out[-1][1].extend(cited)
            continue
        out.append((clean, cited))
    return [(sentence, list(dict.fromkeys(cited))) for sentence, cited in out]


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` with citation markers stripped (see :func:`groundedness`)."""
    return [sentence for sentence, _ in _cited_sentences(text)]


def content_tokens(text: str) -> set[str]:
    """Distinct :class:`UnicodeTokenizer` tokens of ``text`` minus a small English stoplist."""
    return {t for t in _TOKENIZER.tokenize(text) if t not in _STOPWORDS}


def _support(sentence_tokens: set[str], passage_tokens: set[str]) -> float:
    return len(sentence_tokens & passage_tokens) / len(sentence_tokens)


def groundedness(
    answer: str | Sequence[str],
    passages: Sequence[str],
    embed_fn: Callable[[list[str]], Any] | None = None,
) -> dict[str, Any]:
    """Lexical groundedness of an answer in the retrieved passages.

    ``answer`` is either the answer text (split with :func:`split_sentences`, citation
    markers stripped) or an already-split list of sentences.  For each sentence, its
    *support* by a passage is the share of the sentence's distinct content tokens
    (:func:`content_tokens`: Unicode words / CJK characters, lowercased, English stopwords
    dropped) that also occur in the passage; the sentence's score is the maximum support
    over passages (0.0 with no passages).  Sentences with no content tokens ("Sure!") are
    skipped.

    Returns a dict with ``score`` (mean over scored sentences, None if there are none),
    ``per_sentence``, ``sentences`` (the scored sentences) and ``best_passage`` (index of the
    most supporting passage, None when there are no passages).

    If ``embed_fn`` is given (a callable mapping a list of texts to a list of vectors, e.g.
    the assistant's embedder), the result also carries ``semantic_per_sentence`` (max
    cosine similarity of each sentence to any passage) and ``semantic_score`` (their mean).
    The lexical ``score`` does not depend on it.
    """
    if isinstance(answer, str):
        raw = split_sentences(answer)
    else:
        raw = [" ".join(_MARKER.sub(" ", s).split()) for s in answer]
    passage_tokens = [set(_TOKENIZER.tokenize(p)) for p in passages]

    sentences: list[str] = []
    per_sentence: list[float] = []
    best_passage: list[int | None] = []
    for sentence in raw:
        tokens = content_tokens(sentence)
        if not tokens:
            continue
        supports = [_support(tokens, p) for p in passage_tokens]
        sentences.append(sentence)
        if supports:
            best = max(range(len(supports)), key=supports.__getitem__)
            per_sentence.append(supports[best])
            best_passage.append(best)
        else:
            per_sentence.append(0.0)
            best_passage.append(None)

    result: dict[str, Any] = {
        "score": float(np.mean(per_sentence)) if per_sentence else None,
        "per_sentence": per_sentence,
        "sentences": sentences,
        "best_passage": best_passage,
    }
    if embed_fn is not None:
        semantic: list[float] = []
        if sentences and passages:
            vectors = list(embed_fn(sentences + list(passages)))
            sent_vecs, pass_vecs = vectors[: len(sentences)], vectors[len(sentences) :]
            semantic = [max(cosine(s, p) for p in pass_vecs) for s in sent_vecs]
        elif sentences:
            semantic = [0.0] * len(sentences)
        result["semantic_per_sentence"] = semantic
        result["semantic_score"] = float(np.mean(semantic)) if semantic else None
    return result


def citation_precision(
    answer: str, passages_by_number: dict[int, str], threshold: float = 0.5
) -> float | None:
    """Share of (sentence, cited passage) pairs where the cited passage supports the sentence.

    Sentences and markers are found as in :func:`groundedness` (a marker after a full stop
    belongs to the sentence before it; repeated numbers in one sentence count once).  A
    pair is supported when the support of the sentence by passage ``n`` (share of the
    sentence's content tokens found in it) is ``>= threshold``.  A number missing from
    ``passages_by_number`` counts as unsupported.  Returns None when the answer cites
    nothing.
    """
    pairs = supported = 0
    for sentence, cited in _cited_sentences(answer):
        tokens = content_tokens(sentence)
        if not tokens:
            continue
        for n in cited:
            pairs += 1
            passage = passages_by_number.get(n)
            if passage is None:
                continue
            if _support(tokens, set(_TOKENIZER.tokenize(passage))) >= threshold:
                supported += 1
    return supported / pairs if pairs else None


# ---------------------------------------------------------------------------------------
# Calibration and vectors


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool | float], n_bins: int = 10
) -> float | None:
    """Expected calibration error with ``n_bins`` equal-width bins on [0, 1].

    Bins are right-closed, ``(i/n, (i+1)/n]``, with 0.0 in the first bin.
    ECE = sum over bins of ``|bin| / N * |accuracy(bin) - mean confidence(bin)|``.
    ``correct`` is booleans or 0/1 (fractions are accepted as partial credit).
    Returns None for empty input.
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    conf = np.asarray(confidences, dtype=float)
    acc = np.asarray(correct, dtype=float)
    if conf.shape != acc.shape or conf.ndim != 1:
        raise ValueError("confidences and correct must be 1-D and of equal length")
    if conf.size == 0:
        return None
    if np.any((conf < 0) | (conf > 1)) or np.any(np.isnan(conf)):
        raise ValueError("confidences must lie in [0, 1]")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.searchsorted(edges[1:-1], conf, side="left")
    conf_sum = np.bincount(bins, weights=conf, minlength=n_bins)
    acc_sum = np.bincount(bins, weights=acc, minlength=n_bins)
    return float(np.abs(acc_sum - conf_sum).sum() / conf.size)


def cosine(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Cosine similarity of two vectors (lists or numpy arrays); 0.0 if either is all zeros."""
    va = np.asarray(a, dtype=float).ravel()
    vb = np.asarray(b, dtype=float).ravel()
    if va.shape != vb.shape:
        raise ValueError(f"vectors differ in length: {va.size} vs {vb.size}")
    norm = float(np.linalg.norm(va) * np.linalg.norm(vb))
    if norm == 0.0:
        return 0.0
    return float(np.dot(va, vb) / norm)
