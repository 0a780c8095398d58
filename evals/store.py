"""Eval runs, their per-item rows and run comparisons, in `$ASSISTANT_HOME/evals.db`.

SQLite through sqlite-utils, WAL mode, append-only migrations (a shipped migration is never
edited; a later one fixes it). Every run carries its provenance: git commit, model, adapter
(and the sha256 of its weights), prompt and knowledge-base versions, dataset hash, metric versions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Migrations

from assistant.log import new_id, utc_now
from assistant.sqlite_db import database, migrate

RUN_KINDS = ("logged", "replay", "compare", "mmlu", "robustness", "boolq", "redteam")
LOCK_TIMEOUT_S = 3.0

migrations = Migrations("evals")


@migrations()
def m001_initial(db):
    db["runs"].create(
        {
            "id": str,
            "kind": str,  # logged | replay | compare | mmlu | robustness | boolq
            "name": str,
            "datetime_utc": str,
            "git_commit": str,
            "model": str,
            "adapter": str,
            "adapter_hash": str,  # sha256 of the adapter weights file, or null
            "prompt_version": str,
            "kb_version": str,
            "dataset": str,
            "dataset_hash": str,
            "metric_versions_json": str,
            "config_json": str,
            "summary_json": str,
            "duration_ms": int,
        },
        pk="id",
    )
    db["runs"].create_index(["datetime_utc"])
    db["items"].create(
        {
            "run_id": str,
            "item_id": str,
            "question": str,
            "reference": str,
            "answer": str,
            "scores_json": str,
            "data_json": str,
        },
        pk=("run_id", "item_id"),
        foreign_keys=[("run_id", "runs", "id")],
    )
    db["comparisons"].create(
        {
            "id": str,
            "baseline_run_id": str,
            "candidate_run_id": str,
            "verdict_json": str,
            "datetime_utc": str,
        },
        pk="id",
        foreign_keys=[("baseline_run_id", "runs", "id"), ("candidate_run_id", "runs", "id")],
    )


@dataclass
class RunInfo:
    """What a run is and where it came from (its provenance); the store adds id and time."""

    kind: str
    name: str = ""
    model: str = ""
    adapter: str | None = None
    adapter_hash: str | None = None
    prompt_version: str = ""
    kb_version: str = ""
    dataset: str = ""
    dataset_hash: str = ""
    metric_versions: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    git_commit: str | None = None


@dataclass
class ItemRow:
    item_id: str
    question: str
    reference: str
    answer: str
    scores: dict
    data: dict = field(default_factory=dict)


def _loads(row: dict) -> dict:
    """A database row with its *_json columns decoded (key without the suffix)."""
    out = dict(row)
    for column in [c for c in row if c.endswith("_json")]:
        out[column[: -len("_json")]] = json.loads(out.pop(column) or "null")
    return out


class EvalStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        migrate(self.path, migrations, LOCK_TIMEOUT_S)

    @classmethod
    def default(cls) -> EvalStore:
        from assistant.config import Settings

        return cls(Settings.from_env().home / "evals.db")

    def _db(self):
        return database(self.path, LOCK_TIMEOUT_S)

    # -- writing ----------------------------------------------------------------------------

    def save_run(self, info: RunInfo, summary: dict, items: list[ItemRow],
                 duration_ms: int = 0) -> str:
        if info.kind not in RUN_KINDS:
            raise ValueError(f"kind must be one of {RUN_KINDS}, not {info.kind!r}")
        run_id = new_id()
        row = {
            "id": run_id, "kind": info.kind, "name": info.name or info.kind,
            "datetime_utc": utc_now(),
            "git_commit": info.git_commit if info.git_commit is not None else git_commit(),
            "model": info.model, "adapter": info.adapter, "adapter_hash": info.adapter_hash,
            "prompt_version": info.prompt_version, "kb_version": info.kb_version,
            "dataset": info.dataset, "dataset_hash": info.dataset_hash,
            "metric_versions_json": json.dumps(info.metric_versions, sort_keys=True),
            "config_json": json.dumps(info.config, sort_keys=True, default=str),
            "summary_json": json.dumps(summary, default=str),
            "duration_ms": int(duration_ms),
        }
        with self._db() as db, db.atomic():
            db["runs"].insert(row)
            db["items"].insert_all(
                {
                    "run_id": run_id, "item_id": item.item_id, "question": item.question,
                    "reference": item.reference, "answer": item.answer,
                    "scores_json": json.dumps(item.scores),
                    "data_json": json.dumps(item.data, ensure_ascii=False, default=str),
                }
                for item in items
            )
        return run_id

    def save_comparison(self, baseline_run_id: str, candidate_run_id: str, verdict: dict) -> str:
        comparison_id = new_id()
        with self._db() as db:
            db["comparisons"].insert({
                "id": comparison_id, "baseline_run_id": baseline_run_id,
                "candidate_run_id": candidate_run_id,
                "verdict_json": json.dumps(verdict, default=str), "datetime_utc": utc_now(),
            })
        return comparison_id

    # -- reading ----------------------------------------------------------------------------

    def runs(self, limit: int | None = 50, kind: str | None = None) -> list[dict]:
        where, args = ("kind = ?", [kind]) if kind else (None, None)
        with self._db() as db:
            rows = db["runs"].rows_where(where, args, order_by="datetime_utc desc", limit=limit)
            return [_loads(r) for r in rows]

    def run(self, run_id: str) -> dict | None:
        with self._db() as db:
            rows = list(db["runs"].rows_where("id = ?", [run_id]))
        return _loads(rows[0]) if rows else None

    def items(self, run_id: str) -> list[dict]:
        with self._db() as db:
            rows = db["items"].rows_where("run_id = ?", [run_id], order_by="rowid")
            return [_loads(r) for r in rows]

    def comparison(self, comparison_id: str) -> dict | None:
        with self._db() as db:
            rows = list(db["comparisons"].rows_where("id = ?", [comparison_id]))
        return _loads(rows[0]) if rows else None

    def comparisons(self, limit: int | None = 50) -> list[dict]:
        with self._db() as db:
            rows = db["comparisons"].rows_where(order_by="datetime_utc desc", limit=limit)
            return [_loads(r) for r in rows]


# -- provenance ---------------------------------------------------------------------------------


def git_commit(start: Path | None = None) -> str | None:
    """The checked-out commit, read from .git without running git (None outside a checkout)."""
    here = (start or Path(__file__)).resolve()
    for folder in [here, *here.parents]:
        git = folder / ".git"
        if git.is_file():  # a worktree: "gitdir: PATH"
            text = git.read_text().strip()
            git = (folder / text.removeprefix("gitdir:").strip()).resolve()
        if git.is_dir():
            return _resolve_head(git)
    return None


def _resolve_head(git: Path) -> str | None:
    try:
        head = (git / "HEAD").read_text().strip()
    except OSError:
        return None
    if not head.startswith("ref:"):
        return head or None
    ref = head.removeprefix("ref:").strip()
    common = git
    if (git / "commondir").is_file():
        common = (git / (git / "commondir").read_text().strip()).resolve()
    for base in (git, common):
        if (base / ref).is_file():
            return (base / ref).read_text().strip()
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0]
    return None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def adapter_hash(adapter_dir: Path | None) -> str | None:
    """sha256 of the adapter's weights file (safetensors or bin); None without an adapter."""
    if adapter_dir is None:
        return None
    for name in ("adapter_model.safetensors", "adapter_model.bin"):
        if (Path(adapter_dir) / name).is_file():
            return file_sha256(Path(adapter_dir) / name)
    return None


def text_hash(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()[:12]
