"""SQLite files of the project (logs.db, evals.db): WAL, append-only migrations, and one
connection per operation, because Gradio calls from worker threads and SQLite connections
must not cross threads."""

from __future__ import annotations

import fcntl
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils


@contextmanager
def database(path: Path, timeout: float) -> Iterator[sqlite_utils.Database]:
    conn = sqlite3.connect(str(path), timeout=timeout)
    try:
        yield sqlite_utils.Database(conn)
    finally:
        conn.close()


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One atomic write that takes the write lock at its start (BEGIN IMMEDIATE), so waiting
    for another worker's write uses the busy timeout. A transaction that reads first and
    writes later (what a plain BEGIN gives, since sqlite-utils reads the schema before an
    insert) fails at once with "database is locked" when another worker wrote in between."""
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db  # sqlite-utils' own atomic blocks nest inside as savepoints
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.execute("COMMIT")


def migrate(path: Path, migrations, timeout: float) -> None:
    """Create the file if needed, switch it to WAL and apply the pending migrations. Several
    app workers may start at once on one data directory: a lock file lets one of them migrate
    while the others wait, so a migration is never applied twice."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".migrate-lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with database(path, timeout) as db:
            db.enable_wal()
            migrations.apply(db)
