"""The labelled set for the support check: (claim, passage, label) items built from the handbook.

Each handbook sentence yields claims of known truth against its own passage:

- supported: the sentence itself, two neighbours fused, a parenthesis dropped, and a paraphrase
  written once by the chat model (`evals/data/support-paraphrases.jsonl`, checked by reading);
- contradicted: a negation added or removed, an antonym, a number changed, two terms swapped
  (the reversed definition) or one replaced by its contrasting term, and a term replaced by a
  sibling term of the same passage ("semantic cache" -> "exact-match cache"; appended after
  the rest, so the earlier items and their ids are unchanged);
- not addressed: a sentence of another document, and a "chimera" that keeps this sentence's
  subject but borrows another document's predicate (a fluent claim in the passage's words).

Held out by source document: every fourth handbook file (sorted) is `heldout`, the rest `train`.
`python -m evals.support_set` writes `evals/data/support-v1.jsonl`.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.offline import enforce_offline
from assistant.text import content_words, split_sentences
from knowledge.chunking import chunk_text

HANDBOOK = Path(__file__).resolve().parents[1] / "knowledge" / "handbook"
DATA = Path(__file__).resolve().parent / "data"
FROZEN_PATH = DATA / "support-v1.jsonl"
PARAPHRASES_PATH = DATA / "support-paraphrases.jsonl"
SEED = 20261130

SUPPORTED, CONTRADICTED, NOT_ADDRESSED = "supported", "contradicted", "not_addressed"
LABELS = (SUPPORTED, CONTRADICTED, NOT_ADDRESSED)


@dataclass
class SupportItem:
    id: str
    split: str  # train | heldout (by source document)
    source: str
    passage: str
    claim: str
    label: str
    kind: str


# Pairs of contrasting words; either side replaces the other ("higher" <-> "lower").
ANTONYMS = [
    ("increase", "decrease"), ("increases", "decreases"), ("higher", "lower"),
    ("more", "less"), ("larger", "smaller"), ("faster", "slower"), ("before", "after"),
    ("always", "never"), ("first", "last"), ("enable", "disable"), ("enables", "disables"),
    ("adds", "removes"), ("better", "worse"), ("minimum", "maximum"), ("most", "least"),
    ("above", "below"), ("high", "low"), ("many", "few"), ("long", "short"), ("true", "false"),
    ("same", "different"), ("frozen", "updated"), ("allow", "block"), ("allows", "blocks"),
    ("accept", "reject"), ("small", "large"), ("positive", "negative"), ("correct", "wrong"),
    ("safe", "unsafe"), ("required", "optional"), ("cheap", "expensive"), ("easy", "hard"),
    ("reduces", "raises"), ("improves", "hurts"), ("similar", "unrelated"), ("with", "without"),
]
# Contrasting terms of the handbook's subjects: both present -> swapped, one -> replaced.
TERMS = [
    ("context-free", "context-dependent"), ("QLoRA", "LoRA"), ("BLEU", "ROUGE"),
    ("precision", "recall"), ("input", "output"), ("encoder", "decoder"),
    ("training", "inference"), ("question", "answer"), ("retrieval", "generation"),
    ("prefix tuning", "prompt tuning"), ("MMLU", "HELM"), ("hit", "miss"),
    ("adapter", "base model"), ("reference", "candidate"), ("embedding", "keyword"),
    ("fine-tuning", "prompting"),
    ("false positive", "false negative"), ("dev", "test"), ("bigram", "unigram"),
]
_NEGATABLE = re.compile(r"\b(is|are|was|were|does|do|will|should|must|has|have|can)\b(?! not)")
_NEGATED = [
    (re.compile(r"\b(is|are|was|were|does|do|will|should|must|has|have) not\b"), r"\1"),
    (re.compile(r"\bcannot\b"), "can"),
    (re.compile(r"\bnever\b"), "always"), (re.compile(r"\bno longer\b"), "still"),
]
_NUMBER = re.compile(r"(?<![\w.\[])(\d+(?:\.\d+)?)(?![\w\]])")
_PARENTHESIS = re.compile(r"\s*\([^()]{3,120}\)")
_COPULA = re.compile(r"^(.{3,60}?)\s+(is|are)\s+(.{15,})$")


def _word_pattern(word: str) -> re.Pattern:
    return re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])", re.IGNORECASE)


def _match_case(template: str, word: str) -> str:
    return word[0].upper() + word[1:] if template[:1].isupper() else word


def negate(sentence: str) -> tuple[str, str] | None:
    for pattern, repl in _NEGATED:
        if pattern.search(sentence):
            return pattern.sub(repl, sentence, count=1), "negation_removed"
    m = _NEGATABLE.search(sentence)
    if not m:
        return None
    negated = "cannot" if m.group(1) == "can" else f"{m.group(1)} not"
    return sentence[: m.start()] + negated + sentence[m.end():], "negation_added"


def replace_pair(sentence: str, pairs, swapped_kind: str, replaced_kind: str,
                 rng: random.Random) -> tuple[str, str] | None:
    """Swap two contrasting words when both occur, else replace the one that does."""
    candidates = []
    for a, b in pairs:
        pa, pb = _word_pattern(a), _word_pattern(b)
        ma, mb = pa.search(sentence), pb.search(sentence)
        if ma and mb:
            candidates.append(("swap", a, b, ma, mb))
        elif ma or mb:
            candidates.append(("replace", a, b, ma, mb))
    swaps = [c for c in candidates if c[0] == "swap"]
    if swaps:
        _, a, b, ma, mb = rng.choice(swaps)
        first, second = sorted((ma, mb), key=lambda m: m.start())
        swapped = (sentence[: first.start()] + _match_case(first.group(), second.group().lower()
                   if not second.group().isupper() else second.group())
                   + sentence[first.end(): second.start()]
                   + _match_case(second.group(), first.group().lower()
                                 if not first.group().isupper() else first.group())
                   + sentence[second.end():])
        return swapped, swapped_kind
    if not candidates:
        return None
    _, a, b, ma, mb = rng.choice(candidates)
    m, other = (ma, b) if ma else (mb, a)
    word = other if other.isupper() or any(ch.isupper() for ch in other[1:]) else \
        _match_case(m.group(), other)
    return sentence[: m.start()] + word + sentence[m.end():], replaced_kind


def change_number(sentence: str, rng: random.Random) -> tuple[str, str] | None:
    numbers = list(_NUMBER.finditer(sentence))
    if not numbers:
        return None
    m = rng.choice(numbers)
    value = m.group(1)
    if "." in value:
        new = f"{float(value) * rng.choice((2, 0.5, 3)):g}"
    else:
        n = int(value)
        new = str(rng.choice([n * 2, n + 3, max(1, n // 2) if n > 2 else n + 7]))
    if new == value:
        new = str(int(float(value)) + 5)
    return sentence[: m.start()] + new + sentence[m.end():], "number_changed"


# Two adjacent words with nothing but a space between them; overlapping matches.
_WORD_PAIR = re.compile(r"(?=(?<![\w+-])([A-Za-z][\w+-]*) ([A-Za-z][\w+-]*)(?![\w+-]))")
_NOT_A_HEAD = frozenset({"whether", "that", "which", "what", "how", "when", "where", "why"})


def _word_pairs(text: str) -> list[tuple[str, str, int]]:
    """(modifier, head, offset) of adjacent content words: "semantic cache"."""
    return [(m.group(1).lower(), m.group(2).lower(), m.start(1))
            for m in _WORD_PAIR.finditer(text)
            if content_words(m.group(1)) and content_words(m.group(2))
            and len(m.group(2)) >= 4 and m.group(2).lower() not in _NOT_A_HEAD]


def _related(a: str, b: str) -> bool:
    """"embedding" and "embedding-based" name the same thing."""
    return a.startswith(b) or b.startswith(a)


def _fix_article(before: str, word: str) -> str:
    """"a" or "an" before the new word, as its first letter asks."""
    article = "an" if word[:1] in "aeiou" else "a"
    return re.sub(r"\b([Aa])n? $", lambda m: (article if m.group(1) == "a" else
                                                article.capitalize()) + " ", before)


def sibling_swap(sentence: str, passage: str) -> str | None:
    """The sentence with its first term ("semantic cache") replaced by a sibling term of the
    passage with the same head ("exact-match cache"); terms are word pairs the passage uses at
    least twice, and the sibling must be absent from the sentence."""
    counts = Counter((m, h) for m, h, _ in _word_pairs(passage))
    terms = {pair for pair, n in counts.items() if n >= 2}
    words = set(re.findall(r"[\w+-]+", sentence.lower()))
    for modifier, head, start in _word_pairs(sentence):
        if (modifier, head) not in terms:
            continue
        siblings = sorted(m for m, h in terms
                          if h == head and m not in words and not _related(m, modifier))
        if siblings:
            end = start + len(modifier)
            before = _fix_article(sentence[:start], siblings[0])
            return before + _match_case(sentence[start:end], siblings[0]) + sentence[end:]
    return None


def fuse(first: str, second: str) -> str:
    return first.rstrip(" .") + "; " + second[0].lower() + second[1:]


def chimera(sentence: str, other: str) -> str | None:
    """This sentence's subject with another sentence's predicate ("BLEU is <something else>")."""
    a, b = _COPULA.match(sentence), _COPULA.match(other)
    if not a or not b or a.group(1).lower() == b.group(1).lower():
        return None
    return f"{a.group(1)} {a.group(2)} {b.group(3)}"


def _claim_sentences(passage: str) -> list[str]:
    out = []
    for s in split_sentences(passage):
        text = s.claim.strip()
        if (len(content_words(text)) >= 5 and len(text) <= 300 and " > " not in text
                and not text.startswith(("-", "|"))
                and "`" not in text and text[-1:] in ".!?" and text.count('"') % 2 == 0):
            out.append(text)
    return out


def handbook_passages() -> list[tuple[str, str]]:
    """(source file, chunk text) for every chunk with at least one usable claim sentence."""
    out = []
    for path in sorted(HANDBOOK.glob("*.md")):
        for chunk in chunk_text(path.read_text(encoding="utf-8")):
            if _claim_sentences(chunk.text):  # the heading as the guard sees it
                out.append((path.name, f"{chunk.heading}. {chunk.text}"))
    return out


def heldout_sources() -> set[str]:
    files = sorted(p.name for p in HANDBOOK.glob("*.md"))
    return {name for i, name in enumerate(files) if i % 4 == 3}


def load_paraphrases(path: Path = PARAPHRASES_PATH) -> dict[str, str]:
    if not path.exists():
        return {}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return {r["sentence"]: r["paraphrase"] for r in rows if r.get("ok", True)}


def build_support_set(paraphrases: dict[str, str] | None = None,
                      seed: int = SEED) -> list[SupportItem]:
    rng = random.Random(seed)
    paraphrases = load_paraphrases() if paraphrases is None else paraphrases
    held = heldout_sources()
    passages = handbook_passages()
    items: list[SupportItem] = []

    def add(source: str, passage: str, claim: str, label: str, kind: str) -> None:
        split = "heldout" if source in held else "train"
        items.append(SupportItem(f"s{len(items):05d}", split, source, passage, claim, label,
                                 kind))

    for source, passage in passages:
        sentences = _claim_sentences(passage)
        same_split = [(s, p) for s, p in passages if (s in held) == (source in held)]
        others = [p for s, p in same_split if s != source]
        for i, sentence in enumerate(sentences):
            add(source, passage, sentence, SUPPORTED, "verbatim")
            if sentence in paraphrases:
                add(source, passage, paraphrases[sentence], SUPPORTED, "paraphrase")
            if i + 1 < len(sentences) and rng.random() < 0.3:
                add(source, passage, fuse(sentence, sentences[i + 1]), SUPPORTED, "fused")
            shorter = _PARENTHESIS.sub("", sentence)
            if shorter != sentence and len(content_words(shorter)) >= 4:
                add(source, passage, shorter, SUPPORTED, "parenthesis_dropped")
            for make in (lambda s: negate(s),
                         lambda s: replace_pair(s, TERMS, "terms_swapped", "term_replaced", rng),
                         lambda s: replace_pair(s, ANTONYMS, "antonyms_swapped", "antonym", rng),
                         lambda s: change_number(s, rng)):
                made = make(sentence)
                if made and made[0] != sentence:
                    add(source, passage, made[0], CONTRADICTED, made[1])
            if others and rng.random() < 0.5:
                other_sentences = _claim_sentences(rng.choice(others))
                add(source, passage, rng.choice(other_sentences), NOT_ADDRESSED,
                    "other_document")
                mixed = chimera(sentence, rng.choice(other_sentences))
                if mixed:
                    add(source, passage, mixed, NOT_ADDRESSED, "chimera")
    for source, passage in passages:
        for sentence in _claim_sentences(passage):
            for claim, kind in ((sentence, "sibling_swapped"),
                                (paraphrases.get(sentence), "sibling_swapped_reworded")):
                swapped = sibling_swap(claim, passage) if claim else None
                if swapped:
                    add(source, passage, swapped, CONTRADICTED, kind)
    return items


def write_support_set(items: list[SupportItem], path: Path = FROZEN_PATH) -> Path:
    path.write_text("".join(json.dumps(asdict(i), ensure_ascii=False) + "\n" for i in items),
                    encoding="utf-8")
    return path


def load_support_set(path: Path = FROZEN_PATH, split: str | None = None) -> list[SupportItem]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    items = [SupportItem(**r) for r in rows]
    return [i for i in items if split is None or i.split == split]


if __name__ == "__main__":
    enforce_offline()  # an entry point: offline switches before anything else runs

    built = build_support_set()
    write_support_set(built)
    print(f"{len(built)} items -> {FROZEN_PATH}")
    print(Counter((i.split, i.label) for i in built))
    print(Counter(i.kind for i in built))


# Few-shot, because asked plainly the 0.5B model copies the sentence back.
PARAPHRASE_EXAMPLES = [
    ("The cache stores each answer together with the embedding of its question.",
     "Every answer is kept in the cache alongside its question's embedding."),
    ("Adapters are small, so several of them can be kept for one base model.",
     "Because an adapter takes little space, one base model can have many of them."),
]


def paraphrase_messages(sentence: str) -> list[dict]:
    messages = [{"role": "system", "content": "You restate sentences with other words and a "
                 "different structure, keeping every fact and adding none."}]
    for original, restated in PARAPHRASE_EXAMPLES:
        messages += [{"role": "user", "content": original},
                     {"role": "assistant", "content": restated}]
    return messages + [{"role": "user", "content": sentence}]


def acceptable_paraphrase(sentence: str, paraphrase: str) -> bool:
    """One sentence of similar length that is not a copy (the rest are left out of the set)."""
    ratio = len(paraphrase) / max(1, len(sentence))
    return (0.5 <= ratio <= 1.6 and paraphrase.strip(" .").lower() != sentence.strip(" .").lower()
            and len(split_sentences(paraphrase)) == 1 and ":" not in paraphrase[:12])


def write_paraphrases(generator, path: Path = PARAPHRASES_PATH, limit: int | None = None) -> int:
    """Ask the chat model for one paraphrase of each claim sentence (run once, kept in git)."""
    done = load_paraphrases(path) if path.exists() else {}
    sentences = list(dict.fromkeys(s for _, p in handbook_passages() for s in _claim_sentences(p)))
    todo = [s for s in sentences if s not in done][:limit]
    with path.open("a", encoding="utf-8") as out:
        for sentence in todo:
            paraphrase = "".join(generator.stream(paraphrase_messages(sentence), 120))
            paraphrase = paraphrase.strip().strip('"')
            row = {"sentence": sentence, "paraphrase": paraphrase,
                   "ok": acceptable_paraphrase(sentence, paraphrase)}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
    return len(todo)
