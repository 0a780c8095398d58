"""Assemble the assistant from settings: log, index (with the bundled handbook), model, pipeline."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from assistant.base_models import (
    CATALOG,
    DEFAULT_MODEL,
    BaseModel,
    ModelUnavailable,
    ensure_assembled,
    find_base_model,
)
from assistant.config import Settings
from assistant.generator import LocalGenerator
from assistant.llama_generator import LlamaCppGenerator
from assistant.log import ConversationLog
from assistant.model_store import ensure_hf_model
from assistant.pipeline import Pipeline
from assistant.server_generator import ServerGenerator
from assistant.vectorstore import KnowledgeIndex


class UnavailableGenerator:
    """Stands in when no model can be loaded, so the app still starts and says what to do."""

    adapter = None

    def __init__(self, reason: str):
        self.name = "unavailable"
        self.reason = reason

    def stream(self, messages, max_new_tokens=200, yes_no=False):
        raise ModelUnavailable(self.reason)


def ingest_handbook(index: KnowledgeIndex, progress: Callable[[str], None] = print):
    from tqdm import tqdm

    from knowledge import HANDBOOK_DIR, HANDBOOK_NAMESPACE
    from knowledge.ingest import ingest_paths

    report = ingest_paths(
        index,
        [HANDBOOK_DIR],
        namespace=HANDBOOK_NAMESPACE,
        progress=lambda items: tqdm(items, desc="Indexing handbook", unit="doc", leave=False),
    )
    if report.changed:
        progress(f"Handbook indexed: {report.summary()}")
    return report


def base_model_of(settings: Settings) -> BaseModel | None:
    """The catalog model ASSISTANT_MODEL names (the default when unset); None for a path."""
    if settings.model is None:
        return DEFAULT_MODEL
    return find_base_model(settings.model)


def model_name(settings: Settings) -> str:
    """The base model's name as logged and as written into adapter metadata."""
    base = base_model_of(settings)
    if base is not None:
        return base.name
    path = Path(settings.model).expanduser()
    # A copy of a bundled model's file is that model (its adapters fit it).
    known = next((m for m in CATALOG.values() if m.filename == path.name), None)
    return known.name if known else path.name


def resolve_adapter(settings: Settings, progress: Callable[[str], None] = print) -> Path | None:
    """ASSISTANT_ADAPTER wins ("none" = base model); else the live adapter of the data dir,
    provided it was trained on the base model in use (an adapter fits one base only)."""
    from assistant.finetune.adapters import BASE_MODEL, install_shipped, metadata

    if settings.adapter == BASE_MODEL:
        return None
    if settings.adapter:
        return settings.adapter_path()
    live = install_shipped(settings.adapters_dir, model_name(settings))
    if not live:
        return None
    adapter_dir = settings.adapters_dir / live
    trained_on = metadata(adapter_dir).get("base_model")
    if trained_on and trained_on != model_name(settings):
        progress(f"The live adapter {live} was trained on {trained_on}, not "
                 f"{model_name(settings)}: answering with the base model.")
        return None
    return adapter_dir


def hf_model_dir(settings: Settings, progress: Callable[[str], None] = print) -> Path:
    """The transformers form of the configured model (converted from its GGUF once)."""
    base = base_model_of(settings)
    if base is not None:
        return ensure_hf_model(base, settings.models_dir, settings.hf_model_dir(base.key),
                               progress)
    path = Path(settings.model).expanduser()
    if path.suffix == ".gguf":
        raise ModelUnavailable(f"{path} is a GGUF file; training and the transformers runtime "
                               "need a Hugging Face model directory.")
    return path


def gguf_path(settings: Settings, progress: Callable[[str], None] = print) -> Path:
    base = base_model_of(settings)
    if base is not None:
        return ensure_assembled(base, settings.models_dir, progress)
    path = Path(settings.model).expanduser()
    if path.suffix != ".gguf":
        raise ModelUnavailable(f"{path} is not a .gguf file; llama.cpp serves GGUF models "
                               "(or set ASSISTANT_RUNTIME=transformers for a HF directory).")
    return path


def make_generator(settings: Settings, progress: Callable[[str], None] = print):
    """The configured runtime over the configured model and adapter; an UnavailableGenerator
    (which says what to do) when the model cannot be found or prepared."""
    if settings.llm_url:
        # The server applies its own adapter; only an explicitly chosen one is asked for.
        return ServerGenerator(settings.llm_url, adapter=settings.adapter,
                               api_key=os.environ.get("ASSISTANT_LLM_API_KEY"))
    try:
        name = model_name(settings)
        adapter_dir = resolve_adapter(settings, progress)
        base = base_model_of(settings)
        yes_bias = base.yes_bias if base is not None else 0.0
        if settings.runtime == "transformers":
            return LocalGenerator(hf_model_dir(settings, progress), adapter_dir, name=name,
                                  yes_bias=yes_bias)
        if settings.runtime != "llama.cpp":
            raise ModelUnavailable(f"Unknown ASSISTANT_RUNTIME {settings.runtime!r}; use "
                                   "llama.cpp or transformers.")
        adapter_gguf = adapter_dir / "adapter.gguf" if adapter_dir else None
        return LlamaCppGenerator(gguf_path(settings, progress), adapter_gguf, name=name,
                                 threads=settings.threads, yes_bias=yes_bias)
    except ModelUnavailable as err:
        progress(f"WARNING: {err}")
        return UnavailableGenerator(str(err))


def warm_up(generator, progress: Callable[[str], None] = print) -> None:
    """Load the model and compute the fixed system prompt once, before the first question:
    llama.cpp then reuses that prefix's KV cache and only prefills each turn's sources."""
    from assistant.prompt import build_messages

    if not hasattr(generator, "warm"):
        return
    try:
        generator.warm(build_messages("", []))
    except ModelUnavailable as err:
        progress(f"WARNING: {err}")


def make_guards(embeddings=None, support_check: bool = True):
    """The guards over `embeddings` (MiniLM when None), with the shipped support checker when
    support_check and its adapter is installed; else support is read from word overlap."""
    from assistant.embeddings import load_embeddings
    from assistant.guards.guards import Guards
    from assistant.guards.support import SupportChecker
    from assistant.prompt import SYSTEM_PROMPT

    embeddings = embeddings if embeddings is not None else load_embeddings()
    checker = SupportChecker() if support_check else None
    return Guards(SYSTEM_PROMPT, embed_fn=embeddings.embed_documents,
                  checker=checker if checker and checker.available else None)


def make_cache(settings: Settings, embeddings=None):
    from assistant.embeddings import load_embeddings
    from assistant.semantic_cache import SemanticCache

    embeddings = embeddings if embeddings is not None else load_embeddings()
    kwargs = {"threshold": settings.cache_threshold} if settings.cache_threshold else {}
    return SemanticCache(settings.cache_dir, embed_fn=embeddings.embed_query, **kwargs)


def open_assistant(
    settings: Settings | None = None,
    progress: Callable[[str], None] = print,
    with_handbook: bool = True,
    generator=None,
    with_guards: bool = True,
    with_cache: bool = True,
    embeddings=None,
) -> Pipeline:
    """Everything one process needs; first start converts the model and indexes the handbook.
    `embeddings` (MiniLM when None) serve the index, the guards and the cache alike."""
    settings = settings or Settings.from_env()
    settings.home.mkdir(parents=True, exist_ok=True)
    log = ConversationLog(settings.db_path)
    index = KnowledgeIndex(settings.chroma_dir, settings.collection, embeddings)
    if with_handbook:
        ingest_handbook(index, progress)
    if generator is None:
        generator = make_generator(settings, progress)
    embeddings = index.embeddings
    guards = make_guards(embeddings) if with_guards and settings.guards else None
    cache = (make_cache(settings, embeddings)
             if with_cache and settings.cache_threshold != 1.0 else None)
    return Pipeline(settings, index, generator, log, guards=guards, cache=cache)
