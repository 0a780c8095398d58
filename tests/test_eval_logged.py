"""Mode 1: scoring logged turns (real SQLite log, turns made by the real pipeline over the fake
embeddings; answered_wrong by the word-overlap support checker)."""

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from assistant.config import Settings
from assistant.log import ConversationLog
from assistant.pipeline import TurnRequest
from evals.cli import eval_group
from evals.logged import LogFilter, load_turns, run_logged
from evals.store import EvalStore


@pytest.fixture
def logged_home(handbook_pipeline, fake_eval_models, monkeypatch):
    """Three logged turns in $ASSISTANT_HOME/logs.db: two answers (rated up / down), a refusal.
    The settings (and the CLI's) keep the pipeline's relevance threshold (the fake embedder's)."""
    pipeline = handbook_pipeline
    monkeypatch.setenv("ASSISTANT_MIN_RELEVANCE", str(pipeline.settings.min_relevance))
    settings = Settings.from_env()
    pipeline.log = ConversationLog(settings.db_path)
    pipeline.generator.queue("The brevity penalty penalises short candidates [1].",
                             "QLoRA is a cooking recipe [1].")
    first = pipeline.ask(TurnRequest("What does the brevity penalty in BLEU do?"))
    second = pipeline.ask(TurnRequest("What is QLoRA?"))
    pipeline.ask(TurnRequest("What is the capital of Australia?"))
    pipeline.log.record_feedback(first.turn_id, "up")
    pipeline.log.record_feedback(second.turn_id, "down", "wrong answer",
                                 "QLoRA trains LoRA adapters on a 4-bit base model.")
    return settings


def test_logged_turns_are_scored_without_regenerating(logged_home):
    store = EvalStore(logged_home.home / "evals.db")
    run_id = run_logged(store, logged_home.db_path, LogFilter(), logged_home.min_relevance,
                        embed=lambda texts: [[1.0, float(len(t) % 3)] for t in texts])
    run = store.run(run_id)
    overview, metrics = run["summary"]["overview"], run["summary"]["metrics"]
    assert overview["turns"] == 3 and overview["refusal_rate"] == pytest.approx(1 / 3)
    assert overview["refusal_rate_by_reason"] == {"NO_EVIDENCE": pytest.approx(1 / 3)}
    assert overview["rated_turns"] == 2 and overview["thumbs_up_rate"] == 0.5
    assert overview["feedback"] == {"ratings": {"up": 1, "down": 1},
                                    "reasons": {"wrong answer": 1}, "corrections": 1}
    assert overview["cache_hit_rate"] == 0.0 and overview["duration_ms_p95"] is not None
    assert overview["models"] == {"scripted": 3} and overview["completion_tokens_total"] > 0
    assert metrics["groundedness"]["n"] == 2 and metrics["answer_relevance"]["n"] == 2
    assert metrics["citation_precision"]["n"] == 2
    items = {i["question"]: i for i in store.items(run_id)}
    good, bad = items["What does the brevity penalty in BLEU do?"], items["What is QLoRA?"]
    assert good["scores"]["groundedness"] > bad["scores"]["groundedness"]
    assert good["scores"]["citation_precision"] == 1.0
    assert bad["scores"]["citation_precision"] == 0.0  # "cooking recipe" is not in source 1
    assert bad["reference"].startswith("QLoRA trains")  # the user's correction
    assert bad["scores"]["token_f1"] is None  # answerable unknown: no reference metrics


def test_filters(logged_home):
    path = logged_home.db_path
    assert len(load_turns(path, LogFilter(feedback="up"))) == 1
    assert len(load_turns(path, LogFilter(feedback="any"))) == 2
    assert len(load_turns(path, LogFilter(refused=True))) == 1
    assert len(load_turns(path, LogFilter(cached=True))) == 0
    assert len(load_turns(path, LogFilter(model="scripted", limit=2))) == 2
    assert len(load_turns(path, LogFilter(prompt_version="nope"))) == 0
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert len(load_turns(path, LogFilter(since=hour_ago))) == 3
    assert len(load_turns(path, LogFilter(until=hour_ago.replace(tzinfo=None)))) == 0


def test_cli_logged(logged_home):
    result = CliRunner().invoke(eval_group, ["logged", "--answered", "--feedback", "any"])
    assert result.exit_code == 0, result.output
    assert "| groundedness |" in result.output and "report" in result.output
    run = EvalStore(logged_home.home / "evals.db").runs()[0]
    assert run["kind"] == "logged" and run["summary"]["overview"]["turns"] == 2
    assert run["config"]["filters"] == {"feedback": "any", "refused": False}
