"""Import guardrails-ai without any outbound traffic: no NLTK download, no telemetry export.

Imported by the package's ``__init__`` before anything else touches guardrails; see the
package docstring for the why. Everything here is idempotent.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager

log = logging.getLogger(__name__)

# Forced, not defaulted: the project runs with no telemetry whatever the caller's environment.
FORCED_ENVIRONMENT = {
    # opentelemetry-sdk: every TracerProvider hands out a NoOpTracer (no span is ever recorded,
    # so nothing can be exported), including the one guardrails' HubTelemetry builds.
    "OTEL_SDK_DISABLED": "true",
}
# Defaulted: behaviour switches that a caller may have a reason to set differently.
DEFAULT_ENVIRONMENT = {
    # Run validators one after another in the calling thread; the default creates or reuses an
    # asyncio event loop, which clashes with the UI's own loops.
    "GUARDRAILS_RUN_SYNC": "true",
    # Guard.history keeps every validated text (unredacted input included) in memory.
    "GUARD_HISTORY_ENABLED": "false",
}


@contextmanager
def _no_nltk_download():
    """`guardrails.utils.docs_utils` runs `nltk.download("punkt")` at import time when
    `nltk.data.find("tokenizers/punkt")` fails. No PyPI package ships the punkt data, and we
    never use NLTK's sentence splitter (grounding.py has its own), so during that import
    the downloader is replaced by a function that refuses and logs. Restored afterwards."""
    try:
        import nltk
    except ImportError:  # guardrails then skips the check itself
        yield
        return
    try:
        nltk.data.find("tokenizers/punkt")
        yield
        return
    except LookupError:
        pass
    real_download = nltk.download

    def refuse_download(*args, **kwargs) -> bool:
        log.debug("refused nltk.download%r during the guardrails import (offline)", args)
        return False

    nltk.download = refuse_download
    try:
        yield
    finally:
        nltk.download = real_download


def _disable_hub_telemetry() -> None:
    """guardrails-ai sends usage spans to a remote OTLP endpoint unless ~/.guardrailsrc says
    `enable_metrics=false` (its default is true; every Guard() re-reads the file). Layers:

    1. OTEL_SDK_DISABLED=true (above): any SDK tracer is a NoOpTracer, no span is recorded.
    2. The HubTelemetry singleton is created here, before any Guard, without running its
       initializer, so the exporter that posts to the remote endpoint (and its thread) is
       never constructed; its tracer is a NoOpTracer and it is marked disabled.
    3. Every Guard we build is configured with ``allow_metrics_collection=False``
       (`quiet_guard`), and guardrails' settings say: no metrics, no remote inference,
       tracing disabled.
    """
    from guardrails.settings import settings
    from guardrails.utils.hub_telemetry_utils import HubTelemetry
    from opentelemetry.trace import NoOpTracer

    hub = HubTelemetry._instance
    if hub is None:
        hub = object.__new__(HubTelemetry)
        hub._carrier = {}
        HubTelemetry._instance = hub
    hub._enabled = False
    hub._tracer = NoOpTracer()
    hub._prop = None
    hub._processor = None
    hub._tracer_provider = None
    settings.rc.enable_metrics = False
    settings.rc.use_remote_inferencing = False
    settings.disable_tracing = True


def prepare() -> None:
    os.environ.update(FORCED_ENVIRONMENT)
    for name, value in DEFAULT_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    with _no_nltk_download():
        import guardrails  # noqa: F401
    _disable_hub_telemetry()


def quiet_guard(guard):
    """Turn metrics collection off on a freshly built Guard (its constructor re-reads the rc
    file and re-enables the shared HubTelemetry when no ~/.guardrailsrc exists)."""
    from guardrails.settings import settings

    guard.configure(allow_metrics_collection=False)
    _disable_hub_telemetry()
    settings.rc.enable_metrics = False
    return guard
