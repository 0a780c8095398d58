import functools
import os
from pathlib import Path

from assistant.offline import enforce_offline

# The test session is an entry point like the CLI: offline switches first, before any library
# that reads them at import time is imported (by this file or by a test module).
enforce_offline()

import pytest  # noqa: E402

from assistant.config import Settings  # noqa: E402
from tests.fakes import (  # noqa: E402
    FAKE_MIN_RELEVANCE,
    FakeEmbeddings,
    ScriptedGenerator,
    WordSupportChecker,
)

HERE = Path(__file__).parent
REAL_WEIGHTS = ("real weights in a fast test: mark it slow or use the fake embedder "
                "(tests/fakes.py FakeEmbeddings; make_guards(..., support_check=False))")
_running = {"slow": False}  # whether the test being set up or run is marked slow


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _running["slow"] = item.get_closest_marker("slow") is not None


def _slow_only(load):
    """`load`, refused (pytest.fail: an `except Exception` in the code under test cannot hide it)
    unless the running test is marked slow."""

    @functools.wraps(load)
    def guarded(*args, **kwargs):
        if not _running["slow"]:
            pytest.fail(f"{load.__qualname__}: {REAL_WEIGHTS}")
        return load(*args, **kwargs)

    return guarded


@pytest.fixture(scope="session", autouse=True)
def real_weights_only_in_slow_tests():
    """MiniLM (the embeddings, and the support checker built on it) loads only in slow tests,
    also when a session fixture loads it on behalf of the test that first needs it."""
    from assistant import embeddings, vectorstore
    from assistant.guards.support import SupportChecker

    load_embeddings = _slow_only(embeddings.load_embeddings)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(embeddings, "load_embeddings", load_embeddings)
        patch.setattr(vectorstore, "load_embeddings", load_embeddings)
        patch.setattr(embeddings, "embedding_model_dir", _slow_only(embeddings.embedding_model_dir))
        patch.setattr(SupportChecker, "_load", _slow_only(SupportChecker._load))
        yield


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Every test gets its own ASSISTANT_HOME; nothing touches the user's data directory."""
    home = tmp_path / "home"
    monkeypatch.setenv("ASSISTANT_HOME", str(home))
    for name in ("ASSISTANT_MODEL", "ASSISTANT_ADAPTER", "ASSISTANT_CHROMA_URL",
                 "ASSISTANT_MIN_RELEVANCE"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def settings(isolated_home) -> Settings:
    return Settings.from_env()


def _indexed_home(home: Path, embeddings) -> Path:
    from assistant.runtime import open_assistant

    settings = Settings.from_env().with_changes(home=home)
    open_assistant(settings, progress=lambda m: None, generator=ScriptedGenerator(),
                   with_guards=False, with_cache=False, embeddings=embeddings)
    return home


def _pipeline(home: Path, embeddings, log_path: Path, **changes):
    from assistant.log import ConversationLog
    from assistant.pipeline import Pipeline
    from assistant.vectorstore import KnowledgeIndex

    settings = Settings.from_env().with_changes(home=home, **changes)
    index = KnowledgeIndex(settings.chroma_dir, settings.collection, embeddings)
    return Pipeline(settings, index, ScriptedGenerator(), ConversationLog(log_path))


@pytest.fixture(scope="session")
def fake_embeddings() -> FakeEmbeddings:
    return FakeEmbeddings()


@pytest.fixture(scope="session")
def shared_home(tmp_path_factory, fake_embeddings) -> Path:
    """An ASSISTANT_HOME with the handbook indexed by the fake embedder, built once per test
    session: open its index with `fake_embeddings` (MiniLM's index is real_shared_home)."""
    return _indexed_home(tmp_path_factory.mktemp("shared-home"), fake_embeddings)


@pytest.fixture
def handbook_pipeline(shared_home, fake_embeddings, tmp_path):
    """A pipeline over the indexed handbook (real Chroma, fake embeddings, real SQLite log),
    with a scripted generator and the fake's relevance threshold; each test gets a fresh log."""
    return _pipeline(shared_home, fake_embeddings, tmp_path / "logs.db",
                     min_relevance=FAKE_MIN_RELEVANCE)


@pytest.fixture
def fake_eval_models(monkeypatch, fake_embeddings):
    """The `eval` commands and evals.logged build their own embedder, support checker and
    pipeline, with no parameter to pass fakes through: the three factories they call are
    replaced by ones that return the fakes."""
    from evals import correctness, replay, scoring

    monkeypatch.setattr(scoring, "embedder", lambda: fake_embeddings.embed_documents)
    monkeypatch.setattr(correctness, "shipped_checker", WordSupportChecker)
    monkeypatch.setattr(replay, "build_pipeline",
                        functools.partial(replay.build_pipeline, embeddings=fake_embeddings))


@pytest.fixture(scope="session")
def real_shared_home(tmp_path_factory) -> Path:
    """The handbook indexed with the real MiniLM embeddings: slow tests only."""
    return _indexed_home(tmp_path_factory.mktemp("real-shared-home"), None)


@pytest.fixture
def real_handbook_pipeline(real_shared_home, tmp_path):
    """handbook_pipeline with the real MiniLM embeddings and threshold: slow tests only."""
    return _pipeline(real_shared_home, None, tmp_path / "logs.db")


@pytest.fixture(scope="session")
def real_model_dir(tmp_path_factory) -> Path:
    """SmolLM2-135M in transformers form, converted once per session (about 40 s), or a cached
    copy: the small model keeps the transformers-runtime and training tests quick."""
    from assistant.base_models import SMOLLM2_135M
    from assistant.model_store import ensure_hf_model, is_converted

    cached = os.environ.get("ASSISTANT_TEST_MODEL_DIR")
    if cached and is_converted(Path(cached)):
        return Path(cached)
    parent = tmp_path_factory.mktemp("model-parent")
    return ensure_hf_model(SMOLLM2_135M, parent / "models", parent / "model",
                           progress=lambda m: None)


@pytest.fixture(scope="session")
def tiny_qwen(tmp_path_factory) -> Path:
    """A random-weight qwen2 with the real Qwen2.5 tokenizer (tests/tiny_qwen.py)."""
    from tests.tiny_qwen import make_tiny_qwen, real_qwen_gguf

    gguf = real_qwen_gguf()
    if gguf is None:
        pytest.skip("no Qwen2.5 GGUF for the tokenizer: run `bash scripts/setup.sh` or set "
                    "ASSISTANT_TEST_GGUF to one")
    return make_tiny_qwen(tmp_path_factory.mktemp("tiny-qwen") / "tiny-qwen", gguf)


@pytest.fixture(scope="session")
def tiny_qwen_gguf(tiny_qwen, tmp_path_factory) -> Path:
    """The tiny qwen2 as an f16 GGUF, for fast tests of the llama.cpp runtime."""
    from assistant.finetune.gguf_lora import LlamaToolsMissing, convert_model_to_gguf

    try:
        return convert_model_to_gguf(tiny_qwen, tmp_path_factory.mktemp("tiny-gguf") / "tiny.gguf")
    except LlamaToolsMissing as missing:
        pytest.skip(str(missing))


@pytest.fixture(scope="session")
def qwen_gguf(tmp_path_factory) -> Path:
    """The default model's GGUF, as set-up assembled it (or assembled here from the installed
    parts): the browser and CLI tests run the real default stack, llama.cpp included."""
    from assistant.base_models import DEFAULT_MODEL, ensure_assembled
    from tests.tiny_qwen import real_qwen_gguf

    return real_qwen_gguf() or ensure_assembled(DEFAULT_MODEL, tmp_path_factory.mktemp("models"),
                                                progress=lambda m: None)
