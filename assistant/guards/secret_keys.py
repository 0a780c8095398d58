"""Secrets and API keys: provider-specific token shapes plus high-entropy `key = value` pairs."""

from __future__ import annotations

import math
import re
from collections import Counter

from assistant.guards.pii import Finding

# (kind, pattern); the whole match is the secret unless the pattern has a group named "value".
TOKEN_PATTERNS = (
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b")),
    ("openai_key", re.compile(r"(?<![\w-])sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}")),
    ("openai_key", re.compile(r"(?<![\w-])sk-(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{20,}(?![\w-])")),
    ("anthropic_key", re.compile(r"(?<![\w-])sk-ant-[A-Za-z0-9_-]{20,}")),
    ("github_token", re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}\b")),
    ("github_token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{40,}\b")),
    ("gitlab_token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b")),
    ("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_-]{30,40}(?![\w-])")),
    ("stripe_key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b")),
    ("huggingface_token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    (
        "private_key",
        re.compile(
            r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----[\s\S]*?"
            r"(?:-----END (?:[A-Z]+ )*PRIVATE KEY-----|$)"
        ),
    ),
    (
        "aws_secret_key",
        re.compile(
            r"(?i)aws_?secret_?(?:access_?)?key\s*[:=]\s*['\"]?(?P<value>[A-Za-z0-9/+=]{40})\b"
        ),
    ),
    (
        "connection_string",
        re.compile(r"\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@]+:(?P<value>[^\s@/]{3,})@[\w.-]+"),
    ),
)

# `api_key = "..."`, `token: ...`, `password=...`
ASSIGNMENT = re.compile(
    r"(?i)(?P<name>(?:api[_-]?key|apikey|secret|token|passwd|password|pwd|access[_-]?key|"
    r"client[_-]?secret|auth[_-]?key|private[_-]?key|credentials?)[a-z0-9_]{0,30})"
    r"\s*(?:=|:|=>)\s*(?P<quote>['\"]?)(?P<value>[^\s'\",;]{4,})(?P=quote)"
)
_PASSWORD_NAME = re.compile(r"(?i)pass|pwd")
# Words that look like placeholders, not secrets.
_PLACEHOLDER = re.compile(r"(?i)^(?:x+|\*+|\.+|<[^>]*>|\{[^}]*\}|\$\{?\w+\}?|none|null|"
                          r"true|false|changeme|example|your[_-]?\w*|redacted|\[\w+\])$")

LABELS = {"private_key": "[PRIVATE_KEY]", "password": "[PASSWORD]"}
DEFAULT_LABEL = "[API_KEY]"
GENERIC_LABEL = "[SECRET]"

NAMES = {
    "password": ("a password", "passwords"),
    "private_key": ("a private key", "private keys"),
    "secret": ("a secret value", "secret values"),
}
DEFAULT_NAMES = ("an API key or token", "API keys or tokens")


def shannon_entropy(s: str) -> float:
    if not s:
        return 0.0
    counts = Counter(s)
    return -sum(c / len(s) * math.log2(c / len(s)) for c in counts.values())


def _looks_secret(value: str, min_entropy: float) -> bool:
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))
    return len(value) >= 12 and classes >= 2 and shannon_entropy(value) >= min_entropy


def find_secrets(text: str, min_entropy: float = 3.0) -> list[Finding]:
    findings: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, start: int, end: int, label: str) -> None:
        if any(start < e and s < end for s, e in taken):
            return
        taken.append((start, end))
        findings.append(Finding(kind, start, end, label))

    for kind, pattern in TOKEN_PATTERNS:
        for m in pattern.finditer(text):
            start, end = m.span("value") if "value" in pattern.groupindex else m.span()
            add(kind, start, end, LABELS.get(kind, DEFAULT_LABEL))
    for m in ASSIGNMENT.finditer(text):
        value = m.group("value")
        if _PLACEHOLDER.match(value):
            continue
        if _PASSWORD_NAME.search(m.group("name")):
            add("password", *m.span("value"), LABELS["password"])
        elif _looks_secret(value, min_entropy):
            add("secret", *m.span("value"), GENERIC_LABEL)
    return sorted(findings, key=lambda f: f.start)


def name_of(kind: str) -> tuple[str, str]:
    return NAMES.get(kind, DEFAULT_NAMES)
