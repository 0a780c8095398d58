"""The transformers form of a base model: its GGUF dequantized once into safetensors.

llama.cpp serves the GGUF itself; this form is for peft training, log-likelihood evals and the
transformers fallback runtime.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from assistant.base_models import BaseModel, ModelUnavailable, ensure_assembled

__all__ = ["ModelUnavailable", "convert_gguf", "ensure_hf_model", "is_converted"]


def is_converted(model_dir: Path) -> bool:
    return (model_dir / "config.json").is_file() and (model_dir / "model.safetensors").is_file()


def ensure_hf_model(model: BaseModel, models_dir: Path, model_dir: Path,
                    progress: Callable[[str], None] = print) -> Path:
    """model_dir holding the transformers form of `model`, converted from its GGUF once."""
    if is_converted(model_dir):
        return model_dir
    gguf = ensure_assembled(model, models_dir, progress)
    progress(f"Converting {gguf.name} to safetensors for training and evals (once)...")
    started = time.monotonic()
    convert_gguf(gguf, model_dir, model.name)
    progress(f"Model converted in {time.monotonic() - started:.0f} s -> {model_dir}")
    return model_dir


def convert_gguf(gguf: Path, model_dir: Path, name: str) -> Path:
    """GGUF file -> bfloat16 safetensors model directory (with its tokenizer).

    Written to a temporary sibling and renamed into place, so an interrupted conversion never
    leaves a half-written model behind.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent),
        gguf_file=gguf.name,
        quantization_config=GgufConfig(gguf_file=gguf.name, dequantize=True),
        dtype=torch.float32,
    )
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # A dequantized model is a plain dense model: drop every trace of the GGUF quantizer so
    # that loading the saved copy does not go through the GGUF path again.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.name_or_path = name

    model_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".model-", dir=model_dir.parent))
    try:
        model.to(torch.bfloat16).save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        _strip_quantization_config(staging / "config.json")
        if model_dir.exists():
            shutil.rmtree(model_dir)
        staging.rename(model_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return model_dir


def _strip_quantization_config(config_path: Path) -> None:
    config = json.loads(config_path.read_text())
    if config.pop("quantization_config", None) is not None:
        config_path.write_text(json.dumps(config, indent=2))
