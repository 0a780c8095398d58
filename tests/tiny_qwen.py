"""A tiny random-weight qwen2 model with the real Qwen2.5 tokenizer, made without any download.

The weights are random (2 layers, hidden 64), so it trains and converts in seconds; the tokenizer
is the real one, read from the GGUF base model, because llama.cpp's converter only accepts
tokenizers whose pre-tokenizer it recognises, and the chat template must be the real one for
assistant.finetune.train to mask the prompt.
"""

from __future__ import annotations

import os
from pathlib import Path

GGUF_ENV = "ASSISTANT_TEST_GGUF"


def _assembled_by_setup() -> Path:
    """Where `bash scripts/setup.sh` put the default model (read at import, before the tests
    point ASSISTANT_HOME at their own temporary folders)."""
    from assistant.base_models import DEFAULT_MODEL, assembled_path
    from assistant.config import Settings

    return assembled_path(DEFAULT_MODEL, Settings.from_env().models_dir)


DEFAULT_QWEN_GGUF = _assembled_by_setup()

# Small enough to train on one CPU core in seconds; the vocabulary must stay the real one.
TINY_SHAPE = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "intermediate_size": 128,
    "max_position_embeddings": 512,
}


def real_qwen_gguf() -> Path | None:
    """The Qwen2.5 GGUF the tokenizer comes from: $ASSISTANT_TEST_GGUF, else the default copy;
    None when neither exists (tests then skip)."""
    configured = os.environ.get(GGUF_ENV)
    path = Path(configured) if configured else DEFAULT_QWEN_GGUF
    return path if path.is_file() else None


def save_qwen_tokenizer(gguf: Path, out_dir: Path):
    """Tokenizer (with its chat template) rebuilt from the GGUF metadata, saved as HF files."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tokenizer.save_pretrained(str(out_dir))
    return tokenizer


def make_tiny_qwen(out_dir: Path, gguf: Path, seed: int = 0) -> Path:
    """A transformers qwen2 model directory (config, float32 safetensors, tokenizer)."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = save_qwen_tokenizer(gguf, out_dir)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        # tied like Qwen2.5-0.5B: one 10M-parameter embedding instead of two
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **TINY_SHAPE,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.save_pretrained(str(out_dir))
    return out_dir
