"""The Evals tab builds inside a Blocks/Tab context and shows stored runs and reports."""

import gradio as gr

from assistant.config import Settings
from evals.store import EvalStore
from tests.test_eval_store import make_run
from ui.evals_tab import build_evals_tab, runs_table, show


def test_evals_tab_lists_runs_and_opens_a_report():
    path = Settings.from_env().home / "evals.db"
    store = EvalStore(path)
    run_id = make_run(store, "<b>bold</b> name")
    with gr.Blocks() as demo, gr.Tab("Evals"):
        build_evals_tab(demo, path, path.parent / "logs.db", min_relevance=0.4)
    assert any(isinstance(b, gr.Dataframe) for b in demo.blocks.values())
    rows = runs_table(store)
    assert rows[0][0] == run_id and rows[0][2] == "replay"
    summary, plots, frame, file = show(store, run_id)
    assert "| token_f1 |" in summary and file.endswith(f"{run_id}.html")
    assert frame.startswith("<iframe") and "&amp;lt;b&amp;gt;bold" in frame  # escaped twice
    assert "<b>bold" not in frame
    assert show(store, "missing")[0].startswith("No run")
    assert show(store, None)[0].startswith("Select a run")
