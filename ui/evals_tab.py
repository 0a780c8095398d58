"""The "Evals" tab: stored eval runs and comparisons, their summaries and HTML reports.

Thin: all it shows comes from evals.store and evals.report. Call build_evals_tab() inside an
open `gr.Tab("Evals")` context.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import gradio as gr

from evals.report import render, write_report
from evals.store import EvalStore

HEADERS = ["id", "time (UTC)", "kind", "name", "model", "adapter", "headline"]


def runs_table(store: EvalStore, limit: int = 100) -> list[list[str]]:
    rows = []
    for run in store.runs(limit=limit):
        metrics = (run.get("summary") or {}).get("metrics", {})
        headline = ", ".join(f"{m} {a['mean']:.3f}" for m, a in list(metrics.items())[:3])
        rows.append([run["id"], run["datetime_utc"][:19], run["kind"], run["name"] or "",
                     run["model"] or "", run["adapter"] or "", headline])
    for c in store.comparisons(limit=limit):
        passed = "PASS" if c["verdict"]["verdict"]["passed"] else "FAIL"
        rows.append([c["id"], c["datetime_utc"][:19], "comparison", passed, "", "",
                     f"{c['baseline_run_id']} → {c['candidate_run_id']}"])
    return rows


def show(store: EvalStore, some_id: str | None):
    """(summary markdown, report iframe html, report file) for a run or comparison id."""
    if not some_id:
        return "Select a run.", "", None
    try:
        summary = render(store, some_id, "md")
        path = write_report(store, some_id)
    except KeyError:
        return f"No run or comparison with id `{escape(some_id)}`.", "", None
    frame = (f'<iframe title="Eval report" style="width:100%;height:900px;border:0" '
             f'srcdoc="{escape(path.read_text(encoding="utf-8"), quote=True)}"></iframe>')
    return summary, frame, str(path)


def build_evals_tab(store_path: Path) -> None:
    store = EvalStore(Path(store_path))

    def refresh():
        rows = runs_table(store)
        return gr.update(value=rows), gr.update(choices=[r[0] for r in rows])

    rows = runs_table(store)
    with gr.Row():
        refresh_button = gr.Button("Refresh", scale=0)
        choice = gr.Dropdown(label="Run or comparison", choices=[r[0] for r in rows],
                             value=None, allow_custom_value=True)
    table = gr.Dataframe(headers=HEADERS, value=rows, interactive=False,
                         label="Eval runs (newest first)")
    summary = gr.Markdown()
    download = gr.File(label="HTML report")
    report = gr.HTML()

    def pick(evt: gr.SelectData):
        row = evt.row_value if evt is not None else None
        return row[0] if row else None

    refresh_button.click(refresh, outputs=[table, choice])
    table.select(pick, outputs=choice)
    choice.change(lambda some_id: show(store, some_id), inputs=choice,
                  outputs=[summary, report, download])
