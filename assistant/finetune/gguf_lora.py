"""peft LoRA adapter -> GGUF LoRA adapter, so that llama.cpp can serve what transformers trained.

The conversion is llama.cpp's own converter (convert_lora_to_gguf.py, shipped with
llama-cpp-python's source and extracted by scripts/setup.sh), run in a subprocess: it imports
its own, newer `gguf` package, which must not replace the one this process has loaded.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path

TOOLS_ENV = "ASSISTANT_LLAMA_TOOLS"
LORA_CONVERTER = "convert_lora_to_gguf.py"
MODEL_CONVERTER = "convert_hf_to_gguf.py"
ERROR_TAIL_LINES = 25

# The converters must never reach the Hugging Face hub: everything they need is local.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
               "HF_HUB_DISABLE_TELEMETRY": "1"}

# convert_hf_to_gguf.py's Qwen2 vocabulary step imports sentencepiece before it checks for a
# tokenizer.model, and falls back to the BPE tokenizer.json only on FileNotFoundError. Without
# sentencepiece installed it dies with ModuleNotFoundError instead. This stand-in lets the
# import succeed so the converter reaches its own check; it is used only when sentencepiece is
# absent, and fails loudly if a model really has a sentencepiece tokenizer.model.
SENTENCEPIECE_STAND_IN = '''\
"""Stand-in put on the converter's path by assistant.finetune.gguf_lora (sentencepiece absent)."""


class SentencePieceProcessor:
    def __init__(self, *args, **kwargs):
        raise ModuleNotFoundError(
            "this model has a sentencepiece tokenizer.model: pip install sentencepiece")
'''


class LlamaToolsMissing(RuntimeError):
    """llama.cpp's converter scripts are not where they should be."""


class GgufConversionError(RuntimeError):
    """A converter failed; the message ends with its last lines of output."""

    def __init__(self, message: str, output: str = ""):
        super().__init__(message)
        self.output = output


def llama_tools_dir() -> Path:
    """The folder with llama.cpp's converters: $ASSISTANT_LLAMA_TOOLS, else the virtualenv's
    share/llama-cpp-tools where scripts/setup.sh extracts them."""
    configured = os.environ.get(TOOLS_ENV)
    tools = Path(configured) if configured else Path(sys.prefix) / "share" / "llama-cpp-tools"
    if not (tools / LORA_CONVERTER).is_file():
        raise LlamaToolsMissing(
            f"llama.cpp's converters are missing: no {LORA_CONVERTER} in {tools}. "
            f"Rerun `bash scripts/setup.sh` (it extracts them from llama-cpp-python's source), "
            f"or set {TOOLS_ENV} to a folder that has them.")
    return tools


def _converter_script(tools: Path, name: str) -> Path:
    script = tools / name
    if not script.is_file():
        raise LlamaToolsMissing(f"{script} is missing; rerun `bash scripts/setup.sh`.")
    return script


def convert_adapter_to_gguf(adapter_dir: Path, base_model_dir: Path,
                            out_path: Path | None = None) -> Path:
    """A peft adapter folder -> a float16 GGUF LoRA adapter (default: adapter_dir/adapter.gguf).

    base_model_dir is the transformers model the adapter was trained on; the converter reads
    only its config.json, to map tensor names and shapes.
    """
    adapter_dir, base_model_dir = Path(adapter_dir), Path(base_model_dir)
    tools = llama_tools_dir()
    script = _converter_script(tools, LORA_CONVERTER)
    # checked here: the converter's own message for this is about a missing adapter_model.bin
    if not (adapter_dir / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{adapter_dir} is not a peft adapter folder: "
                                f"it has no adapter_config.json")
    out_path = Path(out_path) if out_path else adapter_dir / "adapter.gguf"
    with tempfile.TemporaryDirectory(prefix="gguf-lora-") as work:
        base_view = _clean_base_view(base_model_dir, Path(work))
        args = ["--base", str(base_view), "--outtype", "f16"]
        return _run_into(script, args, [str(adapter_dir)], out_path, _converter_env(tools))


def convert_model_to_gguf(hf_model_dir: Path, out_path: Path, outtype: str = "f16") -> Path:
    """A transformers model folder (weights and tokenizer) -> a GGUF model file."""
    hf_model_dir, out_path = Path(hf_model_dir), Path(out_path)
    tools = llama_tools_dir()
    script = _converter_script(tools, MODEL_CONVERTER)
    with tempfile.TemporaryDirectory(prefix="gguf-model-") as work:
        work = Path(work)
        model_view = _clean_base_view(hf_model_dir, work)
        env = _converter_env(tools, extra_paths=_sentencepiece_stand_in(work))
        return _run_into(script, ["--outtype", outtype], [str(model_view)], out_path, env)


def _run_into(script: Path, options: list[str], inputs: list[str], out_path: Path,
              env: dict[str, str]) -> Path:
    """Runs a converter that writes to a hidden sibling of out_path, then renames it into
    place: readers (and a crash) never see a half-written file."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex[:8]}.partial")
    command = [sys.executable, str(script), *options, "--outfile", str(partial), *inputs]
    try:
        completed = subprocess.run(command, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, errors="replace",
                                   check=False)
        if completed.returncode != 0 or not partial.is_file():
            raise _conversion_error(script, completed.returncode, completed.stdout)
        os.replace(partial, out_path)
    finally:
        partial.unlink(missing_ok=True)
    return out_path


def _conversion_error(script: Path, returncode: int, output: str) -> GgufConversionError:
    # progress bars redraw with carriage returns; keep only what a person would have seen last
    lines = [line.rsplit("\r", 1)[-1] for line in output.split("\n")]
    tail = "\n".join(line for line in lines if line.strip())
    tail = "\n".join(tail.splitlines()[-ERROR_TAIL_LINES:])
    return GgufConversionError(f"{script.name} failed (exit code {returncode}):\n{tail}", output)


def _converter_env(tools: Path, extra_paths: Iterable[Path] = ()) -> dict[str, str]:
    """The converters import `gguf` and `conversion` from the tools folder: its newer gguf-py
    goes first so that the older `gguf` installed in the virtualenv does not shadow it."""
    paths = [str(tools / "gguf-py"), str(tools), *map(str, extra_paths)]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return {**os.environ, **OFFLINE_ENV, "PYTHONPATH": os.pathsep.join(paths)}


def _sentencepiece_stand_in(work: Path) -> list[Path]:
    if importlib.util.find_spec("sentencepiece") is not None:
        return []
    folder = work / "stand-ins"
    folder.mkdir()
    (folder / "sentencepiece.py").write_text(SENTENCEPIECE_STAND_IN)
    return [folder]


def _clean_base_view(model_dir: Path, work: Path) -> Path:
    """A folder of symlinks to model_dir's files, with a config.json the converter accepts.

    A model directory that transformers made from a GGUF file can carry
    quantization_config = {"quant_method": "gguf", ...}; the converter then stops with
    "Quant method is not yet supported: 'gguf'". Editing the user's config.json in place would
    race with anything loading the model meanwhile, so the converter gets this view instead.
    It keeps the folder's name, from which the converter derives the GGUF's general.name.
    """
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{model_dir} has no config.json: not a transformers model folder")
    view = work / "model" / model_dir.resolve().name
    view.mkdir(parents=True)
    for entry in model_dir.iterdir():
        if entry.name != "config.json":
            (view / entry.name).symlink_to(entry.resolve())
    config = json.loads(config_path.read_text())
    config.pop("quantization_config", None)
    _name_architecture(config)
    (view / "config.json").write_text(json.dumps(config, indent=2))
    return view


def _name_architecture(config: dict) -> None:
    """The converter picks its model class by config["architectures"], which a config saved
    on its own (AutoConfig(...).save_pretrained, as from a GGUF file) lacks: it then fails
    with "Failed to detect model architecture". The causal LM class of the model_type is
    what every model directory saved with its weights names."""
    if config.get("architectures") or "model_type" not in config:
        return
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    causal_lm = MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.get(config["model_type"])
    if causal_lm:
        config["architectures"] = [causal_lm]
