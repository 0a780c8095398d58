"""Integration with the real SmolLM2 model, real Chroma and real SQLite (slow)."""

import json
import os
import subprocess
import sys

import pytest

from assistant.config import Settings
from assistant.generator import LocalGenerator
from assistant.log import ConversationLog
from assistant.pipeline import Pipeline, TurnRequest
from assistant.records import ANSWERED, NO_EVIDENCE, NOT_IN_SOURCES
from assistant.vectorstore import KnowledgeIndex

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def generator(real_model_dir):
    return LocalGenerator(real_model_dir, name="SmolLM2-135M-Instruct")


@pytest.fixture
def pipeline(real_shared_home, generator, tmp_path):
    settings = Settings.from_env().with_changes(home=real_shared_home, max_new_tokens=40)
    index = KnowledgeIndex(settings.chroma_dir, settings.collection)
    return Pipeline(settings, index, generator, ConversationLog(tmp_path / "logs.db"))


def test_real_model_streams_an_answer_that_is_logged_and_rated(pipeline):
    events = list(pipeline.stream(TurnRequest("What is QLoRA?")))
    tokens = [p for kind, p in events if kind == "token"]
    turn = events[-1][1]
    assert len(tokens) >= 5, "the answer must arrive in several streamed pieces"
    assert turn.reason in (ANSWERED, NOT_IN_SOURCES)
    assert turn.completion_tokens > 0 and turn.prompt_tokens > 100
    assert 0 < turn.first_token_ms <= turn.duration_ms
    assert any(p.source == "qlora.md" for p in turn.passages)
    pipeline.log.record_feedback(turn.turn_id, "down", "wrong answer", "QLoRA fine-tunes LoRA "
                                 "adapters on a 4-bit quantized frozen base model.")
    row = pipeline.log.turn(turn.turn_id)
    assert row["model"] == "SmolLM2-135M-Instruct" and row["feedback"][0]["rating"] == "down"


def test_real_pipeline_refuses_off_topic_questions(pipeline):
    turn = pipeline.ask(TurnRequest("Who won the 2018 football World Cup?"))
    assert turn.refused and turn.reason == NO_EVIDENCE


def test_lora_adapter_from_the_data_directory_is_loaded_and_logged(real_model_dir, tmp_path,
                                                                   real_shared_home):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(real_model_dir, dtype=torch.float32)
    # init_lora_weights=False gives a non-zero update, so the adapter visibly changes output.
    config = LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj"],
                        init_lora_weights=False)
    adapter_dir = tmp_path / "home" / "adapters" / "test-adapter"
    get_peft_model(base, config).save_pretrained(adapter_dir)

    settings = Settings.from_env().with_changes(home=real_shared_home, max_new_tokens=12)
    plain = LocalGenerator(real_model_dir, name="base")
    adapted = LocalGenerator(real_model_dir, adapter_dir, name="base")
    messages = [{"role": "user", "content": "Say hello."}]
    assert "".join(plain.stream(messages, 12)) != "".join(adapted.stream(messages, 12))

    index = KnowledgeIndex(settings.chroma_dir, settings.collection)
    log = ConversationLog(tmp_path / "logs.db")
    turn = Pipeline(settings, index, adapted, log).ask(TurnRequest("What is LoRA?"))
    assert log.turn(turn.turn_id)["adapter"] == "test-adapter"


def _cli(*args, env, timeout=300):
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_cli_ask_json_ingest_and_logs(qwen_gguf, tmp_path):
    env = dict(os.environ, ASSISTANT_HOME=str(tmp_path / "cli-home"),
               ASSISTANT_MODEL=str(qwen_gguf), ASSISTANT_MAX_NEW_TOKENS="30")
    result = _cli("ask", "--json", "What does ROUGE-L measure?", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(result.stdout)
    assert data["answer_path"] in ("generated", "quoted", "none")
    for key in ("answer", "citations", "refused", "reason", "cache_hit", "turn_id",
                "conversation_id", "model", "adapter", "timings_ms"):
        assert key in data
    assert data["retrieved"] and {"n", "source", "chunk_id", "score", "text"} <= set(
        data["retrieved"][0])

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "zebra.md").write_text("# Zebra facts\n\nThe project mascot is a zebra named Ada.\n")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    (docs / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    result = _cli("ingest", str(docs), env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "1 added" in result.stdout and "2 failed" in result.stdout
    assert "broken.pdf" in result.stderr and "binary" in result.stderr

    result = _cli("ask", "--json", "What is the name of the project mascot zebra?", env=env)
    data = json.loads(result.stdout)
    assert data["retrieved"][0]["source"] == "zebra.md"

    # "Answer anyway" answers, from the model's own knowledge, labelled unverified.
    result = _cli("ask", "--json", "--answer-anyway", "What is a good recipe for banana bread?",
                  env=env)
    anyway = json.loads(result.stdout)
    assert not anyway["refused"] and anyway["unverified"] and anyway["answer"].strip()
    assert anyway["answer_path"] == "generated"

    listed = _cli("logs", "list", env=env)
    assert listed.returncode == 0 and "mascot" in listed.stdout
    shown = _cli("logs", "show", data["turn_id"], env=env)
    assert json.loads(shown.stdout)["id"] == data["turn_id"]
    found = _cli("logs", "search", "mascot", env=env)
    assert data["turn_id"] in found.stdout
    exported = _cli("logs", "export", str(tmp_path / "out.jsonl"), env=env)
    assert exported.returncode == 0
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 3
    missing = _cli("logs", "show", "nope", env=env)
    assert missing.returncode == 1 and "no turn" in missing.stderr


def test_default_model_through_llama_cpp_answers_from_its_source(qwen_gguf):
    """The default runtime and model: a question whose answer is in the one source given."""
    from assistant.base_models import DEFAULT_MODEL
    from assistant.llama_generator import LlamaCppGenerator
    from assistant.prompt import build_messages
    from assistant.records import Passage

    passage = Passage(1, "c1", "metric-rouge.md", "ROUGE-L",
                      "ROUGE-L scores the longest common subsequence between a candidate and "
                      "a reference, so it rewards words in the same order without requiring "
                      "them to be adjacent.", 0.8, 0, 0)
    generator = LlamaCppGenerator(qwen_gguf, name=DEFAULT_MODEL.name)
    generation = generator.stream(build_messages("What does ROUGE-L measure?", [passage]), 60)
    answer = "".join(generation).lower()
    assert "longest common subsequence" in answer
    assert generation.prompt_tokens > 50 and 0 < generation.completion_tokens <= 60
