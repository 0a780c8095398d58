"""The eval store: runs, items and comparisons round-trip through SQLite; migrations apply once."""

import hashlib
import sqlite3

import pytest

from evals.store import EvalStore, ItemRow, RunInfo, adapter_hash, git_commit, migrations


def make_run(store, name="run", scores=None, n=3, answers=None, kind="replay", **info):
    scores = scores or [{"token_f1": 0.5, "refused": 0.0}] * n
    answers = answers or [f"answer {i}" for i in range(len(scores))]
    items = [ItemRow(f"q{i}", f"question {i}?", f"reference {i}", answers[i], s,
                     {"answerable": True, "refused": False})
             for i, s in enumerate(scores)]
    summary = {"metrics": {"token_f1": {"mean": 0.5, "low": 0.4, "high": 0.6, "n": len(items),
                                        "stderr": 0.05}}}
    return store.save_run(RunInfo(kind=kind, name=name, model="m", git_commit="abc", **info),
                          summary, items, duration_ms=1234)


def test_runs_and_items_round_trip(tmp_path):
    store = EvalStore(tmp_path / "evals.db")
    run_id = make_run(store, adapter="lora-1", adapter_hash="f" * 64, dataset="golden:test",
                      metric_versions={"token_f1": "v1"}, config={"top_k": 4})
    run = store.run(run_id)
    assert run["kind"] == "replay" and run["name"] == "run" and run["adapter"] == "lora-1"
    assert run["summary"]["metrics"]["token_f1"]["mean"] == 0.5
    assert run["metric_versions"] == {"token_f1": "v1"} and run["config"] == {"top_k": 4}
    assert run["duration_ms"] == 1234 and run["datetime_utc"].endswith("+00:00")
    items = store.items(run_id)
    assert [i["item_id"] for i in items] == ["q0", "q1", "q2"]
    assert items[0]["scores"]["token_f1"] == 0.5 and items[0]["data"]["answerable"] is True
    assert store.runs()[0]["id"] == run_id and store.runs(kind="mmlu") == []
    assert store.run("missing") is None

    comparison_id = store.save_comparison(run_id, run_id, {"verdict": {"passed": True}})
    assert store.comparison(comparison_id)["verdict"]["verdict"]["passed"] is True
    assert store.comparisons()[0]["baseline_run_id"] == run_id


def test_migrations_apply_once_and_wal(tmp_path):
    path = tmp_path / "evals.db"
    EvalStore(path)
    EvalStore(path)  # reopening applies nothing again
    conn = sqlite3.connect(path)
    applied = conn.execute(
        "select name from _sqlite_migrations where migration_set = 'evals'").fetchall()
    assert [name for (name,) in applied] == [m.name for m in migrations._migrations]
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    assert {"runs", "items", "comparisons"} <= tables


def test_unknown_kind_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        make_run(EvalStore(tmp_path / "e.db"), kind="vibes")


def test_provenance_helpers(tmp_path):
    assert adapter_hash(None) is None
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_model.safetensors").write_bytes(b"weights")
    assert adapter_hash(adapter) == hashlib.sha256(b"weights").hexdigest()
    git = tmp_path / "repo" / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text("1234abcd\n")
    assert git_commit(tmp_path / "repo" / "sub" / "file.py") == "1234abcd"
