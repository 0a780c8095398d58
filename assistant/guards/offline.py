"""guardrails-ai without outbound traffic: no NLTK download, no telemetry export.

Nothing here runs at import. `isolated_import()` scopes the guardrails import in
validators.py; `switch_off_telemetry()` and `quiet_guard()` run when a `Guards` is built.
The environment variables (OTEL_SDK_DISABLED, GUARDRAILS_RUN_SYNC, ...) are set by the entry
point's `assistant.offline.enforce_offline()`, not here.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager

log = logging.getLogger(__name__)


@contextmanager
def isolated_import():
    """For importing guardrails-ai: no NLTK download, and os.environ as it was afterwards.
    Importing guardrails sets COLOREDLOGS_LEVEL_STYLES (guardrails.cli.logger, for its CLI's
    colours) and, through nltk, scikit-learn's KMP_DUPLICATE_LIB_OK and KMP_INIT_AT_FORK
    defaults (for Intel's OpenMP runtime; the wheels here bundle only libgomp)."""
    before = dict(os.environ)
    try:
        with _refusing_nltk_download():
            yield
    finally:
        for name in [name for name in os.environ if name not in before]:
            del os.environ[name]
        for name, value in before.items():
            if os.environ.get(name) != value:
                os.environ[name] = value


@contextmanager
def _refusing_nltk_download():
    """`guardrails.utils.docs_utils` runs `nltk.download("punkt")` at import time when
    `nltk.data.find("tokenizers/punkt")` fails. No PyPI package ships the punkt data, and the
    guards never use NLTK's sentence splitter (guardrails calls it only for streaming, which we
    do not use), so inside this block `nltk.download` refuses and logs. The caller's function
    is put back on the way out, so nothing outside the block sees a change."""
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


def switch_off_telemetry() -> None:
    """guardrails-ai sends usage spans to a remote OTLP endpoint unless ~/.guardrailsrc says
    `enable_metrics=false` (its default is true; every Guard() re-reads the file). Run before
    any validator or Guard is built (idempotent):

    1. The HubTelemetry singleton is created here without running its initializer, so the
       exporter that posts to the remote endpoint (and its thread) is never constructed; its
       tracer is a NoOpTracer and it is marked disabled.
    2. guardrails' settings say: no metrics, no remote inference, tracing disabled.
    3. `quiet_guard` configures every Guard with ``allow_metrics_collection=False``.
    (OTEL_SDK_DISABLED=true, from `enforce_offline()`, makes any SDK tracer a no-op besides.)
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


def quiet_guard(guard):
    """Turn metrics collection off on a freshly built Guard (its constructor re-reads the rc
    file and re-enables the shared HubTelemetry when no ~/.guardrailsrc exists)."""
    guard.configure(allow_metrics_collection=False)
    switch_off_telemetry()
    return guard
