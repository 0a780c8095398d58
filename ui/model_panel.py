"""Which model answers: the base model and the live LoRA adapter, the eval comparison that put
the adapter live, and what `assistant finetune promote` asks of a candidate to replace it."""

from __future__ import annotations

from pathlib import Path

from assistant.finetune.adapters import metadata
from evals.compare import DEFAULT_MARGINS
from evals.promote import HARD_GATE, TARGET_METRICS

# The deltas worth a line on the page; the full table is in the adapter's eval report.
SHOWN_DELTAS = ("judge", "answered_wrong", "refusal_correct", "cites_gold_source",
                "groundedness", "token_f1")


def _deltas_table(deltas: dict) -> list[str]:
    lines = ["| metric | base | with adapter | delta (95% CI) |", "|---|---:|---:|---|"]
    for metric in SHOWN_DELTAS:
        d = deltas.get(metric)
        if d:
            lines.append(f"| {metric} | {d['baseline']:.3f} | {d['candidate']:.3f} | "
                         f"{d['delta']:+.3f} ({d['low']:+.3f} .. {d['high']:+.3f}) |")
    return lines


def adapter_comparison(adapter_dir: Path | None) -> list[str]:
    """How the live adapter compared with what it replaced, from its promotion record."""
    if adapter_dir is None:
        return ["No adapter is live: the base model answers."]
    promotion = metadata(adapter_dir).get("promotion")
    if not promotion:
        return [f"Adapter `{adapter_dir.name}` was made live by hand: it has no gate result."]
    wtl = promotion.get("win_tie_loss") or {}
    lines = [f"Adapter `{adapter_dir.name}` went live through the gate against "
             f"{promotion.get('against') or 'the base model'}: {promotion.get('why')}."]
    if wtl:
        lines.append(f"Win/tie/loss {wtl['win']}/{wtl['tie']}/{wtl['loss']} over {wtl['n']} "
                     f"questions (win rate {wtl['win_rate']:.2f}).")
    return lines + ["", *_deltas_table(promotion.get("deltas") or {})]


def promotion_rule() -> str:
    gated = ", ".join(f"{m} \u2212{DEFAULT_MARGINS[m]}" for m in TARGET_METRICS
                      if m in DEFAULT_MARGINS)
    return (f"**To replace it**, `assistant finetune promote NAME` replays the golden test "
            f"questions with the live configuration and with the candidate. The candidate goes "
            f"live only if no metric's 95% CI falls below its tolerated drop ({gated}, ...), "
            f"at least one of {', '.join(TARGET_METRICS)} improves with its whole CI above "
            f"zero, and {HARD_GATE} does not rise at all.")


def model_markdown(generator, adapters_dir: Path) -> str:
    adapter_dir = getattr(generator, "adapter_dir", None) if generator.adapter else None
    if generator.adapter and (adapter_dir is None or not Path(adapter_dir).is_dir()):
        adapter_dir = Path(adapters_dir) / generator.adapter
    runtime = getattr(generator, "runtime", "")
    lines = ["### The live model", "",
             f"Base model **{generator.name}** ({runtime}); LoRA adapter "
             f"**{generator.adapter or 'none'}**.", "",
             *adapter_comparison(Path(adapter_dir) if adapter_dir else None), "",
             promotion_rule()]
    return "\n".join(lines)
