"""The fine-tuning loop: data building, contamination guard, adapter registry, the gate."""

import json

import pytest

from assistant.finetune import adapters, data
from assistant.finetune.examples import REFUSAL_TARGET, cited_target, question_hash
from assistant.records import Passage, Turn
from evals.promote import decide
from knowledge.golden_sets import GoldenItem


def test_cited_target_puts_one_marker_before_the_full_stop():
    assert cited_target("LoRA freezes W [3].", 2) == "LoRA freezes W [2]."
    assert cited_target("Ranks 4 to 64", 1) == "Ranks 4 to 64 [1]."


def test_question_hash_ignores_case_and_punctuation():
    assert question_hash("What is  LoRA?") == question_hash("what is lora")
    assert question_hash("What is LoRA?") != question_hash("What is QLoRA?")


def _settings(handbook_pipeline):
    return handbook_pipeline.settings


def test_golden_items_become_cited_answers_and_refusals(handbook_pipeline):
    item = GoldenItem("g1", "What does the brevity penalty in BLEU do?",
                      "It penalises candidates shorter than the reference.",
                      ("metric-bleu.md",), True)
    off = GoldenItem("g2", "What is the capital of Australia?", "", (), False)
    # min_relevance 0.2: passages of other documents count as evidence, so the
    # gold-removed refusal example exists for this question too
    built = data.build(handbook_pipeline.index,
                       _settings(handbook_pipeline).with_changes(min_relevance=0.2),
                       golden_train=[item, off])
    examples = built.train + built.validation
    targets = {e["origin"]: e["messages"][-1]["content"] for e in examples}
    assert targets["golden"].startswith("It penalises candidates shorter than the reference [")
    # the cited number is the passage from the gold source in the very prompt trained on
    answer = next(e for e in examples if e["origin"] == "golden")
    n = int(answer["messages"][-1]["content"].rsplit("[", 1)[1].split("]")[0])
    assert f"[{n}] (metric-bleu.md" in answer["messages"][-2]["content"]
    # with the gold passages removed, the target is the refusal
    assert targets.get("golden:refusal") == REFUSAL_TARGET
    assert targets.get("golden:unanswerable") in (None, REFUSAL_TARGET)


def test_eval_questions_in_training_data_fail_loudly(handbook_pipeline):
    item = GoldenItem("g1", "What does the brevity penalty in BLEU do?", "It penalises short "
                      "candidates.", ("metric-bleu.md",), True)
    with pytest.raises(data.ContaminationError, match="(?i)brevity penalty"):
        data.build(handbook_pipeline.index, _settings(handbook_pipeline), golden_train=[item],
                   eval_questions=["what does the BREVITY penalty in bleu do"])


def test_feedback_from_the_log_becomes_targets_and_thumbs_down_is_kept_aside(handbook_pipeline):
    log = handbook_pipeline.log
    passage = Passage(1, "c1", "lora.md", "LoRA", "LoRA freezes the weights.", 0.8, 0, 10)

    def logged(question, answer):
        return log.record_turn(Turn(question=question, conversation_id="c", answer=answer,
                                    passages=[passage]))

    up, corrected, down = logged("q up", "A [1]."), logged("q fix", "B"), logged("q down", "C")
    log.record_feedback(up, "up")
    log.record_feedback(corrected, "down", "wrong answer", "Mail me at ann@example.com [1].")
    log.record_feedback(down, "down", "wrong sources")
    examples, aside = data.from_log(log, 0.41, redact=lambda t: t.replace("ann@example.com",
                                                                            "[EMAIL]"))
    by_origin = {e["origin"]: e["messages"][-1]["content"] for e in examples}
    assert by_origin == {"log:up": "A [1].", "log:correction": "Mail me at [EMAIL] [1]."}
    assert [a["turn_id"] for a in aside] == [down] and aside[0]["rejected"] == "C"


def test_deduplicate_and_split_are_deterministic():
    examples = [{"question_hash": question_hash(f"q{i}"),
                 "messages": [{"role": "assistant", "content": "x"}]} for i in range(200)]
    assert len(data.deduplicate(examples + examples[:5])) == 200
    train, validation = data.split(examples)
    assert 5 <= len(validation) <= 40 and len(train) + len(validation) == 200
    assert data.split(examples) == (train, validation)


def _fake_adapter(directory, name):
    path = directory / name
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text("{}")
    return path


def test_live_adapter_switch_history_and_rollback(tmp_path):
    _fake_adapter(tmp_path, "a1")
    _fake_adapter(tmp_path, "a2")
    assert adapters.live_adapter(tmp_path) is None
    adapters.set_live(tmp_path, "a1")
    adapters.set_live(tmp_path, "a2")
    assert adapters.live_adapter(tmp_path) == "a2"
    assert adapters.rollback(tmp_path) == "a1" and adapters.live_adapter(tmp_path) == "a1"
    with pytest.raises(ValueError):
        adapters.set_live(tmp_path, "missing")
    assert [h["to"] for h in adapters.history(tmp_path)] == ["a1", "a2", "a1"]


def test_shipped_adapter_is_installed_and_made_live_once(tmp_path, monkeypatch):
    shipped = tmp_path / "shipped"
    _fake_adapter(shipped, "default-v1")
    monkeypatch.setattr(adapters, "SHIPPED_DIR", shipped)
    home = tmp_path / "adapters"
    assert adapters.install_shipped(home) == "default-v1"
    adapters.set_live(home, None)  # the user chose the base model: keep that choice
    assert adapters.install_shipped(home) is None


def test_a_shipped_adapter_for_another_base_model_is_not_made_live(tmp_path, monkeypatch):
    shipped = tmp_path / "shipped"
    _fake_adapter(shipped, "small-v1")
    (shipped / "small-v1" / "adapter_metadata.json").write_text('{"base_model": "Small"}')
    monkeypatch.setattr(adapters, "SHIPPED_DIR", shipped)
    home = tmp_path / "adapters"
    assert adapters.install_shipped(home, base_model="Large") is None
    assert adapters.adapter_names(home) == ["small-v1"]  # installed, for `finetune use`
    assert adapters.install_shipped(home, base_model="Small") == "small-v1"


def test_a_new_default_base_gets_its_shipped_adapter_unless_the_user_chose(tmp_path, monkeypatch):
    shipped = tmp_path / "shipped"
    for name, base in (("large-v1", "Large"), ("small-v1", "Small")):
        _fake_adapter(shipped, name)
        (shipped / name / "adapter_metadata.json").write_text(f'{{"base_model": "{base}"}}')
    monkeypatch.setattr(adapters, "SHIPPED_DIR", shipped)
    home = tmp_path / "adapters"
    assert adapters.install_shipped(home, base_model="Small") == "small-v1"
    # the default model became Large: the first start's choice is replaced
    assert adapters.install_shipped(home, base_model="Large") == "large-v1"
    adapters.set_live(home, "small-v1", note="finetune use")  # the user's own choice stays
    assert adapters.install_shipped(home, base_model="Large") == "small-v1"


def _runs(base_scores, cand_scores):
    from evals.compare import compare_runs

    def items(scores):
        return [{"item_id": f"i{i}", "answer": "a b c", "scores": dict(s),
                 "data": {"answerable": True}} for i, s in enumerate(scores)]

    base = {"id": "b", "metric_versions": {}}
    cand = {"id": "c", "metric_versions": {}}
    return compare_runs(base, cand, items(base_scores), items(cand_scores))


def test_gate_refuses_a_worse_adapter_and_an_equal_one_and_passes_a_better_one():
    good = [{"token_f1": 0.8, "cites_gold_source": 1.0}] * 30
    bad = [{"token_f1": 0.2, "cites_gold_source": 0.0}] * 30
    promoted, why = decide(_runs(good, bad))
    assert not promoted and "regressed" in why
    promoted, why = decide(_runs(good, good))
    assert not promoted and "no target metric improved" in why
    promoted, why = decide(_runs(bad, good))
    assert promoted and "token_f1" in why


@pytest.mark.slow
def test_tiny_training_changes_lora_weights_only_and_the_adapter_changes_output(
        real_model_dir, tmp_path):
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    from assistant.finetune.train import TrainConfig, load_for_training, train
    from assistant.generator import LocalGenerator

    messages = [{"role": "system", "content": "Answer from the sources."},
                {"role": "user", "content": "Sources:\n\n[1] (lora.md)\nLoRA ranks are 4 to "
                 "64.\n\nQuestion: Typical LoRA ranks?"},
                {"role": "assistant", "content": "Typical ranks are 4 to 64 [1]."}]
    (tmp_path / "train.jsonl").write_text(json.dumps({"messages": messages}) + "\n")
    config = TrainConfig(rank=4, alpha=8, epochs=3, max_steps=3, batch_size=1, max_length=256,
                         learning_rate=5e-3)
    initial, _ = load_for_training(real_model_dir, config)  # same seed-free B = 0 init
    result = train(real_model_dir, tmp_path / "train.jsonl", tmp_path / "adapter", config,
                   progress=False)
    assert result.steps == 3 and result.tokens > 0 and len(result.loss_curve) == 3

    trained = load_file(str(tmp_path / "adapter" / "adapter_model.safetensors"))
    lora_b = [k for k in trained if "lora_B" in k]
    assert lora_b and all(float(trained[k].abs().sum()) > 0 for k in lora_b)  # moved from 0
    base = AutoModelForCausalLM.from_pretrained(real_model_dir, dtype=torch.float32)
    reloaded = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(real_model_dir, dtype=torch.float32),
        str(tmp_path / "adapter"))
    name = "model.layers.0.self_attn.q_proj.weight"
    base_weight = dict(base.named_parameters())[name]
    merged_source = dict(reloaded.base_model.model.named_parameters())[
        "model.layers.0.self_attn.q_proj.base_layer.weight"]
    assert torch.equal(base_weight, merged_source)  # the base weights did not change
    meta = json.loads((tmp_path / "adapter" / "adapter_metadata.json").read_text())
    assert meta["training"]["steps"] == 3 and meta["hyperparameters"]["rank"] == 4

    prompt = messages[:2]
    plain = "".join(LocalGenerator(real_model_dir).stream(prompt, 12))
    adapted = "".join(LocalGenerator(real_model_dir, tmp_path / "adapter").stream(prompt, 12))
    assert plain != adapted
    del initial
