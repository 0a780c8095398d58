"""peft LoRA adapter -> GGUF LoRA adapter -> served by llama.cpp, on tiny qwen2 models.

The fast tests use a tiny qwen2 with a made-up 256-token vocabulary (the LoRA converter reads
only the base's config). The slow chain trains a tiny qwen2 with the real Qwen2.5 tokenizer
(read from the real GGUF, no download), converts base and adapter, and checks that llama.cpp
with the adapter computes what transformers with the adapter computes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import pytest

from assistant.finetune.gguf_lora import (
    GgufConversionError,
    LlamaToolsMissing,
    convert_adapter_to_gguf,
    convert_model_to_gguf,
    llama_tools_dir,
)
from tests.tiny_qwen import TINY_SHAPE, real_qwen_gguf

# llama.cpp's names for the seven linear layers that train.ALL_LINEAR targets
GGUF_LINEAR = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")
RANK = 8
CHATS = [
    [{"role": "system", "content": "Answer from the handbook, with citations."},
     {"role": "user", "content": "What does LoRA freeze?"},
     {"role": "assistant", "content": "LoRA freezes the base model's weights [1]."}],
    [{"role": "system", "content": "Answer from the handbook, with citations."},
     {"role": "user", "content": "What is the capital of Mars?"},
     {"role": "assistant", "content": "I can't answer that from the handbook."}],
    [{"role": "system", "content": "Answer from the handbook, with citations."},
     {"role": "user", "content": "Which rank should I use?"},
     {"role": "assistant", "content": "Ranks 4 to 64 are common [2]."}],
]


def _needs_tools():
    try:
        llama_tools_dir()
    except LlamaToolsMissing as missing:
        pytest.skip(str(missing))


@pytest.fixture(scope="session")
def one_torch_thread():
    """The test machines share two cores; tiny models gain nothing from more threads."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------- tools folder


def test_tools_dir_comes_from_the_environment_variable(tmp_path, monkeypatch):
    (tmp_path / "convert_lora_to_gguf.py").write_text("")
    monkeypatch.setenv("ASSISTANT_LLAMA_TOOLS", str(tmp_path))
    assert llama_tools_dir() == tmp_path


def test_tools_dir_defaults_to_the_virtualenv(monkeypatch):
    monkeypatch.delenv("ASSISTANT_LLAMA_TOOLS", raising=False)
    expected = Path(sys.prefix) / "share" / "llama-cpp-tools"
    if not (expected / "convert_lora_to_gguf.py").is_file():
        pytest.skip(f"no converters in {expected}; run `bash scripts/setup.sh`")
    assert llama_tools_dir() == expected


def test_missing_tools_dir_says_to_rerun_setup(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_LLAMA_TOOLS", str(tmp_path / "nowhere"))
    with pytest.raises(LlamaToolsMissing, match=r"bash scripts/setup\.sh") as raised:
        convert_adapter_to_gguf(tmp_path, tmp_path)
    assert isinstance(raised.value, RuntimeError)


# ---------------------------------------------------------------- fast: made-up vocabulary


def _tiny_qwen2_config(vocab_size: int = 256):
    from transformers import Qwen2Config

    # `architectures` is what the converter picks its model class by
    return Qwen2Config(vocab_size=vocab_size, tie_word_embeddings=True,
                       architectures=["Qwen2ForCausalLM"], **TINY_SHAPE)


@pytest.fixture(scope="session")
def small_vocab_adapter(tmp_path_factory, one_torch_thread) -> tuple[Path, Path]:
    """(adapter dir, base dir): an untrained peft LoRA on all linear layers of a tiny qwen2
    whose folder has a config only: all the LoRA converter reads of a base model."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from assistant.finetune.train import ALL_LINEAR

    root = tmp_path_factory.mktemp("small-vocab")
    config = _tiny_qwen2_config()
    config.save_pretrained(root / "base")
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    lora = LoraConfig(r=RANK, lora_alpha=16, target_modules=list(ALL_LINEAR),
                      task_type="CAUSAL_LM")
    get_peft_model(model, lora).save_pretrained(str(root / "adapter"))
    return root / "adapter", root / "base"


def _gguf_fields(path: Path) -> dict:
    from gguf import GGUFReader

    return {name: field.contents() for name, field in GGUFReader(str(path)).fields.items()
            if not name.startswith("tokenizer.")}


def _gguf_tensors(path: Path) -> dict[str, tuple[int, ...]]:
    from gguf import GGUFReader

    return {t.name: tuple(int(n) for n in t.shape) for t in GGUFReader(str(path)).tensors}


def _assert_is_lora_gguf(path: Path, layers: int) -> None:
    fields = _gguf_fields(path)
    assert fields["general.type"] == "adapter"
    assert fields["adapter.type"] == "lora"
    assert fields["adapter.lora.alpha"] == pytest.approx(16.0)
    assert fields["general.architecture"] == "qwen2"
    tensors = _gguf_tensors(path)
    expected = {f"blk.{b}.{m}.weight.{ab}" for b in range(layers) for m in GGUF_LINEAR
                for ab in ("lora_a", "lora_b")}
    assert set(tensors) == expected
    # ggml lists dimensions innermost first: lora_a is (in, rank), lora_b is (rank, out)
    assert all(shape[1] == RANK for name, shape in tensors.items() if name.endswith("lora_a"))
    assert all(shape[0] == RANK for name, shape in tensors.items() if name.endswith("lora_b"))


def test_peft_adapter_becomes_a_gguf_lora_adapter(small_vocab_adapter, tmp_path):
    _needs_tools()
    adapter, base = small_vocab_adapter
    out = convert_adapter_to_gguf(adapter, base, tmp_path / "out" / "tiny-lora.gguf")
    assert out == tmp_path / "out" / "tiny-lora.gguf"
    _assert_is_lora_gguf(out, layers=TINY_SHAPE["num_hidden_layers"])
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no partial file left


def test_default_output_is_next_to_the_adapter(small_vocab_adapter, tmp_path):
    _needs_tools()
    adapter = shutil.copytree(small_vocab_adapter[0], tmp_path / "adapter")
    assert convert_adapter_to_gguf(adapter, small_vocab_adapter[1]) == adapter / "adapter.gguf"
    assert (adapter / "adapter.gguf").stat().st_size > 0


def test_base_made_from_a_gguf_file_converts_and_stays_untouched(small_vocab_adapter,
                                                                   tmp_path):
    """transformers writes quantization_config={"quant_method": "gguf"} into a model it loaded
    from a GGUF file (the converter: "Quant method is not yet supported: 'gguf'"), and a config
    saved without weights has no `architectures` (the converter: "Failed to detect model
    architecture"). The conversion fixes a private view of the config, never the user's."""
    _needs_tools()
    adapter, clean_base = small_vocab_adapter
    base = tmp_path / "from-gguf"
    base.mkdir()
    config = json.loads((clean_base / "config.json").read_text())
    del config["architectures"]
    config["quantization_config"] = {"quant_method": "gguf", "gguf_file": "model.gguf",
                                     "dequantize": True}
    (base / "config.json").write_text(json.dumps(config))
    before = (base / "config.json").read_bytes()
    out = convert_adapter_to_gguf(adapter, base, tmp_path / "lora.gguf")
    _assert_is_lora_gguf(out, layers=TINY_SHAPE["num_hidden_layers"])
    assert (base / "config.json").read_bytes() == before


def test_broken_adapter_fails_with_the_converters_message_and_no_file(small_vocab_adapter,
                                                                       tmp_path):
    _needs_tools()
    adapter = shutil.copytree(small_vocab_adapter[0], tmp_path / "broken")
    (adapter / "adapter_model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(GgufConversionError, match="header too large") as raised:
        convert_adapter_to_gguf(adapter, small_vocab_adapter[1])
    assert "convert_lora_to_gguf.py failed" in str(raised.value)
    assert "SafetensorError" in raised.value.output
    assert sorted(p.name for p in adapter.iterdir()) == sorted(
        p.name for p in small_vocab_adapter[0].iterdir())


def test_folder_without_adapter_config_is_refused_before_converting(small_vocab_adapter,
                                                                     tmp_path):
    _needs_tools()
    missing = tmp_path / "no-adapter"
    with pytest.raises(FileNotFoundError, match="adapter_config.json"):
        convert_adapter_to_gguf(missing, small_vocab_adapter[1])
    assert not missing.exists()


# ---------------------------------------------------------------- slow: real tokenizer chain


def _train_config():
    from assistant.finetune.train import TrainConfig

    # a high learning rate: a few steps must move every LoRA weight well past float16 rounding
    return TrainConfig(rank=RANK, alpha=16, epochs=4, batch_size=2, max_length=96,
                       learning_rate=1e-2, max_steps=4)


@pytest.fixture(scope="session")
def trained_adapter(tiny_qwen, tmp_path_factory, one_torch_thread) -> Path:
    from assistant.finetune.train import train

    root = tmp_path_factory.mktemp("trained")
    data = root / "train.jsonl"
    data.write_text("".join(json.dumps({"messages": chat}) + "\n" for chat in CHATS))
    base_digest = _digest(tiny_qwen / "model.safetensors")
    result = train(tiny_qwen, data, root / "adapter", _train_config(), progress=False)
    assert result.steps == 4
    # training wrote nothing into the base model
    assert _digest(tiny_qwen / "model.safetensors") == base_digest
    return root / "adapter"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _initial_lora_weights(base: Path) -> dict:
    """The LoRA weights train() starts from: same seed, same loading code."""
    import torch

    from assistant.finetune.train import load_for_training

    config = _train_config()
    torch.manual_seed(config.seed)
    model, _ = load_for_training(base, config)
    return {name.replace(".default", ""): value.detach().clone()
            for name, value in model.state_dict().items() if "lora_" in name}


@pytest.mark.slow
def test_training_moves_every_lora_weight_and_saves_no_base_weight(tiny_qwen, trained_adapter):
    from safetensors.torch import load_file

    saved = load_file(str(trained_adapter / "adapter_model.safetensors"))
    initial = _initial_lora_weights(tiny_qwen)
    assert set(saved) == set(initial)  # the adapter holds LoRA tensors only
    assert len(saved) == 2 * len(GGUF_LINEAR) * TINY_SHAPE["num_hidden_layers"]
    for name, value in saved.items():
        moved = (value.float() - initial[name]).abs().max()
        # moved past float16 rounding, but only by a few optimizer steps: the reference really
        # is this adapter's starting point (lora_B starts at zero, lora_A random)
        assert 1e-3 < moved < 0.1, (name, float(moved))


@pytest.mark.slow
def test_trained_adapter_becomes_a_gguf_lora_adapter(tiny_qwen, trained_adapter, tmp_path):
    _needs_tools()
    out = convert_adapter_to_gguf(trained_adapter, tiny_qwen, tmp_path / "lora.gguf")
    _assert_is_lora_gguf(out, layers=TINY_SHAPE["num_hidden_layers"])


@pytest.fixture(scope="session")
def tiny_ggufs(tiny_qwen, trained_adapter, tmp_path_factory) -> tuple[Path, Path]:
    """(base GGUF, adapter GGUF) of the trained tiny qwen."""
    _needs_tools()
    root = tmp_path_factory.mktemp("tiny-gguf")
    base = convert_model_to_gguf(tiny_qwen, root / "tiny-qwen-f16.gguf")
    adapter = convert_adapter_to_gguf(trained_adapter, tiny_qwen, root / "lora-f16.gguf")
    return base, adapter


@pytest.mark.slow
def test_tiny_qwen_base_converts_with_the_qwen2_pre_tokenizer(tiny_ggufs):
    """convert_hf_to_gguf.py fingerprints the pre-tokenizer and refuses unknown ones; the real
    Qwen2.5 tokenizer must be recognised."""
    from gguf import GGUFReader

    fields = GGUFReader(str(tiny_ggufs[0])).fields
    assert fields["general.type"].contents() == "model"
    assert fields["tokenizer.ggml.model"].contents() == "gpt2"
    assert fields["tokenizer.ggml.pre"].contents() == "qwen2"
    assert fields["qwen2.block_count"].contents() == TINY_SHAPE["num_hidden_layers"]


def _prompt_ids(tiny_qwen: Path) -> list[int]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_qwen), local_files_only=True)
    return list(tokenizer.apply_chat_template(CHATS[0][:-1], add_generation_prompt=True,
                                              tokenize=True, return_dict=False))


def _transformers_logits(tiny_qwen: Path, adapter: Path | None, ids: list[int]):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(tiny_qwen), dtype=torch.float32,
                                                 local_files_only=True)
    if adapter is not None:
        model = PeftModel.from_pretrained(model, str(adapter))
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0, -1].numpy()


def _llama_cpp_logits(base: Path, adapter: Path | None, ids: list[int]):
    import numpy as np
    from llama_cpp import Llama

    kwargs = {"lora_path": str(adapter)} if adapter else {}
    # logits_all: without it llama-cpp-python 0.3 samples inside llama.cpp and leaves
    # llm.scores at zero
    llm = Llama(model_path=str(base), n_ctx=64, n_threads=1, seed=0, logits_all=True,
                verbose=False, **kwargs)
    llm.eval(ids)
    logits = np.array(llm.scores[len(ids) - 1], dtype=np.float32)
    text = llm.create_completion(llm.detokenize(ids).decode("utf-8", "replace"),
                                 max_tokens=4, temperature=0)["choices"][0]["text"]
    llm.close()
    return logits, text


@pytest.mark.slow
def test_llama_cpp_serves_the_adapter_like_transformers(tiny_qwen, trained_adapter, tiny_ggufs,
                                                        one_torch_thread):
    import numpy as np

    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed yet")
    base_gguf, adapter_gguf = tiny_ggufs
    ids = _prompt_ids(tiny_qwen)
    plain, plain_text = _llama_cpp_logits(base_gguf, None, ids)
    tuned, tuned_text = _llama_cpp_logits(base_gguf, adapter_gguf, ids)
    assert isinstance(plain_text, str) and isinstance(tuned_text, str)

    # the adapter changes the next-token distribution...
    assert np.abs(tuned - plain).max() > 0.1
    # ...exactly as transformers + peft do: same tensors, same alpha / rank scale (the files
    # are float16, the reference float32; the measured gap is about 4e-4)
    assert np.allclose(plain, _transformers_logits(tiny_qwen, None, ids), atol=1e-2)
    assert np.allclose(tuned, _transformers_logits(tiny_qwen, trained_adapter, ids), atol=1e-2)


# ---------------------------------------------------------------- slow: the real base model


def _qwen2_config_from_gguf(gguf: Path) -> dict:
    """The shapes the real GGUF declares, as the transformers config a model folder made from
    it would have (read by llama.cpp: the GGUF's metadata only, in well under a second)."""
    from llama_cpp import Llama

    llm = Llama(model_path=str(gguf), vocab_only=True, verbose=False)
    meta = llm.metadata
    llm.close()
    return {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
            "hidden_size": int(meta["qwen2.embedding_length"]),
            "intermediate_size": int(meta["qwen2.feed_forward_length"]),
            "num_hidden_layers": int(meta["qwen2.block_count"]),
            "num_attention_heads": int(meta["qwen2.attention.head_count"]),
            "num_key_value_heads": int(meta["qwen2.attention.head_count_kv"]),
            "vocab_size": int(meta.get("qwen2.vocab_size", 151936))}


def _random_peft_adapter(config: dict, out_dir: Path) -> Path:
    """A peft-format LoRA on all linear layers of a model of this config, with random
    non-zero A and B: what training a 0.5B model would save, without the training."""
    import torch
    from safetensors.torch import save_file

    hidden, inner = config["hidden_size"], config["intermediate_size"]
    kv = config["num_key_value_heads"] * hidden // config["num_attention_heads"]
    shapes = {"self_attn.q_proj": (hidden, hidden), "self_attn.k_proj": (hidden, kv),
              "self_attn.v_proj": (hidden, kv), "self_attn.o_proj": (hidden, hidden),
              "mlp.gate_proj": (hidden, inner), "mlp.up_proj": (hidden, inner),
              "mlp.down_proj": (inner, hidden)}
    generator = torch.Generator().manual_seed(0)
    tensors = {}
    for layer in range(config["num_hidden_layers"]):
        for module, (fan_in, fan_out) in shapes.items():
            prefix = f"base_model.model.model.layers.{layer}.{module}"
            tensors[f"{prefix}.lora_A.weight"] = torch.randn(RANK, fan_in, generator=generator)
            tensors[f"{prefix}.lora_B.weight"] = torch.randn(fan_out, RANK, generator=generator)
    out_dir.mkdir(parents=True)
    save_file({k: (v * 0.02).half() for k, v in tensors.items()},
              str(out_dir / "adapter_model.safetensors"))
    (out_dir / "adapter_config.json").write_text(json.dumps(
        {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": RANK, "lora_alpha": 16,
         "target_modules": sorted(m.split(".")[1] for m in shapes)}))
    return out_dir


@pytest.mark.slow
def test_converted_adapter_fits_the_real_qwen_gguf(tmp_path):
    """Names and shapes of a converted adapter match the quantized model the app serves:
    llama.cpp refuses an adapter whose tensors do not fit its base."""
    import numpy as np

    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed yet")
    from llama_cpp import Llama

    _needs_tools()
    gguf = real_qwen_gguf()
    if gguf is None:
        pytest.skip("no Qwen2.5 GGUF: set ASSISTANT_TEST_GGUF to one")
    config = _qwen2_config_from_gguf(gguf)
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "config.json").write_text(json.dumps(config))
    adapter = convert_adapter_to_gguf(_random_peft_adapter(config, tmp_path / "adapter"),
                                      tmp_path / "base")

    def next_token_logits(**lora):
        llm = Llama(model_path=str(gguf), n_ctx=64, n_threads=2, logits_all=True,
                    verbose=False, **lora)
        ids = llm.tokenize(b"What does LoRA freeze?", add_bos=False)
        llm.eval(ids)
        logits = np.array(llm.scores[len(ids) - 1], dtype=np.float32)
        llm.close()
        return logits

    shift = next_token_logits(lora_path=str(adapter)) - next_token_logits()
    assert np.abs(shift).max() > 0.1
