"""Settings: one environment variable (ASSISTANT_HOME) roots all on-disk state."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

# Relevance (1 - cosine distance) below which a passage does not count as evidence.
# Calibrated on the golden train split by `python -m evals.calibrate_threshold`
# (balanced accuracy 0.90 on train: answerable top scores median 0.61, unanswerable 0.23).
DEFAULT_MIN_RELEVANCE = 0.41


def default_home() -> Path:
    """Per-user data directory, following the XDG convention."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "assistant"


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default



class UnderHome:
    """A path under the settings' home folder, read like an attribute."""

    def __init__(self, name: str):
        self.name = name

    def __get__(self, settings, owner=None):
        return self if settings is None else settings.home / self.name


@dataclass(frozen=True)
class Settings:
    home: Path
    # A catalog key (assistant.base_models), a .gguf file, or a local HF model directory;
    # None means the default base model.
    model: str | None = None
    runtime: str = "llama.cpp"  # or "transformers" (the fallback; also used for training)
    threads: int | None = None  # llama.cpp threads; None: one per core
    adapter: str | None = None  # adapter name under home/adapters, or a path
    top_k: int = 4
    min_relevance: float = DEFAULT_MIN_RELEVANCE
    max_question_chars: int = 4000
    max_new_tokens: int = 200
    source_chars: int = 600  # each source is cut to its best sentences within this many chars
    collection: str = "knowledge"
    cache_threshold: float | None = None  # None: the semantic cache's measured default
    guards: bool = True  # False only for measuring the model alone (ASSISTANT_GUARDS=off)
    # Who is asking: None (one person, no login), "password" (logins from home/users.json,
    # added with `assistant users add`), or "header:NAME" (a reverse proxy's trusted header).
    login: str | None = None
    llm_url: str | None = None  # an OpenAI-compatible model server instead of in-process
    rate_limit: str = "20/60"  # at most 20 questions per 60 s per user (or browser session)
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("ASSISTANT_HOME") or default_home()).expanduser()
        model = os.environ.get("ASSISTANT_MODEL")
        return cls(
            home=home,
            model=model or None,
            runtime=os.environ.get("ASSISTANT_RUNTIME", "llama.cpp").lower(),
            threads=_env_int("ASSISTANT_THREADS", 0) or None,
            adapter=os.environ.get("ASSISTANT_ADAPTER") or None,
            top_k=_env_int("ASSISTANT_TOP_K", 4),
            min_relevance=_env_float("ASSISTANT_MIN_RELEVANCE", DEFAULT_MIN_RELEVANCE),
            max_question_chars=_env_int("ASSISTANT_MAX_QUESTION_CHARS", 4000),
            max_new_tokens=_env_int("ASSISTANT_MAX_NEW_TOKENS", 200),
            source_chars=_env_int("ASSISTANT_SOURCE_CHARS", 600),
            cache_threshold=_env_float("ASSISTANT_CACHE_THRESHOLD", 0.0) or None,
            guards=os.environ.get("ASSISTANT_GUARDS", "on").lower() not in ("off", "0", "false"),
            login=os.environ.get("ASSISTANT_LOGIN") or None,
            llm_url=os.environ.get("ASSISTANT_LLM_URL") or None,
            rate_limit=os.environ.get("ASSISTANT_RATE_LIMIT", "20/60"),
        )

    def with_changes(self, **changes) -> Settings:
        return replace(self, **changes)

    # Where things live under home (class attributes, not settings: they follow from home).
    db_path = UnderHome("logs.db")  # the conversation log
    chroma_dir = UnderHome("chroma")
    models_dir = UnderHome("models")  # assembled GGUF base models
    adapters_dir = UnderHome("adapters")
    cache_dir = UnderHome("cache")
    users_path = UnderHome("users.json")  # login names and password hashes

    def hf_model_dir(self, key: str) -> Path:
        """The transformers form of a catalog model (for training and log-likelihood evals)."""
        return self.home / "hf" / key

    def adapter_path(self) -> Path | None:
        if not self.adapter:
            return None
        candidate = Path(self.adapter).expanduser()
        return candidate if candidate.is_absolute() else self.adapters_dir / self.adapter
