"""Assemble the assistant from settings: log, index (with the bundled handbook), model, pipeline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from assistant.config import Settings
from assistant.generator import LocalGenerator
from assistant.log import ConversationLog
from assistant.model_store import (
    BUNDLED_MODEL_NAME,
    ModelUnavailable,
    convert_bundled_model,
    is_converted,
)
from assistant.pipeline import Pipeline
from assistant.vectorstore import KnowledgeIndex


class UnavailableGenerator:
    """Stands in when no model can be loaded, so the app still starts and says what to do."""

    adapter = None

    def __init__(self, reason: str):
        self.name = "unavailable"
        self.reason = reason

    def stream(self, messages, max_new_tokens=200):
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


def resolve_adapter(settings: Settings) -> Path | None:
    """ASSISTANT_ADAPTER wins ("none" = base model); else the live adapter of the data dir."""
    from assistant.finetune.adapters import BASE_MODEL, install_shipped

    if settings.adapter == BASE_MODEL:
        return None
    if settings.adapter:
        return settings.adapter_path()
    live = install_shipped(settings.adapters_dir)
    return settings.adapters_dir / live if live else None


def make_generator(settings: Settings, progress: Callable[[str], None] = print):
    try:
        if settings.model_path is not None:
            model_dir, name = settings.model_path, settings.model_path.name
        else:
            if not is_converted(settings.converted_model_dir):
                convert_bundled_model(settings.converted_model_dir, progress)
            model_dir, name = settings.converted_model_dir, BUNDLED_MODEL_NAME
    except ModelUnavailable as err:
        progress(f"WARNING: {err}")
        return UnavailableGenerator(str(err))
    return LocalGenerator(Path(model_dir), resolve_adapter(settings), name=name)


def make_guards():
    from assistant.embeddings import load_embeddings
    from assistant.guards import Guards
    from assistant.prompt import SYSTEM_PROMPT

    return Guards(SYSTEM_PROMPT, embed_fn=load_embeddings().embed_documents)


def make_cache(settings: Settings):
    from assistant.embeddings import load_embeddings
    from assistant.semantic_cache import SemanticCache

    kwargs = {"threshold": settings.cache_threshold} if settings.cache_threshold else {}
    return SemanticCache(settings.cache_dir, embed_fn=load_embeddings().embed_query, **kwargs)


def open_assistant(
    settings: Settings | None = None,
    progress: Callable[[str], None] = print,
    with_handbook: bool = True,
    generator=None,
    with_guards: bool = True,
    with_cache: bool = True,
) -> Pipeline:
    """Everything one process needs; first start converts the model and indexes the handbook."""
    settings = settings or Settings.from_env()
    settings.home.mkdir(parents=True, exist_ok=True)
    log = ConversationLog(settings.db_path)
    index = KnowledgeIndex(settings.chroma_dir, settings.collection)
    if with_handbook:
        ingest_handbook(index, progress)
    if generator is None:
        generator = make_generator(settings, progress)
    guards = make_guards() if with_guards and settings.guards else None
    cache = make_cache(settings) if with_cache and settings.cache_threshold != 1.0 else None
    return Pipeline(settings, index, generator, log, guards=guards, cache=cache)
