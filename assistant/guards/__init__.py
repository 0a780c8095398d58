"""Input and output guards of a turn, built on guardrails-ai, fully offline.

    guards = Guards(SYSTEM_PROMPT, embed_fn=load_embeddings().embed_documents)
    verdict = guards.check_input(question)          # PII/secrets redacted, injections blocked
    verdict = guards.check_output(answer, passages)  # citations, groundedness, leaks, HTML
    cleaned, decisions = guards.clean_passage(passage.text)  # instructions planted in documents

Each check is a plain function in the module of its job: pii.py, secret_keys.py, injection.py
(with normalize.py, injection_patterns.py, known_attacks.py), abuse.py, citations.py,
grounding.py, leakage.py, html_safety.py, length.py. validators.py wraps each in a guardrails-ai
`Validator`; guards.py runs each in its own `Guard` and turns the results into one verdict
(verdicts.py) by the policy (policy.py), worded by messages.py and assistant/records.py.

Importing this package changes nothing global: the guardrails import in validators.py refuses
NLTK's punkt download only for its duration (offline.py), and guardrails' telemetry is switched
off when a `Guards` is built. Entry points call `assistant.offline.enforce_offline()` first
for the environment (OTEL_SDK_DISABLED, GUARDRAILS_RUN_SYNC, GUARD_HISTORY_ENABLED).
tests/test_guards.py imports this package in a fresh interpreter with sockets blocked. The
package itself imports nothing, so that one check (support.py, say) does not load guardrails.
"""
