"""No outbound network at run time: telemetry off and model hubs in offline mode."""

import os

OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",  # Chroma's posthog client
    "CHROMA_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "GUARDRAILS_TELEMETRY": "false",
    "OTEL_SDK_DISABLED": "true",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_TRACING": "false",
    "TOKENIZERS_PARALLELISM": "false",
    "DO_NOT_TRACK": "1",
}


def enforce_offline() -> None:
    """Force every telemetry/download switch we know of to its offline value."""
    for name, value in OFFLINE_ENVIRONMENT.items():
        os.environ[name] = value
