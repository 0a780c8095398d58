"""The Feedback tab and the Evals tab's logic on a real SQLite log and eval store: rated turns
with filters, export, the training-data line, background scoring with progress, comparison."""

from __future__ import annotations

import json
import time

import gradio as gr
import pytest

from assistant.log import ConversationLog
from evals.store import EvalStore
from tests.test_log import make_turn
from ui import feedback_view
from ui.evals_tab import EMPTY_STATE as EVALS_EMPTY
from ui.evals_tab import EvalsView, compare
from ui.feedback_view import EMPTY_STATE as FEEDBACK_EMPTY
from ui.feedback_view import FeedbackView
from ui.jobs import BackgroundJob
from ui.model_panel import model_markdown


def _embed(texts):
    """Scoring's answer relevance needs vectors; their meaning does not matter here."""
    return [[float(len(t)), float(t.count(" ")) + 1.0] for t in texts]


@pytest.fixture
def log(tmp_path):
    return ConversationLog(tmp_path / "logs.db")


@pytest.fixture
def rated(log):
    """Three rated turns: a corrected thumbs-down, a thumbs-up, a thumbs-down on an adapter."""
    wrong = log.record_turn(make_turn(question="How many leave days?", answer="10 days [1]."))
    log.record_feedback(wrong, "down", "wrong answer", "25 days [1].")
    good = log.record_turn(make_turn(question="Who approves expenses?", adapter=None))
    log.record_feedback(good, "up")
    tuned = log.record_turn(make_turn(question="Can I work abroad?", adapter="qwen-v2a"))
    log.record_feedback(tuned, "down", "wrong sources")
    log.record_feedback(tuned, "down", "unsafe")  # the latest rating of a turn counts
    return {"wrong": wrong, "good": good, "tuned": tuned}


def test_rated_turns_newest_first_with_their_latest_rating(log, rated):
    rows = log.rated_turns()
    assert [r["id"] for r in rows] == [rated["tuned"], rated["good"], rated["wrong"]]
    assert rows[0]["feedback_reason"] == "unsafe"
    assert [r["id"] for r in log.rated_turns(rating="down")] == [rated["tuned"], rated["wrong"]]
    assert [r["id"] for r in log.rated_turns(reason="wrong answer")] == [rated["wrong"]]
    assert [r["id"] for r in log.rated_turns(adapter="qwen-v2a")] == [rated["tuned"]]


def test_the_feedback_view_filters_opens_and_exports(log, rated, tmp_path):
    view = FeedbackView(log, min_relevance=0.0, exports_dir=tmp_path / "exports")
    state, table, adapters, training = view.show(True, "any", "any")
    assert state.startswith("2 rated answer(s)")
    assert [row[-1] for row in table["value"]] == [rated["tuned"], rated["wrong"]]
    assert table["value"][1][5] == "25 days [1]."  # the correction is shown
    assert adapters["choices"] == ["any", "qwen-v2a", "support-v1"]
    assert "would make **2 training example(s)**" in training  # a correction and a thumbs-up
    assert view.show(False, "other", "any")[0] == "No rated answer matches these filters."

    file, message = view.export(True, "wrong answer", "any")
    assert file["visible"] is True
    lines = [json.loads(line) for line in open(file["value"], encoding="utf-8")]
    assert message.startswith("Exported 1 rated answer(s)")
    assert lines == [{
        "messages": [{"role": "user", "content": "How many leave days?"},
                     {"role": "assistant", "content": "10 days [1]."}],
        "rating": "down", "reason": "wrong answer", "correction": "25 days [1].",
        "turn_id": rated["wrong"], "rated_utc": lines[0]["rated_utc"], "model": "tiny-model",
        "adapter": "support-v1"}]
    file, message = view.export(False, "other", "any")
    assert file["visible"] is False
    assert message == "Nothing to export: no rated answer matches the filters."

    answer, sources = feedback_view.turn_detail(log, rated["wrong"])
    assert "How many leave days?" in answer and "10 days" in answer
    assert "leave" in sources.lower()


def test_empty_views_say_what_to_do(log, tmp_path):
    view = FeedbackView(log, 0.0, tmp_path / "exports")
    assert view.show(False, "any", "any")[0] == FEEDBACK_EMPTY
    assert "In the *Chat* tab" in FEEDBACK_EMPTY
    evals = EvalsView(EvalStore(tmp_path / "evals.db"), log.path, 0.4, embed=_embed)
    assert evals.listing()[0] == EVALS_EMPTY
    assert "Score logged conversations" in EVALS_EMPTY
    nothing_logged = EvalsView(EvalStore(tmp_path / "e2.db"), tmp_path / "none.db", 0.4)
    assert nothing_logged.score_logged()[0].startswith("Nothing is logged yet")


def _wait(view: EvalsView, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while view.job.status.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not view.job.status.running


def test_scoring_runs_in_the_background_and_two_runs_compare(log, rated, tmp_path):
    store = EvalStore(tmp_path / "evals.db")
    view = EvalsView(store, log.path, 0.0, embed=_embed)
    line, timer = view.score_logged()
    assert line.startswith("Scoring the logged conversations") and timer.active
    _wait(view)
    first = view.job.status.result
    assert view.job.status.done == view.job.status.total == 3
    line, timer, state, table, *_, picked = view.poll()
    assert "done in" in line and not timer.active and picked == first
    assert state == "1 run(s), newest first." and table["value"][0][0] == first

    view.score_logged()
    _wait(view)
    second = view.job.status.result
    shown = compare(store, first, second)
    assert "win/tie/loss 0/3/0" in shown and "| judge |" in shown and "PASS" in shown
    assert compare(store, first, first) == "Pick two different runs."
    assert compare(store, first, None) == "Pick a baseline run and a candidate run."


def test_a_second_job_waits_for_the_first_and_an_error_is_shown():
    job = BackgroundJob()
    release = __import__("threading").Event()
    assert job.start(lambda progress: (release.wait(5), "one")[1])
    assert not job.start(lambda progress: "two")  # still running
    release.set()
    while job.status.running:
        time.sleep(0.01)
    assert job.status.result == "one"
    assert job.start(lambda progress: 1 / 0)
    while job.status.running:
        time.sleep(0.01)
    assert job.status.line("Scoring").startswith("Scoring failed: ZeroDivisionError")


def test_the_live_model_panel_shows_the_gate_result_and_the_rule(tmp_path):
    adapter_dir = tmp_path / "adapters" / "qwen-v2a"
    adapter_dir.mkdir(parents=True)
    (adapter_dir / "adapter_metadata.json").write_text(json.dumps({"promotion": {
        "why": "improved: judge", "against": "none",
        "win_tie_loss": {"win": 21, "tie": 12, "loss": 3, "n": 36, "win_rate": 0.75},
        "deltas": {"judge": {"baseline": 0.4, "candidate": 0.5, "delta": 0.1, "low": 0.05,
                             "high": 0.15}}}}))

    class Live:
        name, runtime, adapter, adapter_dir = "qwen2.5-0.5b", "llama.cpp", "qwen-v2a", None

    text = model_markdown(Live(), tmp_path / "adapters")
    assert "Base model **qwen2.5-0.5b** (llama.cpp); LoRA adapter **qwen-v2a**" in text
    assert "Win/tie/loss 21/12/3 over 36 questions" in text
    assert "| judge | 0.400 | 0.500 | +0.100 (+0.050 .. +0.150) |" in text
    assert "answered_wrong does not rise at all" in text
    Live.adapter = None
    assert "No adapter is live: the base model answers." in model_markdown(Live(), tmp_path)


def test_the_app_builds_its_feedback_and_evals_tabs(handbook_pipeline):
    from ui.app import ChatApp

    demo = ChatApp(handbook_pipeline).build()
    ids = {getattr(b, "elem_id", None) for b in demo.blocks.values()}
    assert {"feedback-table", "feedback-export", "score-logged", "compare-runs",
            "live-model"} <= ids
    assert isinstance(demo, gr.Blocks)
