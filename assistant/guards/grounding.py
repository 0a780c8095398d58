"""Groundedness: split an answer into sentences with their [n] markers and score each sentence
against the passages. With a support checker (assistant/guards/support.py) the score is the
probability that the passage supports the sentence, read by a cross-encoder, and each sentence
also gets a label (supported / contradicted / not addressed). Without one, the score is
content-word overlap, plus embedding similarity when an embedder is given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from assistant.guards.contradiction_cues import best_sentences
from assistant.guards.normalize import remove_spans
from assistant.guards.support import CONTRADICTED, SUPPORTED, Judgement, SupportChecker
from assistant.quoting import block_quotes
from assistant.records import Passage
from assistant.text import Sentence, content_words, cosine, split_sentences

EmbedFn = Callable[[list[str]], list[list[float]]]

# The assistant's own "not in the sources" reply and similar meta sentences are not claims.
META_SENTENCE = re.compile(
    r"(?i)\b(?:cannot|can't|could not|couldn't) find (?:this|that|it|the answer)\b|"
    r"\bnot (?:in|covered by) (?:my|the) sources\b|\bi don't know\b|\bi do not know\b"
)


def lexical_support(claim_words: set[str], passage_words: set[str]) -> float:
    """Share of the sentence's content words that the passage contains."""
    if not claim_words:
        return 1.0
    return len(claim_words & passage_words) / len(claim_words)


@dataclass
class SentenceSupport:
    sentence: Sentence
    lexical: dict[int, float]  # passage number -> overlap score
    semantic: dict[int, float]  # passage number -> cosine (empty without an embedder)
    meta: bool = False  # not a claim ("I cannot find this in my sources")
    judged: dict[int, Judgement] = field(default_factory=dict)  # with a support checker

    def score(self, n: int, embedding_weight: float) -> float:
        if self.judged:  # the checker's verdict: supported or not
            return 1.0 if n in self.judged and self.judged[n].label == SUPPORTED else 0.0
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

    def contradicted_by(self, numbers: Sequence[int]) -> list[int]:
        """The passages among `numbers` that the checker reads as contradicting the sentence."""
        return [n for n in numbers if n in self.judged and self.judged[n].label == CONTRADICTED]


def judge_claims(table: list[SentenceSupport], passages: Sequence[Passage],
                 checker: SupportChecker) -> None:
    """Fill each claim's `judged` with the checker's reading against every passage (one batch)."""
    claims = [row for row in table if not row.meta and content_words(row.sentence.claim)]
    pairs = [(row.sentence.claim, f"{p.heading}. {p.text}") for row in claims for p in passages]
    judgements = iter(checker.judge_many(pairs))
    for row in claims:
        row.judged = {p.n: next(judgements) for p in passages}


def support_table(
    sentences: Sequence[Sentence],
    passages: Sequence[Passage],
    embed_fn: EmbedFn | None = None,
    checker: SupportChecker | None = None,
) -> list[SentenceSupport]:
    passage_words = {p.n: content_words(f"{p.heading} {p.text}") for p in passages}
    table = []
    for s in sentences:
        words = content_words(s.claim)
        lexical = {n: lexical_support(words, pw) for n, pw in passage_words.items()}
        table.append(SentenceSupport(s, lexical, {}, meta=bool(META_SENTENCE.search(s.claim))))
    if checker is not None and passages and sentences:
        judge_claims(table, passages, checker)
    elif embed_fn is not None and passages and sentences:
        claims = [row.sentence.claim or row.sentence.text for row in table]
        vectors = embed_fn(claims + [p.text for p in passages])
        claim_vectors, passage_vectors = vectors[: len(claims)], vectors[len(claims):]
        for row, cv in zip(table, claim_vectors, strict=True):
            row.semantic = {
                p.n: cosine(cv, pv) for p, pv in zip(passages, passage_vectors, strict=True)
            }
    return table


# Labels of a graded sentence.
LABEL_SUPPORTED = "supported"
LABEL_MISCITED = "miscited"  # cites a passage that does not support it, while another does
LABEL_CONTRADICTED = "contradicted"
LABEL_NOT_ADDRESSED = "not_addressed"


@dataclass
class GradedSentence:
    """One sentence of an answer, graded against the passages."""

    sentence: Sentence
    cited: list[int]  # its markers that name a retrieved passage
    support: float  # by the cited passages, or (uncited) by the best passage
    best: float  # by the best passage
    best_n: int | None  # that passage
    label: str  # one of the LABEL_ names above
    is_claim: bool  # has content words and is not a meta sentence

    @property
    def supported(self) -> bool:
        return self.label == LABEL_SUPPORTED

    @property
    def miscited(self) -> bool:
        return self.label == LABEL_MISCITED

    @property
    def contradicted(self) -> bool:
        return self.label == LABEL_CONTRADICTED

    @property
    def unsupported(self) -> bool:
        """Neither supported nor merely mis-cited: the sentence has no source."""
        return not self.supported and not self.miscited


def support_label(row: SentenceSupport, cited: list[int], numbers: list[int],
                  own: float, best: float, min_support: float) -> str:
    """supported / miscited (another passage supports it) / contradicted / not_addressed."""
    if own >= min_support or (not cited and best >= min_support):
        return LABEL_SUPPORTED
    if best >= min_support:
        return LABEL_MISCITED
    return LABEL_CONTRADICTED if row.contradicted_by(cited or numbers) else LABEL_NOT_ADDRESSED


def grade_answer(answer: str, passages: Sequence[Passage], embed_fn: EmbedFn | None,
                 checker: SupportChecker | None, min_support: float,
                 embedding_weight: float) -> list[GradedSentence]:
    """Each sentence of the answer must be supported by the passage it cites (or, uncited, by
    any passage). Meta sentences and sentences without content words count as supported."""
    table = support_table(split_sentences(answer), passages, embed_fn, checker)
    numbers = [p.n for p in passages]
    graded = []
    for row in table:
        cited = [n for n in row.sentence.citations if n in numbers]
        own, _ = row.best(cited, embedding_weight)
        best, best_n = row.best(numbers, embedding_weight)
        has_claim = bool(content_words(row.sentence.claim))
        label = (LABEL_SUPPORTED if row.meta or not has_claim else
                 support_label(row, cited, numbers, own, best, min_support))
        graded.append(GradedSentence(row.sentence, cited, own if cited else best, best, best_n,
                                     label, has_claim and not row.meta))
    return graded


def contradicted_sources(graded: Sequence[GradedSentence], passages: Sequence[Passage]
                         ) -> list[tuple[int, str]]:
    """(passage number, sentence) of what each contradicted sentence got wrong: the sentence
    of its cited passages (uncited: of any passage) that shares the most words with it, once
    each."""
    by_number = {p.n: p for p in passages}
    out: list[tuple[int, str]] = []
    for g in graded:
        if not g.contradicted:
            continue
        numbers = [n for n in g.cited if n in by_number] or list(by_number)
        found = [(n, best_sentences(g.sentence.claim, by_number[n].text, 1)[0]) for n in numbers]
        best = max(found, default=None,
                   key=lambda f: len(content_words(f[1]) & content_words(g.sentence.claim)))
        if best and best not in out:
            out.append(best)
    return out


def drop_and_quote_sources(text: str, unsupported: Sequence[GradedSentence],
                           passages: Sequence[Passage]) -> tuple[str, bool]:
    """The text without its unsupported sentences, and with what the sources of the
    contradicted ones say quoted at the end, so that the reader learns the right fact, not
    only that a sentence was wrong. Also says whether anything was quoted."""
    corrections = contradicted_sources(unsupported, passages)
    kept = drop_sentences(text, unsupported)
    return (kept + "\n\n" + block_quotes(corrections) if corrections else kept), bool(corrections)


def drop_sentences(text: str, graded: Sequence[GradedSentence]) -> str:
    """The text without the given sentences, and without the white space they leave behind."""
    spans = [(g.sentence.start, g.sentence.end) for g in graded]
    joined = re.sub(r"[ \t]{2,}", " ", remove_spans(text, spans, filler=""))
    joined = re.sub(r"[ \t]+\n", "\n", joined)
    return re.sub(r"\n{3,}", "\n\n", joined).strip()
