import os
from pathlib import Path

from assistant.offline import enforce_offline

# The test session is an entry point like the CLI: offline switches first, before any library
# that reads them at import time is imported (by this file or by a test module).
enforce_offline()

import pytest  # noqa: E402

from assistant.config import Settings  # noqa: E402
from tests.fakes import ScriptedGenerator  # noqa: E402

HERE = Path(__file__).parent


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


@pytest.fixture(scope="session")
def shared_home(tmp_path_factory) -> Path:
    """An ASSISTANT_HOME with the handbook indexed, built once per test session."""
    from assistant.runtime import open_assistant

    home = tmp_path_factory.mktemp("shared-home")
    settings = Settings.from_env().with_changes(home=home)
    open_assistant(settings, progress=lambda m: None, generator=ScriptedGenerator())
    return home


@pytest.fixture
def handbook_pipeline(shared_home, tmp_path):
    """A pipeline over the real indexed handbook (real Chroma, real embeddings, real SQLite log)
    with a scripted generator; each test gets a fresh log."""
    from assistant.log import ConversationLog
    from assistant.pipeline import Pipeline
    from assistant.vectorstore import KnowledgeIndex

    settings = Settings.from_env().with_changes(home=shared_home)
    index = KnowledgeIndex(settings.chroma_dir, settings.collection)
    log = ConversationLog(tmp_path / "logs.db")
    return Pipeline(settings, index, ScriptedGenerator(), log)


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
    from assistant.base_models import QWEN_05B, ensure_assembled
    from tests.tiny_qwen import real_qwen_gguf

    return real_qwen_gguf() or ensure_assembled(QWEN_05B, tmp_path_factory.mktemp("models"),
                                                progress=lambda m: None)
