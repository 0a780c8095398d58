"""Scoring answers to the reading set (see evals/reading.py for the rules), running a
generator over it, and summarising or comparing runs."""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable

from assistant.yes_no import is_yes_no_question
from evals.reading_set import ReadingItem, item_messages, prompt_question
from evals.reading_text import (
    MAGNITUDES,
    answer_tokens,
    cited_numbers,
    content_words,
    sentence_spans,
    stop_stems,
    strip_markers,
)
from evals.stats import bootstrap_ci, paired_bootstrap_delta

# Scoring thresholds for short answers (validated on the hand-judged cases in the tests).
# F1 of informative words (see judge_short) with the best reference; above one half, because
# two shared words of four on each side (0.5) is as often a coincidence as an answer.
F1_THRESHOLD = 0.55
RECALL_THRESHOLD = 0.8  # share of a reference's informative words found in a verbose answer
# An answer copying this many passage tokens in a row is a recital: only its first sentence
# is judged (a dump of the passage would otherwise "contain" the answer wherever it is).
DUMP_RUN_TOKENS = 40


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
    return {t for t in words if t in MAGNITUDES or any(c.isdigit() for c in t)}


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
        return [t for t in words if t not in asked and t not in stop_stems()]

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


def generate(generator, messages: list[dict], max_new_tokens: int, yes_no: bool = False) -> str:
    return "".join(generator.stream(messages, max_new_tokens=max_new_tokens,
                                    yes_no=yes_no)).strip()


def run_reading(generator, items: list[ReadingItem], max_new_tokens: int = 96,
                on_result: Callable[[dict], None] | None = None) -> list[dict]:
    """One greedy answer per item, scored; ``on_result`` sees each row as it is done."""
    results = []
    for item in items:
        started = time.perf_counter()
        # As the pipeline asks it: the question's form decides, not the item's label.
        answer = generate(generator, item_messages(item), max_new_tokens,
                          yes_no=is_yes_no_question(prompt_question(item)))
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

