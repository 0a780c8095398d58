"""The gate: a candidate adapter goes live only if the eval suite says it is better.

Both the live configuration (base model or current adapter) and the candidate replay the same
items (the golden test split, optionally plus recent logged questions); the eval suite compares
them with paired bootstrap CIs. Promotion needs no metric to regress beyond its margin AND at
least one target metric to improve (its whole CI above zero).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click

from assistant.config import Settings
from assistant.finetune.adapters import BASE_MODEL, live_adapter, metadata, set_live
from assistant.finetune.cli import convert_for_llama_cpp, fail
from assistant.log import ConversationLog
from assistant.runtime import hf_model_dir
from evals.compare import compare_stored, parse_margins
from evals.replay import build_pipeline, logged_items, record_replay, replay, run_info
from evals.scoring import embedder
from evals.store import EvalStore
from knowledge.golden_sets import dataset_hash, load_golden

TARGET_METRICS = ("judge", "refusal_correct", "cites_gold_source", "token_f1", "groundedness",
                  "answered_wrong")
# An adapter that answers more questions wrongly is never promoted, whatever else improved.
HARD_GATE = "answered_wrong"


@dataclass
class GateResult:
    promoted: bool
    why: str
    comparison_id: str
    baseline_run_id: str
    candidate_run_id: str
    verdict: dict


def decide(verdict: dict, targets=TARGET_METRICS) -> tuple[bool, str]:
    gate = verdict["verdict"]
    wrong = verdict.get("deltas", {}).get(HARD_GATE, {})
    if (wrong.get("delta") or 0.0) > 0:
        return False, (f"answers more questions wrongly ({HARD_GATE} "
                       f"{wrong['delta']:+.3f})")
    if not gate["passed"]:
        return False, "regressed beyond the margin: " + ", ".join(gate["regressions"])
    improved = [m for m in gate["improvements"] if m in targets]
    if not improved:
        return False, "no target metric improved (" + ", ".join(targets) + ")"
    return True, "improved: " + ", ".join(improved)


def replay_run(settings: Settings, adapter: str, items, dataset: str, store, name: str) -> str:
    pipeline = build_pipeline(settings.with_changes(adapter=adapter))
    started = time.monotonic()
    results = replay(pipeline, items)
    info = run_info(pipeline, "replay", name, dataset, dataset_hash(items))
    return record_replay(store, info, results, embedder(), k=settings.top_k,
                         duration_ms=int((time.monotonic() - started) * 1000))


def gate(settings: Settings, candidate: str, items, dataset: str, store,
         baseline_run_id: str | None = None, margins: dict | None = None,
         candidate_run_id: str | None = None) -> GateResult:
    live = live_adapter(settings.adapters_dir) or BASE_MODEL
    if baseline_run_id is None:
        baseline_run_id = replay_run(settings, live, items, dataset, store,
                                     f"gate baseline ({live})")
    if candidate_run_id is None:
        candidate_run_id = replay_run(settings, candidate, items, dataset, store,
                                      f"gate candidate ({candidate})")
    elif store.run(candidate_run_id)["adapter"] != candidate:
        raise ValueError(f"run {candidate_run_id} was not made with adapter {candidate}")
    comparison_id, verdict = compare_stored(store, baseline_run_id, candidate_run_id,
                                            margins=margins or {})
    promoted, why = decide(verdict)
    return GateResult(promoted, why, comparison_id, baseline_run_id, candidate_run_id, verdict)


def record_outcome(adapter_dir: Path, result: GateResult, live_before: str,
                   margins: dict | None = None) -> None:
    """Keep the eval results that (did not) promote the adapter in its metadata."""
    meta = metadata(adapter_dir)
    deltas = {m: {k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()}
              for m, d in result.verdict["deltas"].items()}
    meta["promotion"] = {
        "passed": result.promoted, "why": result.why, "against": live_before,
        "comparison_id": result.comparison_id, "baseline_run_id": result.baseline_run_id,
        "candidate_run_id": result.candidate_run_id,
        "margins_overridden": margins or {},
        "win_tie_loss": result.verdict["win_tie_loss"],
        "length_controlled_win_rate": result.verdict["length_controlled"].get("lc_win_rate"),
        "deltas": deltas,
    }
    (adapter_dir / "adapter_metadata.json").write_text(json.dumps(meta, indent=2))


def promote(settings: Settings, candidate: str, items, dataset: str, store,
            baseline_run_id: str | None = None, margins: dict | None = None,
            candidate_run_id: str | None = None) -> GateResult:
    adapter_dir = settings.adapters_dir / candidate
    if not (adapter_dir / "adapter_config.json").is_file():
        raise ValueError(f"no adapter named {candidate!r} in {settings.adapters_dir}")
    live_before = live_adapter(settings.adapters_dir) or BASE_MODEL
    result = gate(settings, candidate, items, dataset, store, baseline_run_id, margins,
                  candidate_run_id)
    record_outcome(adapter_dir, result, live_before, margins)
    if result.promoted:
        set_live(settings.adapters_dir, candidate, note=f"promoted: {result.why}")
    return result


@click.command("promote")
@click.argument("adapter")
@click.option("--split", default="test", show_default=True, help="golden split or JSONL path")
@click.option("--logged", "logged_n", type=int, default=0,
              help="also replay the N most recent logged questions")
@click.option("--limit", type=int, help="only the first N golden items")
@click.option("--baseline-run", help="reuse a stored replay of the live configuration")
@click.option("--candidate-run", help="reuse a stored replay made with ADAPTER")
@click.option("--margin", "margins", multiple=True, metavar="METRIC=VALUE",
              help="tolerated drop of a metric (default margins: evals.compare)")
def promote_cmd(adapter, split, logged_n, limit, baseline_run, candidate_run, margins):
    """Gate ADAPTER against the live configuration; make it live only if it is better."""
    settings = Settings.from_env()
    adapter_dir = settings.adapters_dir / adapter
    if settings.runtime == "llama.cpp" and (adapter_dir / "adapter_config.json").is_file() \
            and not (adapter_dir / "adapter.gguf").is_file():
        # The gate replays on the live runtime, which serves the adapter's GGUF form.
        convert_for_llama_cpp(adapter_dir,
                               hf_model_dir(settings, lambda m: click.echo(m, err=True)))
    items = load_golden(split)[:limit]
    dataset = f"golden:{split}"
    if logged_n:
        log = ConversationLog(settings.db_path)
        rows = [log.turn(r["id"]) for r in log.turns(limit=max(logged_n * 5, 50))]
        items += logged_items(rows, logged_n)
        dataset += f"+logged:{logged_n}"
    try:
        result = promote(settings, adapter, items, dataset, EvalStore.default(),
                         baseline_run, parse_margins(margins), candidate_run)
    except ValueError as err:
        fail(str(err))
    wtl = result.verdict["win_tie_loss"]
    click.echo(f"win/tie/loss {wtl['win']}/{wtl['tie']}/{wtl['loss']} "
               f"(win rate {wtl['win_rate']:.2f}); comparison {result.comparison_id}")
    for metric, d in sorted(result.verdict["deltas"].items()):
        click.echo(f"  {metric:<20} {d['baseline']:.3f} -> {d['candidate']:.3f} "
                   f"(delta {d['delta']:+.3f}, 95% CI {d['low']:+.3f}..{d['high']:+.3f})")
    if result.promoted:
        click.echo(f"PROMOTED {adapter}: {result.why}")
    else:
        click.echo(f"NOT promoted: {result.why}", err=True)
        sys.exit(1)
