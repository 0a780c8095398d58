"""Prompt-injection and jailbreak detection: patterns on de-obfuscated and decoded variants,
embedding similarity to known attacks, learned detectors over those embeddings and character
n-grams (injection_model.py, char_model.py). Also flags instructions planted in passages."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from assistant.guards import normalize as nz
from assistant.guards.char_model import CharModel
from assistant.guards.injection_model import LinearModel, learned_readings, segments, shipped_models
from assistant.guards.injection_patterns import (
    ALL_RAW_RULES,
    ALL_WORD_RULES,
    HARMFUL_FAMILY,
    SQUASHED_RULES,
    Rule,
)
from assistant.guards.known_attacks import KNOWN_ATTACKS
from assistant.text import cosine

EmbedFn = Callable[[list[str]], list[list[float]]]

SIMILARITY_FAMILY = "similar to a known attack"
LEARNED_FAMILY = "learned attack detector"
AIMED_AT_AI = "instructions aimed at the AI"
EXECUTE_FAMILY = "decode and execute"
# A phrase inside quotes is usually being talked about, not used: it counts this much,
# unless the text also asks to act on it ("do it", "combine and run", "repeat after me").
MENTION_DISCOUNT = 0.4
# Families that still count fully when quoted (quoting is how planted instructions travel).
UNDISCOUNTED = {AIMED_AT_AI, EXECUTE_FAMILY}
# Families that count when checking retrieved passages (documents may discuss role-play,
# hypotheticals and authority; they must not address the model or override its rules).
PASSAGE_FAMILIES = {
    AIMED_AT_AI,
    "override instructions",
    "system prompt extraction",
    "data exfiltration",
    "ignore sources",
}


@dataclass(frozen=True)
class Hit:
    family: str
    weight: float
    method: str  # which variant matched: "text", "base64", "leetspeak", "similarity 0.83", ...
    rule: int = -1  # which rule matched (hits of one rule on several variants count once)


@dataclass
class Assessment:
    hits: list[Hit] = field(default_factory=list)
    similarity: float | None = None  # best cosine similarity to a known attack
    probability: float | None = None  # the learned detector's p(attack)

    def family_scores(self, exclude: frozenset[str] = frozenset()) -> dict[str, float]:
        """Per family: the distinct rules' best weights, added up and capped at 1."""
        per_rule: dict[str, dict[int, float]] = {}
        for hit in self.hits:
            family = hit.family.split(" (")[0]  # "(fr)" etc. share their family
            if family in exclude:
                continue
            rules = per_rule.setdefault(family, {})
            rules[hit.rule] = max(rules.get(hit.rule, 0.0), hit.weight)
        return {family: min(1.0, sum(r.values())) for family, r in per_rule.items()}

    def score(self, exclude: frozenset[str] = frozenset()) -> float:
        return sum(self.family_scores(exclude).values())

    def top_families(self, n: int = 3, exclude: frozenset[str] = frozenset()) -> list[str]:
        scores = self.family_scores(exclude)
        return sorted(scores, key=lambda f: -scores[f])[:n]

    def methods(self) -> list[str]:
        seen = []
        for hit in self.hits:
            base = hit.method.split("+")[0]
            if base not in seen and base not in ("text", "mention", "quoted"):
                seen.append(base)
        return seen


MENTION_RULE = -2
SIMILARITY_RULE = -3
LEARNED_RULE = -4
_RULE_IDS = {id(rule): i for i, rule in enumerate(ALL_RAW_RULES + ALL_WORD_RULES + SQUASHED_RULES)}


def _match(rules: Sequence[Rule], text: str, method: str, factor: float = 1.0) -> list[Hit]:
    hits = []
    for rule in rules:
        if rule.pattern.search(text):
            if factor < 1.0 and rule.family not in UNDISCOUNTED:
                # all mentions of one family count as a single, discounted cue
                hits.append(Hit(rule.family, rule.weight * factor, method, MENTION_RULE))
            else:
                hits.append(Hit(rule.family, rule.weight, method, _RULE_IDS[id(rule)]))
    return hits


def _match_all(text: str, method: str, factor: float = 1.0, raw: bool = True) -> list[Hit]:
    hits = []
    if raw:
        hits += _match(ALL_RAW_RULES, text, method, factor)
    word_form = nz.words(text)
    hits += _match(ALL_WORD_RULES, word_form, method, factor)
    accentless = nz.strip_accents(word_form)
    if accentless != word_form:
        hits += _match(ALL_WORD_RULES, accentless, method, factor)
    hits += _match(SQUASHED_RULES, nz.squash(text), method, factor)
    return hits


# A request reported in the third person ("when a user asks it to ignore its instructions") is
# talked about, not made: the clause counts like a quotation.
_REPORTED = re.compile(
    r"(?i)\b(?:asks?|asked|asking|tells?|told|telling|instructs?|instructed|wants?|wanted|"
    r"requests?|requested|begs?|tries to (?:get|make|convince)|trying to (?:get|make|convince))"
    r"\s+(?:it|them|the (?:assistant|model|ai|bot|chatbot|llm|agent|system)|an? (?:assistant|"
    r"model|ai|bot|chatbot|llm|agent))\s+(?:to\s+)?([^.?!\n]{4,200})")


def _mentions(folded: str) -> list[tuple[int, int, str]]:
    spans = [(s, e, inner) for s, e, inner, is_mention in nz.quoted_spans(folded) if is_mention]
    spans += [(m.start(1), m.end(1), m.group(1)) for m in _REPORTED.finditer(folded)]
    return spans


def pattern_hits(text: str, decoded: Sequence[nz.Variant] | None = None) -> list[Hit]:
    """All pattern hits on the text and its de-obfuscated variants (`decoded`: the text's
    decoded_variants, when the caller has them already)."""
    folded = nz.fold(text)
    mentions = _mentions(folded)
    body = nz.remove_spans(folded, [(s, e) for s, e, _ in mentions]) if mentions else folded

    hits: list[Hit] = []
    for variant in nz.surface_variants(body):
        hits += _match_all(variant.text, variant.method)
    # structures (chat tokens, JSON roles, addressed notes) count even inside quotes
    hits += [h for h in _match(ALL_RAW_RULES, folded, "text") if h.family in UNDISCOUNTED]

    if mentions:
        acts_on_quote = any(h.family == EXECUTE_FAMILY for h in hits)
        factor = 1.0 if acts_on_quote else MENTION_DISCOUNT
        method = "quoted" if acts_on_quote else "mention"
        inners = [inner for _, _, inner in mentions]
        for joined in {" ".join(i.strip() for i in inners), "".join(inners)}:
            for variant in nz.surface_variants(joined):
                hits += _match_all(variant.text, method, factor, raw=False)

    for variant in nz.decoded_variants(text) if decoded is None else decoded:
        hits += _match_all(variant.text, variant.method, raw=False)
    return hits


class SimilarityIndex:
    """Embeddings of the known-attack corpus, computed once on first use."""

    def __init__(self, embed_fn: EmbedFn, exemplars: Sequence[str] = KNOWN_ATTACKS):
        self.embed_fn = embed_fn
        self.exemplars = list(exemplars)
        self._vectors: list[list[float]] | None = None
        self._lock = threading.Lock()

    def vectors(self) -> list[list[float]]:
        with self._lock:
            if self._vectors is None:
                self._vectors = [list(v) for v in self.embed_fn(self.exemplars)]
            return self._vectors

    def best_of(self, vectors: Sequence[Sequence[float]]) -> tuple[float, int]:
        """Highest cosine similarity of any vector to any exemplar, and that exemplar's index."""
        best, best_i = -1.0, -1
        for vector in vectors:
            for i, known in enumerate(self.vectors()):
                sim = cosine(vector, known)
                if sim > best:
                    best, best_i = sim, i
        return best, best_i

    def best(self, texts: Sequence[str]) -> tuple[float, int]:
        return self.best_of(self.embed_fn(list(texts)))


SHIPPED = "shipped"


class InjectionDetector:
    """Patterns on every variant of a message; with an embedder, also similarity to known
    attacks and the learned models (one embedding call). A message the patterns already
    block (score >= `decided_at`) is not embedded at all."""

    def __init__(self, embed_fn: EmbedFn | None = None, block_similarity: float = 0.80,
                 warn_similarity: float = 0.70, exemplars: Sequence[str] = KNOWN_ATTACKS,
                 model: LinearModel | str | None = SHIPPED, decided_at: float = 1.0):
        self.index = SimilarityIndex(embed_fn, exemplars) if embed_fn else None
        self.embed_fn = embed_fn
        self.block_similarity = block_similarity
        self.warn_similarity = warn_similarity
        self.models = shipped_models() if model == SHIPPED else (model,) if model else ()
        self.decided_at = decided_at

    def assess(self, text: str) -> Assessment:
        decoded = nz.decoded_variants(text)
        assessment = Assessment(hits=pattern_hits(text, decoded))
        if self.index is None or not text.strip():
            return assessment
        if injection_score(assessment) >= self.decided_at:
            return assessment  # already blocked: no embedding needed
        pieces = segments(text, decoded)
        vectors = self.embed_fn([p.text for p in pieces])
        # a message whose only attack phrases are reported ("when a user asks it to ignore its
        # instructions") resembles an attack for that reason: a resemblance counts as a mention
        mentions_only = bool(assessment.hits) and all(
            h.rule == MENTION_RULE for h in assessment.hits)
        warn = MENTION_DISCOUNT / 2 if mentions_only else 0.5
        sim, _ = self.index.best_of(vectors)
        assessment.similarity = sim
        self._add(assessment, sim, self.block_similarity, self.warn_similarity, warn,
                  Hit(SIMILARITY_FAMILY, 0.0, f"similarity {sim:.2f}", SIMILARITY_RULE))
        for what, reading, model in learned_readings(self.models, pieces, vectors):
            if mentions_only and isinstance(model, CharModel):
                continue  # it sees the words the patterns found reported, not used: no news
            p = reading.probability
            assessment.probability = max(assessment.probability or 0.0, p)
            self._add(assessment, p, model.block, model.warn, warn,
                      Hit(LEARNED_FAMILY, 0.0, f"{what} {p:.2f} on {reading.method}",
                          LEARNED_RULE))
        return assessment

    @staticmethod
    def _add(assessment: Assessment, value: float, block: float, warn: float,
             warn_weight: float, hit: Hit) -> None:
        weight = 1.0 if value >= block else warn_weight if value >= warn else 0.0
        if weight:
            assessment.hits.append(replace(hit, weight=weight))


# -- retrieved passages -----------------------------------------------------------------------

_HTML_COMMENT = re.compile(r"<!--[\s\S]*?(?:-->|$)")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_CODE_COMMENT_LINE = re.compile(r"^\s*(?:#|//|--|;|%)\s")


def passage_blocks(text: str) -> list[tuple[int, int]]:
    """Spans of HTML comments, runs of code-comment lines, and paragraphs."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for m in _HTML_COMMENT.finditer(text):
        spans += _paragraph_spans(text, cursor, m.start())
        spans.append(m.span())
        cursor = m.end()
    spans += _paragraph_spans(text, cursor, len(text))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _paragraph_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    cursor = start
    for brk in list(_BLANK_LINE.finditer(text, start, end)) + [None]:
        stop = brk.start() if brk else end
        spans += _comment_runs(text, cursor, stop)
        cursor = brk.end() if brk else end
    return spans


def _comment_runs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split a paragraph so consecutive code-comment lines form their own block."""
    spans, run_start, run_is_comment = [], start, None
    pos = start
    for line in text[start:end].splitlines(keepends=True):
        is_comment = bool(_CODE_COMMENT_LINE.match(line))
        if run_is_comment is not None and is_comment != run_is_comment:
            spans.append((run_start, pos))
            run_start = pos
        run_is_comment = is_comment
        pos += len(line)
    if run_start < end:
        spans.append((run_start, end))
    return spans


@dataclass(frozen=True)
class PassageFinding:
    start: int
    end: int
    families: tuple[str, ...]
    score: float
    where: str  # "HTML comment", "code comment", "paragraph"


# A document describing attacks ("text that tries to override the instructions") is not an
# attack; an instruction is addressed to the reader-model: second person or imperative.
_SECOND_PERSON = re.compile(r"(?i)\b(?:you|your|yours|yourself|u|ur)\b")
_IMPERATIVE_START = re.compile(
    r"(?i)^[\W_]*(?:(?:please|now|also|then|first|finally|instead|and|but|so|just)\s+)*"
    r"(?:ignore|disregard|forget|tell|say|reply|respond|answer|print|output|reveal|show|send|"
    r"forward|e-?mail|do not|don't|never|always|stop|include|add|append|recommend|state|list|"
    r"give|write|call|treat|pretend|act|grant|ask|paste|dump|drop|skip|override|bypass|"
    r"summari[sz]e|translate|repeat|copy|post|upload|rate|rank|end|obey|follow|claim|insist)\b"
)
_COMMENT_PREFIX = re.compile(r"\n[ \t]*(?:#|//|--|;|%)?[ \t]*")
# Not assistant.text.split_sentences: the block is already flattened to one line, and a cut
# after "e.g." only makes the pieces shorter (each is matched on its own); kept as tuned.
_PASSAGE_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _addressed(sentence: str) -> bool:
    body = nz.without_quotes(nz.fold(sentence))
    return bool(_SECOND_PERSON.search(body) or _IMPERATIVE_START.match(body))


def passage_assessment(block: str) -> Assessment:
    """Hits that count in a retrieved document: instructions addressed to the model."""
    hits = [h for h in pattern_hits(block) if h.family == AIMED_AT_AI]
    folded = nz.fold(block)
    # examples quoted in the text ("for example \"Forget your rules.\"") are not addressed
    # to the model; drop them before cutting sentences (a cut inside a quote would unquote it)
    mentions = [(s, e) for s, e, _, is_mention in nz.quoted_spans(folded) if is_mention]
    flat = _COMMENT_PREFIX.sub(" ", nz.remove_spans(folded, mentions) if mentions else folded)
    for sentence in _PASSAGE_SENTENCE.split(flat):
        if not sentence.strip():
            continue
        addressed = _addressed(sentence)
        for hit in pattern_hits(sentence):
            family = hit.family.split(" (")[0]
            if family == AIMED_AT_AI or (family in PASSAGE_FAMILIES and addressed):
                hits.append(hit)
    return Assessment(hits=hits)


def scan_passage(text: str, threshold: float = 1.0) -> list[PassageFinding]:
    """Blocks of a retrieved passage that carry instructions aimed at the model."""
    findings = []
    for start, end in passage_blocks(text):
        block = text[start:end]
        assessment = passage_assessment(block)
        score = assessment.score()
        if score >= threshold:
            stripped = block.lstrip()
            where = (
                "HTML comment" if stripped.startswith("<!--")
                else "code comment" if _CODE_COMMENT_LINE.match(stripped)
                else "paragraph"
            )
            findings.append(
                PassageFinding(start, end, tuple(assessment.top_families()), score, where)
            )
    return findings


def remove_spans(text: str, spans: Sequence[tuple[int, int]]) -> str:
    return re.sub(r"\n{3,}", "\n\n", nz.remove_spans(text, spans, filler="")).strip()


def describe_findings(findings: Sequence[PassageFinding]) -> str:
    """For the log: how many blocks, where, and which families (never the text itself)."""
    where = sorted({f.where for f in findings})
    families = sorted({fam for f in findings for fam in f.families})
    return (f"{len(findings)} block(s) with instructions aimed at the model "
            f"({', '.join(where)}: {', '.join(families)})")


# -- scores of a user message -------------------------------------------------------------------

# Injection score from other families above which a harmful request adds to it.
JAILBREAK_FRAMING = 0.3
_NOT_HARMFUL = frozenset({HARMFUL_FAMILY})


def harmful_score(assessment: Assessment) -> float:
    return assessment.family_scores().get(HARMFUL_FAMILY, 0.0)


def injection_score(assessment: Assessment) -> float:
    """The attack families' summed score; a harmful request counts too when it comes inside
    a jailbreak framing."""
    score = assessment.score(_NOT_HARMFUL)
    if score >= JAILBREAK_FRAMING:
        score += harmful_score(assessment)
    return score


def describe_injection(assessment: Assessment, score: float) -> str:
    """For the log and the decision: the top families, the score and the undone obfuscations."""
    families = ", ".join(assessment.top_families(exclude=_NOT_HARMFUL))
    methods = assessment.methods()
    how = f"; matched after undoing {', '.join(methods)}" if methods else ""
    return f"{families} (score {score:.1f}){how}"
