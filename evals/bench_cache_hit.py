"""A cache hit through the whole turn, as a warm app serves it, against a miss in the same run.

    python -m evals.bench_cache_hit [--runs 15]

The app's own pipeline (input guard, semantic cache, retrieval, the configured model and
output guard) in a temporary data directory: each golden train question is answered once (a
miss: retrieval, generation, checks, logging), then asked again word for word (a hit: input
guard and cache lookup, then logging). Reports the medians, server side, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from assistant.config import Settings
from assistant.pipeline import TurnRequest
from assistant.runtime import open_assistant
from knowledge.golden_sets import load_golden


def timed_turn(pipeline, question: str):
    started = time.perf_counter()
    turn = pipeline.ask(TurnRequest(question))
    return turn, (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    from assistant.offline import enforce_offline

    enforce_offline()
    home = Path(tempfile.mkdtemp(prefix="bench-cache-hit-"))
    settings = Settings.from_env().with_changes(home=home)
    settings.models_dir.parent.mkdir(parents=True, exist_ok=True)
    source_models = Settings.from_env().models_dir
    if not settings.models_dir.exists() and source_models.exists():
        settings.models_dir.symlink_to(source_models)  # the assembled model, not a copy
    pipeline = open_assistant(settings, progress=lambda m: None)
    questions = [i.question for i in load_golden("train") if i.answerable]
    misses, hits = [], []
    for question in questions:
        if len(hits) >= args.runs:
            break
        first, miss_ms = timed_turn(pipeline, question)
        if first.cache_hit or first.answer_path != "generated" or first.low_confidence:
            continue  # only answers the cache keeps can be served again
        second, hit_ms = timed_turn(pipeline, question)
        if second.cache_hit:
            misses.append(miss_ms)
            hits.append(hit_ms)
    hit, miss = statistics.median(hits), statistics.median(misses)
    print(json.dumps({"pairs": len(hits), "hit_ms_p50": round(hit, 1),
                      "miss_ms_p50": round(miss, 1), "miss_over_hit": round(miss / hit, 1)},
                     indent=2))


if __name__ == "__main__":
    main()
