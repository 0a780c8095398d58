"""The shape of the code: packages depend one way, importing changes nothing, modules and
functions stay small enough to read."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from assistant.offline import DEFAULT_ENVIRONMENT, OFFLINE_ENVIRONMENT, enforce_offline

ROOT = Path(__file__).resolve().parent.parent
# Lower packages never import higher ones: the UI (and the command line, ui/cli.py) sits on
# top of the evals, which sit on the assistant, which reads the bundled knowledge.
LAYERS = ("knowledge", "assistant", "evals", "ui")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# Data tables: long because they list things (patterns, phrases), not because they do much.
DATA_TABLES = {"assistant/guards/injection_patterns.py"}


def _modules():
    for package in LAYERS:
        yield from sorted((ROOT / package).rglob("*.py"))


def _imported_packages(tree: ast.AST) -> set[str]:
    """Top-level package names imported anywhere in a module, inside functions too."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_packages_depend_one_way():
    upward = []
    for path in _modules():
        package = path.relative_to(ROOT).parts[0]
        allowed = set(LAYERS[: LAYERS.index(package) + 1])
        imported = _imported_packages(ast.parse(path.read_text()))
        upward += [f"{path.relative_to(ROOT)} imports {name}"
                   for name in sorted(imported & set(LAYERS) - allowed)]
    assert upward == []


def test_modules_and_functions_stay_small():
    too_long = []
    for path in _modules():
        relative = str(path.relative_to(ROOT))
        source = path.read_text()
        if relative not in DATA_TABLES and source.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{relative}: {source.count(chr(10))} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{relative}:{node.lineno} {node.name}: {length} lines")
    assert too_long == []


# Set by a library we import, when it is imported: guardrails' own logger. Not ours to change.
SET_BY_LIBRARIES = {"COLOREDLOGS_LEVEL_STYLES"}
IMPORT_PROBE = """
import json, os
import nltk  # first: importing it sets joblib's KMP_* variables
real_download = nltk.download
before = dict(os.environ)
import {modules}
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
print(json.dumps({{"changed": changed, "nltk_download_kept": nltk.download is real_download}}))
"""


def _import_in_a_fresh_interpreter(modules: str) -> dict:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", IMPORT_PROBE.format(modules=modules)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_assistant_changes_no_environment_variable():
    assert _import_in_a_fresh_interpreter("assistant") == {"changed": [],
                                                           "nltk_download_kept": True}


def test_importing_every_layer_leaves_the_environment_and_libraries_alone():
    """Importing is not configuring: only the entry points' explicit call changes settings."""
    report = _import_in_a_fresh_interpreter(
        "assistant.pipeline, assistant.semantic_cache, assistant.guards, assistant.runtime, "
        "evals.cli, evals.promote, knowledge.ingest")
    assert set(report["changed"]) - SET_BY_LIBRARIES == set()
    assert report["nltk_download_kept"]


def test_the_explicit_call_turns_every_switch_offline(monkeypatch):
    for name in OFFLINE_ENVIRONMENT | DEFAULT_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GUARDRAILS_RUN_SYNC", "false")  # a caller's own choice is kept
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # but the network switches are forced
    enforce_offline()
    import os

    assert {name: os.environ[name] for name in OFFLINE_ENVIRONMENT} == OFFLINE_ENVIRONMENT
    assert os.environ["GUARDRAILS_RUN_SYNC"] == "false"
    assert os.environ["GUARD_HISTORY_ENABLED"] == DEFAULT_ENVIRONMENT["GUARD_HISTORY_ENABLED"]


def test_the_command_line_has_every_group():
    done = subprocess.run([sys.executable, "-m", "ui.cli", "--help"], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    for command in ("ask", "ingest", "logs", "feedback", "serve", "eval", "finetune"):
        assert f"  {command}" in done.stdout
    promote = subprocess.run([sys.executable, "-m", "ui.cli", "finetune", "--help"],
                             capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert "promote" in promote.stdout
