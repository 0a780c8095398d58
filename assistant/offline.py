"""No outbound network at run time: telemetry off and model hubs in offline mode.

`enforce_offline()` is the one explicit call that each entry point makes (the CLI, the app,
the test session, the scripts) before it imports a third-party library: Chroma, Gradio,
guardrails-ai and the Hugging Face libraries decide about telemetry and downloads when they
are imported. Importing a package of this project changes nothing by itself.
"""

import os

# Forced, whatever the caller's environment says: the project never phones home.
OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",  # Chroma's posthog client
    "CHROMA_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "GUARDRAILS_TELEMETRY": "false",
    # opentelemetry-sdk: every TracerProvider hands out a NoOpTracer, so no span is recorded or
    # exported (guardrails' HubTelemetry builds one).
    "OTEL_SDK_DISABLED": "true",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_TRACING": "false",
    "TOKENIZERS_PARALLELISM": "false",
    "DO_NOT_TRACK": "1",
}
# Defaulted: behaviour switches that a caller may have a reason to set differently.
DEFAULT_ENVIRONMENT = {
    # guardrails: run validators one after another in the calling thread; the default creates
    # or reuses an asyncio event loop, which clashes with the UI's own loops.
    "GUARDRAILS_RUN_SYNC": "true",
    # guardrails: Guard.history would keep every validated text (unredacted input) in memory.
    "GUARD_HISTORY_ENABLED": "false",
}


def enforce_offline() -> None:
    """Set every telemetry/download switch we know of to its offline value, and refuse
    run-time package installs (idempotent)."""
    os.environ.update(OFFLINE_ENVIRONMENT)
    for name, value in DEFAULT_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    refuse_runtime_installs()


class RuntimeInstallRefused(RuntimeError):
    """GPTCache tried to pip-install a missing backend while the app was running."""


def _refuse_install(package: str, warn: bool = False) -> None:
    raise RuntimeInstallRefused(
        f"GPTCache tried to pip-install {package!r} at run time. The assistant never installs "
        "packages while running: declare the package as a dependency, or use another backend."
    )


def refuse_runtime_installs() -> None:
    """Make GPTCache raise `RuntimeInstallRefused` where it would `pip install` a missing
    backend (its `import_*` helpers call `prompt_install`). For entry points; idempotent."""
    import gptcache.utils
    import gptcache.utils.dependency_control

    gptcache.utils.prompt_install = _refuse_install
    gptcache.utils.dependency_control.prompt_install = _refuse_install
