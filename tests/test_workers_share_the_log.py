"""Several app workers (processes) on one data directory: every turn and rating each of them
writes lands once, in its worker's order, with nothing lost, and the database stays intact."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKER = """
import sys
from assistant.log import ConversationLog
from tests.test_log import make_turn

log = ConversationLog(sys.argv[1])
name, count = sys.argv[2], int(sys.argv[3])
for i in range(count):
    turn_id = log.record_turn(make_turn(question=f"{name} question {i}",
                                        conversation_id=f"conv-{name}"))
    if i % 3 == 0:
        log.record_feedback(turn_id, "down" if i % 2 else "up")
"""


def test_concurrent_workers_lose_and_duplicate_nothing(tmp_path):
    db_path = tmp_path / "logs.db"  # fresh: the workers also race to create and migrate it
    workers, count = ("a", "b", "c"), 150
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(db_path), name, str(count)],
                              cwd=ROOT, stderr=subprocess.PIPE, text=True)
             for name in workers]
    for proc in procs:
        assert proc.wait(timeout=300) == 0, proc.stderr.read()[-2000:]
    with sqlite3.connect(db_path) as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
        for name in workers:
            questions = [q for (q,) in db.execute(
                "select question from turns where conversation_id = ? order by datetime_utc, id",
                (f"conv-{name}",))]
            assert questions == [f"{name} question {i}" for i in range(count)]
        assert db.execute("select count(*) from feedback").fetchone() == (3 * 50,)
        assert db.execute("select count(distinct id) from turns").fetchone() == (3 * count,)
        assert db.execute("select count(*) from conversations").fetchone() == (3,)
