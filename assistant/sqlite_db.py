"""SQLite files of the project (logs.db, evals.db): WAL, append-only migrations, and one
connection per operation, because Gradio calls from worker threads and SQLite connections
must not cross threads."""

from __future__ import annotations

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


def migrate(path: Path, migrations, timeout: float) -> None:
    """Create the file if needed, switch it to WAL and apply the pending migrations."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with database(path, timeout) as db:
        db.enable_wal()
        migrations.apply(db)
