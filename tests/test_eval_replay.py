"""Replay through the real pipeline (real Chroma and SQLite, fake embeddings) with a scripted
model, and once with the real model and MiniLM (slow)."""

import shutil

import pytest
from click.testing import CliRunner

from assistant.config import Settings
from assistant.generator import LocalGenerator
from assistant.log import ConversationLog
from assistant.pipeline import Pipeline
from assistant.prompt import PROMPT_VERSION
from assistant.vectorstore import KnowledgeIndex
from evals.cli import eval_group
from evals.replay import SystemPromptOverride, record_replay, replay, rescore_run, run_info
from evals.report import write_report
from evals.store import EvalStore
from knowledge.golden_sets import GoldenItem, dataset_hash, load_golden
from tests.fakes import ScriptedGenerator, WordSupportChecker

ITEMS = [
    GoldenItem("t1", "What does the brevity penalty in BLEU do?",
               "It penalises candidates that are shorter than the references.",
               ("metric-bleu.md",), True),
    GoldenItem("t2", "What is QLoRA?", "QLoRA fine-tunes LoRA adapters on a 4-bit quantized "
               "frozen base model.", ("qlora.md",), True),
    GoldenItem("t3", "What is the capital of Australia?", "", (), False),
]


def test_replay_scores_stores_and_never_logs(handbook_pipeline):
    pipeline = handbook_pipeline
    log = pipeline.log
    pipeline.log = None  # what build_pipeline does
    pipeline.generator.queue("It penalises short candidates [1].",
                             "QLoRA fine-tunes adapters on a 4-bit base model [1][7].")
    results = replay(pipeline, ITEMS, progress=False)
    assert log.turns() == []  # replay turns never reach the conversation log
    bleu, qlora, off_topic = results
    assert bleu.retrieved_sources[0] == "metric-bleu.md" and bleu.cited_sources
    assert bleu.passage_numbers[0] == 1 and "brevity" in bleu.passage_texts[0].lower()
    assert len(bleu.passage_texts) == len(bleu.passage_numbers) <= len(bleu.retrieved_sources)
    assert qlora.invalid_citations == 1
    assert off_topic.refused and off_topic.passage_texts == []

    store = EvalStore(Settings.from_env().home / "evals.db")
    info = run_info(pipeline, "replay", "t", "inline", dataset_hash(ITEMS))
    assert info.kb_version.startswith("kb-") and info.model == "scripted"
    run_id = record_replay(store, info, results, embed=None, k=4, checker=WordSupportChecker())
    run = store.run(run_id)
    metrics = run["summary"]["metrics"]
    assert metrics["refusal_correct"]["mean"] == 1.0 and metrics["hit_at_k"]["mean"] == 1.0
    assert run["summary"]["corpus"]["bleu"]["signature"].startswith("nrefs:1")
    assert run["summary"]["overview"]["refusal"]["counts"]["tp"] == 1
    items = store.items(run_id)
    assert items[2]["scores"]["token_f1"] is None and items[0]["scores"]["groundedness"] > 0.3
    assert "<img" in write_report(store, run_id).read_text()
    rescored = store.run(rescore_run(store, run_id, checker=WordSupportChecker()))
    assert rescored["summary"]["metrics"]["token_f1"] == metrics["token_f1"]


def test_system_prompt_override_replaces_only_the_system_message():
    inner = ScriptedGenerator("ok")
    wrapped = SystemPromptOverride(inner, "Be terse.")
    "".join(wrapped.stream([{"role": "system", "content": "long"},
                            {"role": "user", "content": "q"}]))
    assert inner.prompts[0] == [{"role": "system", "content": "Be terse."},
                                {"role": "user", "content": "q"}]
    assert wrapped.prompt_version.startswith(f"{PROMPT_VERSION}+sys-")
    assert wrapped.name == "scripted"


def test_cli_replay_with_a_candidate_configuration(shared_home, fake_eval_models, monkeypatch,
                                                   tmp_path):
    home = Settings.from_env().home
    shutil.copytree(shared_home / "chroma", home / "chroma")
    monkeypatch.setattr("assistant.runtime.make_generator",
                        lambda settings, progress=None: ScriptedGenerator())
    golden = tmp_path / "mini.jsonl"
    golden.write_text("".join(
        f'{{"id": "{i.id}", "question": "{i.question}", "answer": "{i.answer}", '
        f'"sources": {list(i.sources)!r}, "answerable": {str(i.answerable).lower()}}}\n'
        .replace("'", '"') for i in ITEMS), encoding="utf-8")
    result = CliRunner().invoke(
        eval_group, ["replay", "--split", str(golden), "--top-k", "2", "--min-relevance", "0.9",
         "--name", "strict"])
    assert result.exit_code == 0, result.output
    assert "| refusal_correct |" in result.output and "report" in result.output
    run = EvalStore(home / "evals.db").runs()[0]
    assert run["name"] == "strict" and run["config"]["top_k"] == 2
    assert run["config"]["min_relevance"] == 0.9
    assert run["summary"]["overview"]["refusal_reasons"] == {"NO_EVIDENCE": 3}
    assert ConversationLog(home / "logs.db").turns() == []
    assert (home / "reports" / f"{run['id']}.html").is_file()


@pytest.mark.slow
def test_replay_with_the_real_model_end_to_end(real_model_dir, real_shared_home):
    settings = Settings.from_env().with_changes(home=real_shared_home, max_new_tokens=40)
    generator = LocalGenerator(real_model_dir, name="SmolLM2-135M-Instruct")
    pipeline = Pipeline(settings, KnowledgeIndex(settings.chroma_dir, settings.collection),
                        generator, log=None)
    items = [i for i in load_golden("test") if i.answerable][:2] + [
        i for i in load_golden("test") if not i.answerable][:1]
    results = replay(pipeline, items, progress=False)
    store = EvalStore(Settings.from_env().home / "evals.db")
    from evals.scoring import embedder

    run_id = record_replay(store, run_info(pipeline, "replay", "real", "golden:test[3]",
                                           dataset_hash(items)), results, embedder(), k=4)
    run = store.run(run_id)
    assert run["model"] == "SmolLM2-135M-Instruct" and len(store.items(run_id)) == 3
    metrics = run["summary"]["metrics"]
    assert 0 <= metrics["hit_at_k"]["mean"] <= 1 and metrics["refusal_correct"]["n"] == 3
    assert any(r.completion_tokens > 0 for r in results)
    html = write_report(store, run_id).read_text()
    assert "data:image/png;base64," in html and items[0].question.replace("'", "&#x27;") in html
