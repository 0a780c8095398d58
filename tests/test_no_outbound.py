"""No outbound connection: a full turn, an ingest and an eval run, with every connection
attempt and name lookup to a non-loopback address recorded by an audit hook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.audited_run import _outbound

pytestmark = pytest.mark.slow


def _audited(audit: Path, *args: str, env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "tests.audited_run", str(audit), *args],
                          env=env, capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_the_audit_hook_sees_an_outbound_attempt(tmp_path):
    """The check itself can fail: a connection to a documentation address is recorded."""
    audit = tmp_path / "audit.jsonl"
    probe = ("import socket, sys\nfrom tests.audited_run import install\n"
             f"install({str(audit)!r})\n"
             "s = socket.socket(); s.settimeout(0.01)\n"
             "try:\n    s.connect(('192.0.2.1', 9))\nexcept OSError:\n    pass\n"
             "try:\n    s2 = socket.socket(); s2.connect(('127.0.0.1', 9))\n"
             "except OSError:\n    pass\n")
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60,
                   cwd=Path(__file__).resolve().parent.parent)
    assert [json.loads(line)["host"] for line in audit.read_text().splitlines()] == [
        "192.0.2.1"]
    assert _outbound(("::1", 80)) is None and _outbound("/tmp/socket") is None
    assert _outbound(("huggingface.co", 443)) == "huggingface.co"


def test_a_turn_an_ingest_and_an_eval_make_no_outbound_connection(qwen_gguf, tmp_path):
    audit = tmp_path / "audit.jsonl"
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "leave.md").write_text("# Leave\n\nStaff get 25 days of paid leave a year.\n")
    # The caller's own settings are not trusted to be offline: the command must be.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "TRANSFORMERS_", "ANONYMIZED", "CHROMA_", "GRADIO_"))}
    env.update(ASSISTANT_HOME=str(tmp_path / "home"), ASSISTANT_MODEL=str(qwen_gguf),
               ASSISTANT_MAX_NEW_TOKENS="24")
    _audited(audit, "ingest", str(docs), env=env)
    asked = _audited(audit, "ask", "--json", "How many days of paid leave do staff get?",
                     env=env)
    assert json.loads(asked.stdout)["logged"] is True
    _audited(audit, "eval", "logged", env=env)
    attempts = audit.read_text().splitlines() if audit.exists() else []
    assert attempts == []
