"""The second learned injection detector: logistic regression over character n-grams.

MiniLM reads English meaning; attacks written by others often hide their intent in form
instead: another language around an English payload, odd spacing, leetspeak, markup. Character
2-4-grams (TF-IDF, within word boundaries) see those forms. Trained by
`python -m evals.injection_train train-chars` on the embedding model's sources and thresholded
on the same development part; held out by source, the two together flag more than either alone (see
provenance.json and the README). Weights, vocabulary and idf ship in injection_model/chars.npz
(no pickle); scikit-learn's vectorizer is rebuilt from them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHARS_FILE = "chars.npz"
NGRAMS = (2, 4)
MAX_FEATURES = 30000


def vectorizer(vocabulary: dict[str, int] | None = None):
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, min_df=3,
                           max_features=MAX_FEATURES, sublinear_tf=True, vocabulary=vocabulary)


@dataclass
class CharModel:
    """p(attack) = sigmoid(w . tfidf(text) + b)."""

    vocabulary: np.ndarray  # the n-grams, in feature order
    idf: np.ndarray
    weights: np.ndarray
    bias: float
    block: float  # probability that blocks on its own
    warn: float  # probability that adds half a block's weight

    def __post_init__(self):
        self._vectorizer = None
        self._lock = threading.Lock()

    def _features(self, texts: Sequence[str]):
        with self._lock:
            if self._vectorizer is None:
                built = vectorizer({g: i for i, g in enumerate(self.vocabulary.tolist())})
                built.idf_ = self.idf
                self._vectorizer = built
        return self._vectorizer.transform(list(texts))

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        scores = self._features(texts) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.asarray(scores, dtype=np.float64)))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(folder / CHARS_FILE, vocabulary=self.vocabulary,
                            idf=self.idf.astype(np.float32),
                            weights=self.weights.astype(np.float32),
                            bias=np.float32(self.bias), block=np.float32(self.block),
                            warn=np.float32(self.warn))


def load_char_model(folder: Path) -> CharModel | None:
    """The model in `folder`, or None when it has none."""
    path = folder / CHARS_FILE
    if not path.is_file():
        return None
    with np.load(path) as data:
        return CharModel(data["vocabulary"], data["idf"], data["weights"], float(data["bias"]),
                         float(data["block"]), float(data["warn"]))
