"""The "Evals" tab: score the logged conversations, see a run's metrics and plots, compare two
runs, and see which model answers and what would replace it.

Everything it computes is the evals' own code (evals.logged, evals.compare, evals.report), the
same as `assistant eval logged` / `eval compare` print. Scoring runs in a background thread
(ui/jobs.py) that the page polls, so the chat never waits for it. Call build_evals_tab() inside
an open `gr.Tab("Evals")` context.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import gradio as gr

from evals.compare import IncomparableRuns, compare_stored
from evals.logged import LogFilter, run_logged
from evals.report import plots_html, render, write_report
from evals.store import EvalStore
from ui.jobs import BackgroundJob

HEADERS = ["id", "time (UTC)", "kind", "name", "model", "adapter", "headline"]
SCORING = "Scoring the logged conversations"
EMPTY_STATE = (
    "**No eval runs yet.** Click **Score logged conversations** to score every answer logged "
    "so far (groundedness, answer relevance, refusals, citations, ratings, latency). It runs "
    "in the background, so the chat stays usable, and the run appears here with its metrics "
    "and plots. Score again later and compare the two runs to see whether answers got better."
)


def runs_table(store: EvalStore, limit: int = 100) -> list[list[str]]:
    rows = []
    for run in store.runs(limit=limit):
        metrics = (run.get("summary") or {}).get("metrics", {})
        headline = ", ".join(f"{m} {a['mean']:.3f}" for m, a in list(metrics.items())[:3]
                             if a.get("mean") is not None)
        rows.append([run["id"], run["datetime_utc"][:19], run["kind"], run["name"] or "",
                     run["model"] or "", run["adapter"] or "", headline])
    for c in store.comparisons(limit=limit):
        passed = "PASS" if c["verdict"]["verdict"]["passed"] else "FAIL"
        rows.append([c["id"], c["datetime_utc"][:19], "comparison", passed, "", "",
                     f"{c['baseline_run_id']} \u2192 {c['candidate_run_id']}"])
    return rows


def show(store: EvalStore, some_id: str | None):
    """(summary markdown, plots html, report iframe html, report file) for a run or a
    comparison id."""
    if not some_id:
        return "Select a run to see its metrics and plots.", "", "", None
    try:
        summary = render(store, some_id, "md")
        path = write_report(store, some_id)
    except KeyError:
        return f"No run or comparison with id `{escape(some_id)}`.", "", "", None
    frame = (f'<iframe title="Eval report" style="width:100%;height:900px;border:0" '
             f'srcdoc="{escape(path.read_text(encoding="utf-8"), quote=True)}"></iframe>')
    return summary, plots_html(store, some_id), frame, str(path)


def compare(store: EvalStore, baseline: str | None, candidate: str | None) -> str:
    """The comparison as `assistant eval compare` prints it, stored like one."""
    if not baseline or not candidate:
        return "Pick a baseline run and a candidate run."
    if baseline == candidate:
        return "Pick two different runs."
    try:
        comparison_id, _ = compare_stored(store, baseline, candidate)
    except (IncomparableRuns, ValueError, KeyError) as err:
        return f"These runs cannot be compared: {err}"
    return render(store, comparison_id, "md")


class EvalsView:
    def __init__(self, store: EvalStore, log_path: Path, min_relevance: float, embed=None):
        self.store = store
        self.log_path = Path(log_path)
        self.min_relevance = min_relevance
        self.embed = embed  # the app's loaded embedder, so scoring loads no second copy
        self.job = BackgroundJob()

    def listing(self):
        """(empty state, table, run picker, baseline picker, candidate picker)."""
        rows = runs_table(self.store)
        runs = [r[0] for r in rows if r[2] != "comparison"]
        state = EMPTY_STATE if not rows else f"{len(runs)} run(s), newest first."
        return (state, gr.update(value=rows), gr.update(choices=[r[0] for r in rows]),
                gr.update(choices=runs), gr.update(choices=runs))

    def score_logged(self):
        """Start scoring in the background; (job line, timer on)."""
        def work(progress) -> str:
            return run_logged(self.store, self.log_path, LogFilter(), self.min_relevance,
                              name="logged (from the Evals tab)", embed=self.embed,
                              progress=progress)

        if not self.log_path.is_file():
            return "Nothing is logged yet: ask a question in the Chat tab first.", gr.update()
        if not self.job.start(work):
            return "Scoring is already running.", gr.Timer(active=True)
        return self.job.status.line(SCORING), gr.Timer(active=True)

    def poll(self):
        """(job line, timer, the listing..., the new run picked when the job has finished)."""
        status = self.job.status
        if status.running:
            return (status.line(SCORING), gr.update(), *[gr.update()] * 5, gr.update())
        listing = self.listing()
        return (status.line(SCORING), gr.Timer(active=False), *listing,
                status.result or gr.update())


def build_evals_tab(demo: gr.Blocks, store_path: Path, log_path: Path, min_relevance: float,
                    embed=None, model_markdown: str = "") -> EvalsView:
    view = EvalsView(EvalStore(Path(store_path)), log_path, min_relevance, embed)
    gr.Markdown(model_markdown, elem_id="live-model")
    state = gr.Markdown(elem_id="evals-state")
    with gr.Row():
        score = gr.Button("Score logged conversations", variant="primary", scale=0,
                          elem_id="score-logged")
        refresh = gr.Button("Refresh", scale=0, elem_id="evals-refresh")
        job_line = gr.Markdown(elem_id="evals-job")
    timer = gr.Timer(1.0, active=False)
    table = gr.Dataframe(headers=HEADERS, value=[], interactive=False,
                         label="Eval runs and comparisons (newest first)", elem_id="evals-table")
    choice = gr.Dropdown(label="Show a run or comparison", choices=[], value=None,
                         allow_custom_value=True, elem_id="evals-pick")
    summary = gr.Markdown(elem_id="evals-summary")
    plots = gr.HTML(elem_id="evals-plots")
    with gr.Accordion("Full report (every question, word diffs)", open=False):
        report = gr.HTML()
        download = gr.File(label="HTML report")
    with gr.Row():
        baseline = gr.Dropdown(label="Baseline run", choices=[], elem_id="compare-baseline")
        candidate = gr.Dropdown(label="Candidate run", choices=[], elem_id="compare-candidate")
        run_compare = gr.Button("Compare", scale=0, elem_id="compare-runs")
    comparison = gr.Markdown(elem_id="evals-comparison")

    listing = [state, table, choice, baseline, candidate]
    demo.load(view.listing, None, listing)
    refresh.click(view.listing, None, listing)
    score.click(view.score_logged, None, [job_line, timer])
    # Hidden progress: the page polls every second and must not flicker while it does.
    timer.tick(view.poll, None, [job_line, timer, *listing, choice], show_progress="hidden")
    table.select(_picked_id, None, choice)
    choice.change(lambda some_id: show(view.store, some_id), choice,
                  [summary, plots, report, download])
    run_compare.click(lambda b, c: compare(view.store, b, c), [baseline, candidate],
                      comparison).then(view.listing, None, listing)
    return view


def _picked_id(evt: gr.SelectData):
    row = evt.row_value if evt is not None else None
    return row[0] if row else None
