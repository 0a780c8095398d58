"""The kill -9 scenarios of the load harness, on a running cluster (evals/load_cluster.py):
a worker killed mid-turn, the model server killed mid-turn, an ingest killed mid-write.
After each: every SQLite file passes `PRAGMA integrity_check`, Chroma reopens and answers,
and a rerun completes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import chromadb
from gradio_client import Client

from assistant.log import utc_now
from evals.load_cluster import Cluster
from evals.load_sessions import check_log, run_load

# Questions no cache entry matches and the handbook answers, so the turn reaches the model.
MODEL_QUESTIONS = ("What does the brevity penalty in BLEU do, in one short sentence?",
                   "In one short sentence, what is QLoRA?")


def sqlite_files(home: Path) -> list[Path]:
    return sorted(p for p in home.rglob("*") if p.suffix in (".db", ".sqlite3") and p.is_file())


def integrity(home: Path) -> dict[str, str]:
    """`PRAGMA integrity_check` of every SQLite file under home, opened read-only."""
    results = {}
    for path in sqlite_files(home):
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as db:
            results[str(path.relative_to(home))] = db.execute(
                "pragma integrity_check").fetchone()[0]
    return results


def _ask_in_background(url: str, question: str) -> threading.Thread:
    def ask() -> None:
        try:
            Client(url, verbose=False).submit(question, api_name="/submit").result(timeout=300)
        except Exception:  # the worker may die under it: that is the scenario
            pass

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    return thread


def _when_the_model_is_asked(cluster: Cluster, timeout: float = 300) -> bool:
    """Wait until the model server receives a new chat request (the turn is mid-answer)."""
    log, start = cluster.model_server.log_path, cluster.model_server.log_path.stat().st_size
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log, "rb") as text:
            text.seek(start)
            new = text.read()
        if b"Llama.generate" in new or b"/v1/chat/completions" in new:
            return True
        time.sleep(0.1)
    return False


def _rerun(cluster: Cluster, urls: list[str]) -> dict:
    since = utc_now()
    result = run_load(urls, sessions=2, turns=2)
    return {"errors": result.errors, "log": check_log(cluster.home / "logs.db", 2, 2, since)}


def worker_killed_mid_turn(cluster: Cluster) -> dict:
    worker = cluster.workers[0]
    asking = _ask_in_background(worker.url + "/", MODEL_QUESTIONS[0])
    mid_turn = _when_the_model_is_asked(cluster)
    worker.kill()
    asking.join(timeout=60)
    after_kill = integrity(cluster.home)
    worker.start()
    return {"killed_mid_turn": mid_turn, "integrity": after_kill,
            "rerun": _rerun(cluster, [worker.url + "/"])}


def model_server_killed_mid_turn(cluster: Cluster) -> dict:
    since = utc_now()
    worker = cluster.workers[-1]
    asking = _ask_in_background(worker.url + "/", MODEL_QUESTIONS[1])
    mid_turn = _when_the_model_is_asked(cluster)
    cluster.model_server.kill()
    asking.join(timeout=120)
    with sqlite3.connect(cluster.home / "logs.db") as db:
        logged = [r for (r,) in db.execute(
            "select reason from turns where datetime_utc >= ?", (since,))]
    cluster.model_server.start()
    return {"killed_mid_turn": mid_turn, "turn_during_the_kill": logged,
            "integrity": integrity(cluster.home),
            "rerun": _rerun(cluster, [worker.url + "/"])}


def _many_documents(folder: Path, count: int = 400) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"note-{i:04d}.md").write_text(
            f"# Note {i}\n\nTeam note number {i}: the review of item {i} is due on day "
            f"{i % 28 + 1}, and owner {i % 7} signs it off.\n")
    return folder


def ingest_killed_mid_write(cluster: Cluster) -> dict:
    folder = _many_documents(cluster.home / "fault-docs")
    argv = [sys.executable, "-m", "ui.cli", "ingest", str(folder)]
    env = cluster.workers[0].env
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(8.0)  # past loading the embedder, into the writes
    killed_mid_write = proc.poll() is None
    proc.kill()
    proc.wait(timeout=60)
    cluster.chroma.stop()  # and Chroma must reopen what the killed ingest left
    cluster.chroma.start()
    after_kill = integrity(cluster.home)
    rerun = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800)
    return {"killed_mid_write": killed_mid_write, "integrity": after_kill,
            "rerun_exit": rerun.returncode, "rerun_tail": rerun.stderr[-300:],
            "chunks_after_rerun": _chunk_count(cluster), "rerun_after": _rerun(
                cluster, cluster.worker_urls)}


def _chunk_count(cluster: Cluster) -> int:
    client = chromadb.HttpClient(host="127.0.0.1", port=cluster.chroma.port)
    return client.get_collection("knowledge").count()


def run_faults(cluster: Cluster) -> dict:
    return {"worker_killed_mid_turn": worker_killed_mid_turn(cluster),
            "model_server_killed_mid_turn": model_server_killed_mid_turn(cluster),
            "ingest_killed_mid_write": ingest_killed_mid_write(cluster)}
