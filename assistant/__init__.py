"""A local chat assistant with defensive UX: cited answers, honest refusals, feedback, evals."""

from assistant.offline import enforce_offline

# Set before any third-party import reads them: Chroma, Gradio, guardrails-ai and the
# Hugging Face libraries all decide about telemetry and downloads at import time.
enforce_offline()

__version__ = "0.1.0"
