"""What to do when a validator fails, and the thresholds the validators use.

Pass a partial dict as `Guards(policy=...)`; missing keys take these defaults.

Actions per validator:
- input: "pii"/"secrets": "redact" | "refuse"; "prompt_injection", "profanity",
  "harmful_request", "self_harm": "refuse" | "warn" (logged and shown, not blocked).
- output: "citations": "fix" (remove markers to missing passages, re-point a marker to the
  passage that supports its sentence) | "reask" | "refuse";
  "groundedness": "drop_sentences" | "reask" | "refuse";
  "system_prompt_leak": "refuse" | "reask"; "output_pii": "redact" | "refuse";
  "html": "escape" | "refuse"; "length": "fix" | "refuse";
  "passage_injection" (retrieved documents): "redact" (remove the planted block) | "warn".
"reask" asks the model once more (attempt 1) and falls back to the validator's own
non-reask action on attempt 2 (FALLBACK below).
"""

from __future__ import annotations

DEFAULT_POLICY: dict = {
    # input actions
    "pii": "redact",
    "secrets": "redact",
    "prompt_injection": "refuse",
    "profanity": "refuse",
    "harmful_request": "refuse",
    "self_harm": "refuse",
    # output actions
    "citations": "fix",
    "groundedness": "drop_sentences",
    # when no sentence at all is supported: ask again once, then refuse (UNGROUNDED)
    "groundedness_nothing_left": "reask",
    "system_prompt_leak": "refuse",
    "output_pii": "redact",
    "output_secrets": "redact",
    "html": "escape",
    "length": "fix",
    "passage_injection": "redact",
    # thresholds
    "injection_threshold": 1.0,  # summed pattern/similarity weights that block
    "similarity_block": 0.75,  # cosine to a known attack that blocks on its own
    "similarity_warn": 0.60,  # cosine that adds half a block's weight
    "profanity_threshold": 0.8,  # alt-profanity-check probability
    "secret_min_entropy": 3.0,  # bits per character for generic `key = value` secrets
    "min_support": 0.5,  # sentence support score needed to keep a sentence
    "strong_support": 0.65,  # below this (but kept) the answer is low-confidence
    "embedding_weight": 0.5,  # share of the embedding score in the support score
    "leak_min_run_words": 8,
    "leak_shingle_share": 0.15,
    "leak_sentence_ratio": 0.7,
    "leak_embedding": 0.75,
    "min_answer_chars": 1,
    "max_answer_chars": 2000,
    "passage_threshold": 1.0,
}

FALLBACK = {
    "citations": "fix",
    "groundedness": "drop_sentences",
    "groundedness_nothing_left": "refuse",
    "system_prompt_leak": "refuse",
    "length": "fix",
}

ALLOWED = {
    "pii": {"redact", "refuse"},
    "secrets": {"redact", "refuse"},
    "prompt_injection": {"refuse", "warn"},
    "profanity": {"refuse", "warn"},
    "harmful_request": {"refuse", "warn"},
    "self_harm": {"refuse", "warn"},
    "citations": {"fix", "reask", "refuse"},
    "groundedness": {"drop_sentences", "reask", "refuse"},
    "groundedness_nothing_left": {"reask", "refuse"},
    "system_prompt_leak": {"refuse", "reask"},
    "output_pii": {"redact", "refuse"},
    "output_secrets": {"redact", "refuse"},
    "html": {"escape", "refuse"},
    "length": {"fix", "refuse"},
    "passage_injection": {"redact", "warn"},
}


def merge_policy(policy: dict | None) -> dict:
    merged = dict(DEFAULT_POLICY)
    for key, value in (policy or {}).items():
        if key not in DEFAULT_POLICY:
            raise ValueError(f"unknown guard policy key: {key!r}")
        if key in ALLOWED and value not in ALLOWED[key]:
            raise ValueError(f"policy {key!r} must be one of {sorted(ALLOWED[key])}, not {value!r}")
        merged[key] = value
    return merged


def effective_action(policy: dict, key: str, attempt: int) -> str:
    """The action for this attempt: "reask" only on the first attempt."""
    action = policy[key]
    if action == "reask" and attempt > 1:
        return FALLBACK.get(key, "refuse")
    return action
