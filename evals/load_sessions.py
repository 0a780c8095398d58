"""Browser-like sessions against app workers, through Gradio's client API, and the check
that the log holds each session's turns exactly once, in order."""

from __future__ import annotations

import sqlite3
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from gradio_client import Client

QUESTIONS = (
    "What does the brevity penalty in BLEU do?",
    "What is QLoRA?",
    "How does a semantic cache decide that two questions are the same?",
    "What does ROUGE-L measure?",
    "Why should a RAG answer cite its sources?",
    "What is the capital of Australia?",  # off-topic: refused without the model
)


def session_questions(session: int, turns: int) -> list[str]:
    """The questions session `session` asks, in order (a rotation of the pool)."""
    return [QUESTIONS[(session + t) % len(QUESTIONS)] for t in range(turns)]


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    def percentile(self, q: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_session(url: str, questions: list[str], result: LoadResult, lock: threading.Lock,
                timeout_s: float = 600) -> None:
    try:
        client = Client(url, verbose=False)
    except Exception as err:  # counted, never raised: one failed session is a data point
        with lock:
            result.errors.append(f"connect {url}: {type(err).__name__}: {err}")
        return
    for question in questions:
        started = time.monotonic()
        try:
            client.submit(question, api_name="/submit").result(timeout=timeout_s)
        except Exception as err:
            with lock:
                result.errors.append(f"{url} {question[:40]!r}: {type(err).__name__}: {err}")
            continue
        with lock:
            result.latencies_ms.append((time.monotonic() - started) * 1000)
    client.close()


def run_load(urls: list[str], sessions: int, turns: int) -> LoadResult:
    """`sessions` concurrent sessions, spread over the workers round-robin."""
    result, lock = LoadResult(), threading.Lock()
    threads = [threading.Thread(target=run_session,
                                args=(urls[s % len(urls)], session_questions(s, turns),
                                      result, lock))
               for s in range(sessions)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.wall_s = time.monotonic() - started
    return result


def check_log(db_path: Path, sessions: int, turns: int, since: str) -> dict:
    """Each session is one conversation holding its questions once, in order."""
    with sqlite3.connect(db_path) as db:
        rows = db.execute("select conversation_id, question, reason from turns "
                          "where datetime_utc >= ? order by datetime_utc, id", (since,))
        conversations: dict[str, list[str]] = {}
        reasons: Counter = Counter()
        for conversation, question, reason in rows:
            conversations.setdefault(conversation, []).append(question)
            reasons[reason] += 1
        integrity = db.execute("pragma integrity_check").fetchone()[0]
    expected = Counter(tuple(session_questions(s, turns)) for s in range(sessions))
    seen = Counter(tuple(questions) for questions in conversations.values())
    return {"turns_logged": sum(len(q) for q in conversations.values()),
            "turns_expected": sessions * turns,
            "conversations": len(conversations),
            "sessions_exact": sum((expected & seen).values()),
            "lost": max(0, sessions * turns - sum(len(q) for q in conversations.values())),
            "duplicated": max(0, sum(len(q) for q in conversations.values()) - sessions * turns),
            "reasons": dict(reasons), "integrity": integrity}


def summary(result: LoadResult, log_check: dict, sessions: int, turns: int,
            workers: int) -> dict:
    ms = result.latencies_ms
    return {"sessions": sessions, "turns_per_session": turns, "workers": workers,
            "turns_answered": len(ms), "errors": len(result.errors),
            "error_samples": result.errors[:5], "wall_s": round(result.wall_s, 1),
            "turns_per_s": round(len(ms) / result.wall_s, 2) if result.wall_s else None,
            "latency_ms": {"p50": result.percentile(0.5), "p95": result.percentile(0.95),
                           "mean": statistics.fmean(ms) if ms else None},
            "log": log_check}
