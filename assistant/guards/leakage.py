"""System-prompt leakage: does an answer reproduce (or paraphrase) the system prompt?

Signals, any of which is enough:
- verbatim reuse: a long run of the prompt's words, or a large share of its word 4-grams;
- near copies: an answer sentence whose word sequence closely matches a prompt sentence;
- paraphrase: an answer sentence semantically close to a prompt sentence (embedding), or
  written as a self-disclosure ("I was instructed to ...", "my instructions say ...") with
  the prompt's content words, and in both cases not supported by the retrieved passages;
- encoded copies (base64, hex, reversed) of any of the above.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.guards import normalize as nz
from assistant.guards.grounding import lexical_support
from assistant.records import Passage
from assistant.text import content_words, cosine, split_sentences

EmbedFn = Callable[[list[str]], list[list[float]]]

DISCLOSURE = re.compile(
    r"(?i)\b(?:(?:my|the) (?:system prompt|instructions|system message|initial prompt|rules|"
    r"guidelines|directives|configuration) (?:is|are|say|says|state|states|tell|tells|read|reads)|"
    r"i (?:was|am|have been|'ve been|were) (?:told|instructed|programmed|configured|asked|"
    r"designed|set up|prompted) to|according to my (?:instructions|system prompt|rules|"
    r"guidelines)|here (?:is|are) my (?:system prompt|instructions|rules)|my (?:developers?|"
    r"operators?|creators?) (?:told|instructed|asked) me|(?:rules|instructions|guidelines) "
    r"(?:that )?i (?:follow|obey|was given|have been given|must follow|operate under)|"
    r"i am (?:an? |the )(?:\w+ ){0,3}(?:assistant|ai|bot|model)(?: that| who| which| and|,))"
)


def _word_list(text: str) -> list[str]:
    return nz.words(text).split()


def _shingles(words: list[str], n: int = 4) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def longest_common_run(a: list[str], b: list[str]) -> int:
    if not a or not b:
        return 0
    match = difflib.SequenceMatcher(None, a, b, autojunk=False).find_longest_match(
        0, len(a), 0, len(b)
    )
    return match.size


@dataclass
class LeakCheck:
    leaked: bool
    how: str  # short reason for the log, e.g. "verbatim run of 12 words"
    score: float


class LeakDetector:
    def __init__(
        self,
        system_prompt: str,
        embed_fn: EmbedFn | None = None,
        min_run_words: int = 8,
        shingle_share: float = 0.15,
        sentence_ratio: float = 0.7,
        embedding_threshold: float = 0.75,
        disclosure_overlap: float = 0.4,
        prompt_overlap: float = 0.6,
        overlap_margin: float = 0.3,
    ):
        self.system_prompt = system_prompt
        self.embed_fn = embed_fn
        self.min_run_words = min_run_words
        self.shingle_share = shingle_share
        self.sentence_ratio = sentence_ratio
        self.embedding_threshold = embedding_threshold
        self.disclosure_overlap = disclosure_overlap
        self.prompt_overlap = prompt_overlap  # share of a sentence's words found in the prompt
        self.overlap_margin = overlap_margin  # ... above the share found in the sources
        self.prompt_words = _word_list(system_prompt)
        self.prompt_shingles = _shingles(self.prompt_words)
        self.prompt_sentences = [s.claim for s in split_sentences(system_prompt) if s.claim]
        self.prompt_sentence_words = [_word_list(s) for s in self.prompt_sentences]
        self.prompt_content = content_words(system_prompt)
        self._prompt_vectors: list[list[float]] | None = None

    def _vectors(self) -> list[list[float]]:
        if self._prompt_vectors is None:
            self._prompt_vectors = self.embed_fn(self.prompt_sentences)
        return self._prompt_vectors

    def check(self, answer: str, passages: Sequence[Passage] = ()) -> LeakCheck:
        if not self.prompt_words or not answer.strip():
            return LeakCheck(False, "", 0.0)
        texts = [answer] + [v.text for v in nz.decoded_variants(answer, depth=1)
                            if v.method in ("base64", "hex", "reversed", "percent")]
        for text in texts:
            result = self._check_text(text, passages)
            if result.leaked:
                return result
        return self._check_text(answer, passages)

    def _passage_text_words(self, passages: Sequence[Passage]) -> list[str]:
        return _word_list(" ".join(p.text for p in passages))

    def _check_text(self, answer: str, passages: Sequence[Passage]) -> LeakCheck:
        words = _word_list(answer)
        passage_words = self._passage_text_words(passages)

        run = longest_common_run(words, self.prompt_words)
        if run >= self.min_run_words:
            # the same run in the sources is quoting the sources, not leaking
            if longest_common_run(words, passage_words) < run:
                return LeakCheck(True, f"verbatim run of {run} words", 1.0)

        if self.prompt_shingles:
            shared = _shingles(words) & self.prompt_shingles
            shared -= _shingles(passage_words)
            share = len(shared) / len(self.prompt_shingles)
            if share >= self.shingle_share:
                return LeakCheck(True, f"{share:.0%} of the prompt's phrases", share)

        sentences = [s for s in split_sentences(answer) if s.claim]
        passage_content = content_words(" ".join(p.text for p in passages))
        for s in sentences:
            claim_words = content_words(s.claim)
            from_sources = lexical_support(claim_words, passage_content)
            from_prompt = lexical_support(claim_words, self.prompt_content)
            if DISCLOSURE.search(s.claim) and from_prompt >= self.disclosure_overlap:
                return LeakCheck(True, "describes its own instructions", from_prompt)
            if (len(claim_words) >= 4 and from_prompt >= self.prompt_overlap
                    and from_prompt - from_sources >= self.overlap_margin):
                return LeakCheck(True, "closer to the prompt than to the sources", from_prompt)
            if from_sources >= 0.5:
                continue  # grounded in the passages: quoting the sources is not a leak
            sw = _word_list(s.claim)
            for pw in self.prompt_sentence_words:
                ratio = difflib.SequenceMatcher(None, sw, pw, autojunk=False).ratio()
                if ratio >= self.sentence_ratio:
                    return LeakCheck(True, f"sentence close to the prompt ({ratio:.2f})", ratio)

        if self.embed_fn is not None and sentences and self.prompt_sentences:
            ungrounded = [
                s.claim for s in sentences
                if lexical_support(content_words(s.claim), passage_content) < 0.5
            ]
            if ungrounded:
                vectors = self.embed_fn(ungrounded)
                best = max(cosine(v, p) for v in vectors for p in self._vectors())
                if best >= self.embedding_threshold:
                    return LeakCheck(True, f"paraphrase of the prompt ({best:.2f})", best)
        return LeakCheck(False, "", 0.0)
