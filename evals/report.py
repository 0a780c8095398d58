"""Reports of a run or a comparison: one self-contained HTML file, JSON, or a Markdown table.

The HTML has inline CSS and its plots as base64 PNGs (matplotlib, Agg backend), so it opens
anywhere with no network. Every piece of user or model text is HTML-escaped.
"""

from __future__ import annotations

import base64
import difflib
import io
import json
from html import escape
from pathlib import Path

from evals.scoring import HUNDRED_SCALE

CSS = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #1b1b1b; max-width: 1400px; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; font-size: 0.9em; }
th, td { border: 1px solid #d0d0d0; padding: 4px 8px; vertical-align: top; text-align: left; }
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.items td { max-width: 380px; word-wrap: break-word; }
.pass { color: #0b6b2b; font-weight: bold; } .fail { color: #b00020; font-weight: bold; }
ins { background: #d3f9d8; text-decoration: none; } del { background: #ffd8d8; }
.meta { color: #555; font-size: 0.85em; } img { max-width: 100%; }
pre { background: #f7f7f7; padding: 8px; overflow-x: auto; font-size: 0.85em; }
"""

SCORE_PLOTS = ("token_f1", "rouge_l", "groundedness", "citation_precision", "answer_relevance",
               "worst_case", "confidence")
PROVENANCE = ("kind", "name", "datetime_utc", "git_commit", "model", "adapter", "adapter_hash",
              "prompt_version", "kb_version", "dataset", "dataset_hash", "duration_ms")


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


# -- plots --------------------------------------------------------------------------------------


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _img(b64: str, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{b64}">'


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def metric_bars_png(metrics: dict[str, dict], title: str) -> str | None:
    """Bars of metric means (0-1 scale ones) with their 95% CIs as error bars."""
    names = [m for m, a in metrics.items()
             if m not in HUNDRED_SCALE and a.get("mean") is not None and -1 <= a["mean"] <= 1]
    if not names:
        return None
    plt = _pyplot()
    means = [metrics[m]["mean"] for m in names]
    lows = [max(0.0, metrics[m]["mean"] - metrics[m].get("low", metrics[m]["mean"]))
            for m in names]
    highs = [max(0.0, metrics[m].get("high", metrics[m]["mean"]) - metrics[m]["mean"])
             for m in names]
    fig, ax = plt.subplots(figsize=(max(5, 0.75 * len(names) + 2), 3.4))
    ax.bar(range(len(names)), means, yerr=[lows, highs], capsize=4, color="#4c72b0")
    ax.set_xticks(range(len(names)), names, rotation=35, ha="right")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_title(title)
    return _png(fig)


def histogram_png(series: dict[str, list[float]], title: str, xlabel: str) -> str | None:
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for label, values in series.items():
        ax.hist(values, bins=min(20, max(5, len(values))), alpha=0.6, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("items")
    ax.set_title(title)
    ax.legend()
    return _png(fig)


def distributions_png(per_item: list[dict]) -> str | None:
    names = [n for n in SCORE_PLOTS if any(s.get(n) is not None for s in per_item)]
    if not names:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(names), figsize=(3 * len(names), 2.8), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        values = [s[name] for s in per_item if s.get(name) is not None]
        ax.hist(values, bins=10, range=(0, 1) if name != "answer_relevance" else None,
                color="#55a868")
        ax.set_title(name, fontsize=9)
    fig.suptitle("Per-item score distributions", y=1.04)
    return _png(fig)


def wtl_png(wtl: dict) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 1.4))
    left = 0
    for key, color in (("win", "#2b8a3e"), ("tie", "#adb5bd"), ("loss", "#c92a2a")):
        ax.barh([0], [wtl[key]], left=left, color=color, label=f"{key} {wtl[key]}")
        left += wtl[key]
    ax.set_yticks([])
    ax.legend(ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.3))
    ax.set_title("Candidate vs baseline, per item (judge)")
    return _png(fig)


# -- HTML pieces --------------------------------------------------------------------------------


def word_diff_html(before: str, after: str) -> str:
    """Word-level diff: removed words in <del>, added ones in <ins>, all escaped."""
    a, b = (before or "").split(), (after or "").split()
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(escape(" ".join(a[i1:i2])))
        if op in ("delete", "replace"):
            out.append(f"<del>{escape(' '.join(a[i1:i2]))}</del>")
        if op in ("insert", "replace"):
            out.append(f"<ins>{escape(' '.join(b[j1:j2]))}</ins>")
    return " ".join(out)


def metrics_table_html(metrics: dict[str, dict]) -> str:
    rows = "".join(
        f"<tr><td>{escape(m)}</td><td class=num>{_fmt(a.get('mean'))}</td>"
        f"<td class=num>{_fmt(a.get('stderr'))}</td>"
        f"<td class=num>[{_fmt(a.get('low'))}, {_fmt(a.get('high'))}]</td>"
        f"<td class=num>{a.get('n', '')}</td></tr>"
        for m, a in metrics.items()
    )
    return ("<table><tr><th>metric</th><th>mean</th><th>std. error</th><th>95% CI</th>"
            f"<th>n</th></tr>{rows}</table>")


def kv_table_html(data: dict) -> str:
    rows = []
    for key, value in data.items():
        shown = (f"<pre>{escape(json.dumps(value, indent=1, default=str))}</pre>"
                 if isinstance(value, dict | list) else escape(_fmt(value)))
        rows.append(f"<tr><th>{escape(str(key))}</th><td>{shown}</td></tr>")
    return f"<table>{''.join(rows)}</table>"


def _scores_cell(scores: dict) -> str:
    return "<br>".join(f"{escape(k)}={escape(_fmt(v))}" for k, v in scores.items()
                       if v is not None)


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>{escape(title)}"
            f"</title><style>{CSS}</style></head><body>{body}</body></html>\n")


def _plots(summary: dict, items: list[dict]) -> list[str]:
    per_item = [i.get("scores") or {} for i in items]
    images = []
    bars = metric_bars_png(summary.get("metrics", {}), "Metric means with 95% CIs")
    if bars:
        images.append(_img(bars, "metric bars"))
    latency = histogram_png(
        {"total (ms)": [s["duration_ms"] for s in per_item if s.get("duration_ms") is not None],
         "first token (ms)": [s["first_token_ms"] for s in per_item
                              if s.get("first_token_ms") is not None]},
        "Latency", "milliseconds")
    if latency:
        images.append(_img(latency, "latency histogram"))
    dist = distributions_png(per_item)
    if dist:
        images.append(_img(dist, "score distributions"))
    return images


def plots_html(store, run_id: str) -> str:
    """A run's plots as inline images (for a page that shows them without the full report);
    empty for a comparison."""
    run = store.run(run_id)
    return "".join(_plots(run.get("summary") or {}, store.items(run_id))) if run else ""


def run_html(run: dict, items: list[dict]) -> str:
    summary = run.get("summary") or {}
    extra = {k: v for k, v in summary.items() if k != "metrics"}
    rows = []
    for item in items:
        rows.append(
            f"<tr><td>{escape(item['item_id'])}</td><td>{escape(item['question'] or '')}</td>"
            f"<td>{escape(item['reference'] or '')}</td><td>{escape(item['answer'] or '')}</td>"
            f"<td>{_scores_cell(item.get('scores') or {})}</td>"
            f"<td>{word_diff_html(item['reference'] or '', item['answer'] or '')}</td></tr>")
    body = [
        f"<h1>Eval run {escape(run['id'])}: {escape(run.get('name') or '')}</h1>",
        "<h2>Provenance</h2>", kv_table_html({k: run.get(k) for k in PROVENANCE}),
        "<h2>Summary</h2>", metrics_table_html(summary.get("metrics", {})),
        kv_table_html(extra) if extra else "",
        "<h2>Plots</h2>", *_plots(summary, items),
        "<h2>Configuration</h2>", kv_table_html(run.get("config") or {}),
        f"<h2>Items ({len(items)})</h2>",
        "<table class=items><tr><th>id</th><th>question</th><th>reference</th><th>answer</th>"
        f"<th>scores</th><th>diff (reference → answer)</th></tr>{''.join(rows)}</table>",
        "<h2>Metric versions</h2>", kv_table_html(run.get("metric_versions") or {}),
    ]
    return _page(f"Eval run {run['id']}", "\n".join(body))


def comparison_html(comparison: dict, baseline: dict, candidate: dict,
                    baseline_items: list[dict], candidate_items: list[dict]) -> str:
    verdict = comparison["verdict"]
    by_id = {i["item_id"]: i for i in candidate_items}
    outcome = verdict.get("outcomes", {})
    rows = []
    for base in baseline_items:
        cand = by_id.get(base["item_id"], {})
        rows.append(
            f"<tr><td>{escape(base['item_id'])}</td><td>{escape(base['question'] or '')}</td>"
            f"<td>{escape(base['reference'] or '')}</td>"
            f"<td>{escape(base['answer'] or '')}</td><td>{escape(cand.get('answer') or '')}</td>"
            f"<td>{escape(str(outcome.get(base['item_id'], '')))}</td>"
            f"<td>{_scores_cell(base.get('scores') or {})}</td>"
            f"<td>{_scores_cell(cand.get('scores') or {})}</td>"
            f"<td>{word_diff_html(base['answer'] or '', cand.get('answer') or '')}</td></tr>")
    passed = verdict["verdict"]["passed"]
    status = ('<span class=pass>PASS</span>' if passed else
              f"<span class=fail>FAIL: regressions in "
              f"{escape(', '.join(verdict['verdict']['regressions']))}</span>")
    images = [_img(wtl_png(verdict["win_tie_loss"]), "win tie loss")]
    bars = metric_bars_png(
        {m: {"mean": d["delta"], "low": d["low"], "high": d["high"]}
         for m, d in verdict["deltas"].items()
         if m not in ("duration_ms", "first_token_ms", "completion_tokens")},
        "Candidate − baseline, with paired bootstrap 95% CIs")
    if bars:
        images.append(_img(bars, "metric deltas"))
    latency = histogram_png(
        {f"{side} total (ms)": [i["scores"]["duration_ms"] for i in side_items
                                if i.get("scores", {}).get("duration_ms") is not None]
         for side, side_items in (("baseline", baseline_items), ("candidate", candidate_items))},
        "Latency", "milliseconds")
    if latency:
        images.append(_img(latency, "latency histogram"))
    body = [
        f"<h1>Comparison {escape(comparison['id'])}: {status}</h1>",
        f"<p class=meta>baseline {escape(baseline['id'])} ({escape(baseline.get('name') or '')})"
        f" vs candidate {escape(candidate['id'])} ({escape(candidate.get('name') or '')})</p>",
        "<h2>Verdict</h2>", comparison_table_html(verdict),
        "<h2>Win rate</h2>", kv_table_html({"win_tie_loss": verdict["win_tie_loss"],
                                            "length_controlled": verdict["length_controlled"],
                                            "judge": verdict["judge"]}),
        "<h2>Plots</h2>", *images,
        "<h2>Provenance</h2>",
        "<table><tr><th></th><th>baseline</th><th>candidate</th></tr>" + "".join(
            f"<tr><th>{k}</th><td>{escape(_fmt(baseline.get(k)))}</td>"
            f"<td>{escape(_fmt(candidate.get(k)))}</td></tr>" for k in PROVENANCE) + "</table>",
        f"<h2>Items ({len(rows)})</h2>",
        "<table class=items><tr><th>id</th><th>question</th><th>reference</th>"
        "<th>baseline answer</th><th>candidate answer</th><th>outcome</th>"
        "<th>baseline scores</th><th>candidate scores</th><th>diff</th></tr>"
        f"{''.join(rows)}</table>",
    ]
    return _page(f"Comparison {comparison['id']}", "\n".join(body))


def comparison_table_html(verdict: dict) -> str:
    details = verdict["verdict"]["details"]
    rows = []
    for metric, d in verdict["deltas"].items():
        gate = details.get(metric)
        state = ("regression" if metric in verdict["verdict"]["regressions"] else
                 "improvement" if metric in verdict["verdict"]["improvements"] else
                 "ok" if gate else "not gated")
        rows.append(
            f"<tr><td>{escape(metric)}</td><td class=num>{_fmt(d.get('baseline'))}</td>"
            f"<td class=num>{_fmt(d.get('candidate'))}</td><td class=num>{_fmt(d['delta'])}</td>"
            f"<td class=num>[{_fmt(d['low'])}, {_fmt(d['high'])}]</td>"
            f"<td class=num>{_fmt(gate['margin']) if gate else '–'}</td>"
            f"<td class=num>{d['n']}</td><td>{state}</td></tr>")
    return ("<table><tr><th>metric</th><th>baseline</th><th>candidate</th><th>delta</th>"
            "<th>95% CI</th><th>margin</th><th>n</th><th>state</th></tr>"
            f"{''.join(rows)}</table>")


# -- Markdown and JSON --------------------------------------------------------------------------


def run_markdown(run: dict) -> str:
    summary = run.get("summary") or {}
    lines = [f"### {run.get('kind')} run `{run['id']}` ({run.get('name')})", "",
             "| metric | mean | 95% CI | n |", "|---|---:|---:|---:|"]
    for metric, a in summary.get("metrics", {}).items():
        lines.append(f"| {metric} | {_fmt(a.get('mean'))} | "
                     f"[{_fmt(a.get('low'))}, {_fmt(a.get('high'))}] | {a.get('n', '')} |")
    for name, score in (summary.get("corpus") or {}).items():
        signature = score["signature"].replace("|", "\\|")
        lines.append(f"| corpus {name} | {_fmt(score['score'])} | `{signature}` | |")
    scalars = {k: v for k, v in (summary.get("overview") or {}).items()
               if not isinstance(v, dict | list)}
    scalars.update({k: ", ".join(f"{key}={_fmt(val)}" for key, val in v.items()) or "–"
                    for k, v in (summary.get("overview") or {}).items()
                    if isinstance(v, dict) and not any(isinstance(x, dict) for x in v.values())})
    if summary.get("calibration"):
        scalars["calibration_ece"] = summary["calibration"].get("ece")
    if scalars:
        lines += ["", "| | |", "|---|---:|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in scalars.items()]
    if summary.get("per_subject"):
        lines += ["", "| subject | accuracy | std. error | n |", "|---|---:|---:|---:|"]
        lines += [f"| {s} | {_fmt(a['mean'])} | {_fmt(a['stderr'])} | {a['n']} |"
                  for s, a in summary["per_subject"].items() if a]
    return "\n".join(lines)


def comparison_markdown(comparison: dict) -> str:
    verdict = comparison["verdict"]
    v = verdict["verdict"]
    wtl = verdict["win_tie_loss"]
    lines = [
        f"### Comparison `{comparison['id']}`: "
        + ("PASS" if v["passed"] else f"FAIL ({', '.join(v['regressions'])})"), "",
        f"win/tie/loss {wtl['win']}/{wtl['tie']}/{wtl['loss']}, win rate "
        f"{wtl['win_rate']:.3f}, length-controlled "
        f"{verdict['length_controlled']['lc_win_rate']:.3f}", "",
        "| metric | baseline | candidate | delta | 95% CI | margin | state |",
        "|---|---:|---:|---:|---:|---:|---|"]
    for metric, d in verdict["deltas"].items():
        gate = v["details"].get(metric)
        state = ("**regression**" if metric in v["regressions"] else
                 "improvement" if metric in v["improvements"] else "ok" if gate else "not gated")
        lines.append(f"| {metric} | {_fmt(d.get('baseline'))} | {_fmt(d.get('candidate'))} | "
                     f"{_fmt(d['delta'])} | [{_fmt(d['low'])}, {_fmt(d['high'])}] | "
                     f"{_fmt(gate['margin']) if gate else '–'} | {state} |")
    return "\n".join(lines)


def run_json(run: dict, items: list[dict]) -> str:
    return json.dumps({"run": run, "items": items}, ensure_ascii=False, indent=2, default=str)


# -- from the store -----------------------------------------------------------------------------


def render(store, some_id: str, fmt: str = "html") -> str:
    """A run's or a comparison's report in html, json or md."""
    run = store.run(some_id)
    if run is not None:
        items = store.items(some_id)
        return {"html": lambda: run_html(run, items), "json": lambda: run_json(run, items),
                "md": lambda: run_markdown(run)}[fmt]()
    comparison = store.comparison(some_id)
    if comparison is None:
        raise KeyError(f"no run or comparison with id {some_id}")
    if fmt == "json":
        return json.dumps(comparison, ensure_ascii=False, indent=2, default=str)
    if fmt == "md":
        return comparison_markdown(comparison)
    base_id, cand_id = comparison["baseline_run_id"], comparison["candidate_run_id"]
    return comparison_html(comparison, store.run(base_id), store.run(cand_id),
                           store.items(base_id), store.items(cand_id))


def write_report(store, some_id: str, out: Path | None = None, fmt: str = "html") -> Path:
    """Write the report (default: next to the store, reports/<id>.<fmt>) and return its path."""
    out = Path(out) if out else Path(store.path).parent / "reports" / f"{some_id}.{fmt}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(store, some_id, fmt), encoding="utf-8")
    return out
