"""The learned injection detector: logistic regression over MiniLM sentence embeddings of a
message and of the readable texts hidden in it (decoded payloads, the end of a long text).

The weights ship in injection_model/ (weights.npz, provenance.json), trained by
`python -m evals.injection_train train` on published attack corpora and the team's own, with
its thresholds chosen on a development part of those and its rates measured on other,
held-out packages (see provenance.json). A message's probability is the highest over its
segments, so an attack hidden at the end of a document, or in base64, still counts.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.guards import normalize as nz
from assistant.guards.char_model import CharModel, load_char_model

MODEL_DIR = Path(__file__).resolve().parent / "injection_model"
# MiniLM reads at most 256 word pieces (about 1,000 characters of English): a longer text is
# also read from its end.
HEAD_CHARS = 1000
TAIL_CHARS = 700
MAX_DECODED_SEGMENTS = 2
OWN_TEXT = ("text", "tail")  # segments that are the message itself, not a decoding of it
# Decoded variants worth a look of their own (spelling variants such as leetspeak are not).
_READABLE_MIN_WORDS = 2


@dataclass(frozen=True)
class Segment:
    method: str  # "text", "tail", or how a decoded payload was obtained ("base64", ...)
    text: str


@dataclass(frozen=True)
class LinearModel:
    """p(attack) = sigmoid(w . x + b) for a unit-length embedding x."""

    weights: np.ndarray
    bias: float
    block: float  # probability that blocks on its own
    warn: float  # probability that adds half a block's weight
    info: dict | None = None

    @property
    def dims(self) -> int:
        return int(self.weights.shape[0])

    def probabilities(self, vectors: Sequence[Sequence[float]]) -> np.ndarray:
        x = np.asarray(vectors, dtype=np.float32)
        return 1.0 / (1.0 + np.exp(-(x @ self.weights + self.bias)))

    def save(self, folder: Path, provenance: dict) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / "weights.npz", weights=self.weights.astype(np.float32),
                 bias=np.float32(self.bias), block=np.float32(self.block),
                 warn=np.float32(self.warn))
        (folder / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")


def load_model(folder: Path = MODEL_DIR) -> LinearModel | None:
    """The shipped model, or None when its files are missing."""
    path = folder / "weights.npz"
    if not path.is_file():
        return None
    with np.load(path) as data:
        model = LinearModel(data["weights"], float(data["bias"]), float(data["block"]),
                            float(data["warn"]))
    info_path = folder / "provenance.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else None
    return LinearModel(model.weights, model.bias, model.block, model.warn, info)


_SHIPPED: dict[str, tuple] = {}
_LOCK = threading.Lock()


def shipped_models() -> tuple:
    """The shipped models (embedding, character n-gram; a missing one left out), loaded once
    per process."""
    with _LOCK:
        if "models" not in _SHIPPED:
            found = (load_model(), load_char_model(MODEL_DIR))
            _SHIPPED["models"] = tuple(m for m in found if m is not None)
        return _SHIPPED["models"]


def segments(text: str, decoded: Sequence[nz.Variant] | None = None) -> list[Segment]:
    """What to embed for a message: its (folded) text, its end when it is long, and up to
    MAX_DECODED_SEGMENTS decoded payloads that read as words."""
    folded = nz.fold(text).strip()
    out = [Segment("text", folded[:HEAD_CHARS])]
    if len(folded) > HEAD_CHARS + TAIL_CHARS // 2:
        out.append(Segment("tail", folded[-TAIL_CHARS:]))
    variants = nz.decoded_variants(text) if decoded is None else decoded
    readable = [v for v in variants
                if nz.common_word_count(v.text) >= _READABLE_MIN_WORDS and v.text.strip()]
    seen = {folded}
    for variant in readable:
        piece = variant.text.strip()[:HEAD_CHARS]
        if piece not in seen and len(out) < 2 + MAX_DECODED_SEGMENTS:
            seen.add(piece)
            out.append(Segment(variant.method, piece))
    return out


@dataclass(frozen=True)
class Reading:
    probability: float
    method: str  # the segment that scored highest


def read(model: LinearModel, pieces: Sequence[Segment],
         vectors: Sequence[Sequence[float]]) -> Reading | None:
    """The highest probability over the segments (None when the embedder's size differs from
    the model's: another embedder, such as the tests' fake one)."""
    if not pieces or len(vectors[0]) != model.dims:
        return None
    return _best(model.probabilities(vectors), pieces)


def _best(probabilities: np.ndarray, pieces: Sequence[Segment]) -> Reading:
    best = int(np.argmax(probabilities))
    return Reading(float(probabilities[best]), pieces[best].method)


def learned_readings(models: Sequence, pieces: Sequence[Segment],
                     vectors: Sequence[Sequence[float]]) -> list[tuple[str, Reading, object]]:
    """(what read it, its reading, the model) for each model that can read these segments."""
    out = []
    for model in models:
        if isinstance(model, CharModel):
            # The message as written only: it was trained on that, and a decoding of plain
            # text (Atbash of English) is gibberish it has never seen.
            own = [p for p in pieces if p.method in OWN_TEXT]
            if own:
                out.append(("character classifier",
                            _best(model.probabilities([p.text for p in own]), own), model))
        elif (reading := read(model, pieces, vectors)) is not None:
            out.append(("classifier", reading, model))
    return out
