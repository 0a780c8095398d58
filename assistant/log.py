"""The conversation log: every turn and every rating, in SQLite (WAL) through sqlite-utils."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from assistant.migrations import migrations
from assistant.records import Turn
from assistant.sqlite_db import database, migrate, write_transaction

RATINGS = ("up", "down")
FEEDBACK_REASONS = ("wrong sources", "wrong answer", "unsafe", "other")
LOCK_TIMEOUT_S = 3.0


class LogUnavailable(RuntimeError):
    """The log could not be written or read; the message says why and what to do."""


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_id() -> str:
    """Time-sortable id: 13 hex digits of microseconds since the epoch, then 8 random ones."""
    return f"{time.time_ns() // 1000:013x}{os.urandom(4).hex()}"


def _explain(err: sqlite3.Error, path: Path) -> LogUnavailable:
    message = str(err).lower()
    if "locked" in message or "busy" in message:
        return LogUnavailable(
            f"The conversation log ({path}) is locked by another process. Close the other "
            "program that has it open (or wait a moment) and try again."
        )
    return LogUnavailable(f"The conversation log ({path}) cannot be used: {err}.")


class ConversationLog:
    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            migrate(self.path, migrations, LOCK_TIMEOUT_S)
        except sqlite3.Error as err:
            raise _explain(err, self.path) from err

    @contextmanager
    def _db(self) -> Iterator[sqlite_utils.Database]:
        try:
            with database(self.path, LOCK_TIMEOUT_S) as db:
                yield db
        except sqlite3.Error as err:
            raise _explain(err, self.path) from err

    # -- writing ----------------------------------------------------------------------------

    def record_turn(self, turn: Turn) -> str:
        """Store one turn (and its conversation, on first use) atomically; returns the turn id."""
        turn_id = turn.turn_id or new_id()
        row = {"id": turn_id, "datetime_utc": utc_now(), **turn.to_row()}
        with self._db() as db, write_transaction(db):  # one transaction: both rows or neither
            db["conversations"].insert(
                {"id": turn.conversation_id, "title": turn.question[:80],
                 "datetime_utc": row["datetime_utc"], "user": turn.user},
                ignore=True,
            )
            db["turns"].insert(row)
            if turn.guard:
                db["guard_decisions"].insert_all(
                    {"turn_id": turn_id, "stage": d.get("stage"), "validator": d.get("validator"),
                     "outcome": d.get("outcome"), "action": d.get("action"),
                     "detail": d.get("detail")}
                    for d in turn.guard
                )
        return turn_id

    def record_feedback(self, turn_id: str, rating: str, reason: str | None = None,
                        correction: str | None = None, user: str | None = None) -> int:
        """Store a rating; with a `user`, only of that user's own turn (another user's turn
        is answered exactly like a missing one)."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}, not {rating!r}")
        if reason is not None and reason not in FEEDBACK_REASONS:
            raise ValueError(f"reason must be one of {FEEDBACK_REASONS}, not {reason!r}")
        with self._db() as db, write_transaction(db):
            owned = "id = ? and user = ?" if user else "id = ?"
            if not db["turns"].count_where(owned, [turn_id, user] if user else [turn_id]):
                raise LogUnavailable(f"No logged turn with id {turn_id}; feedback not saved.")
            table = db["feedback"].insert(
                {
                    "turn_id": turn_id,
                    "rating": rating,
                    "reason": reason,
                    "correction": (correction or "").strip() or None,
                    "datetime_utc": utc_now(),
                }
            )
            return int(table.last_pk)

    # -- reading ----------------------------------------------------------------------------

    def conversations(self, limit: int = 50, user: str | None = None) -> list[dict]:
        """The latest conversations; only `user`'s when a user is given."""
        sql = f"""
            select c.id, c.title, c.datetime_utc, count(t.id) as turns
            from conversations c left join turns t on t.conversation_id = c.id
            {"where c.user = ?" if user else ""}
            group by c.id order by c.datetime_utc desc limit ?
        """
        with self._db() as db:
            return list(db.query(sql, [user, limit] if user else [limit]))

    def turns(self, conversation_id: str | None = None, limit: int | None = None,
              user: str | None = None) -> list[dict]:
        """A conversation's turns in order, or the latest turns; only `user`'s when given."""
        where, args = [], []
        for column, value in (("conversation_id", conversation_id), ("user", user)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        order = "datetime_utc" if conversation_id else "datetime_utc desc"
        with self._db() as db:
            return list(db["turns"].rows_where(" and ".join(where) or None, args or None,
                                               order_by=order, limit=limit))

    def turn(self, turn_id: str) -> dict | None:
        with self._db() as db:
            rows = list(db["turns"].rows_where("id = ?", [turn_id]))
            if not rows:
                return None
            row = rows[0]
            row["feedback"] = list(
                db["feedback"].rows_where("turn_id = ?", [turn_id], order_by="id")
            )
            row["guard_decisions"] = list(
                db["guard_decisions"].rows_where("turn_id = ?", [turn_id], order_by="id")
            )
            return row

    def feedback(self) -> list[dict]:
        with self._db() as db:
            return list(db["feedback"].rows_where(order_by="id"))

    def rated_turns(self, rating: str | None = None, reason: str | None = None,
                    adapter: str | None = None, limit: int = 500,
                    user: str | None = None) -> list[dict]:
        """Each rated turn once, with its latest rating, newest rating first: the turn's
        columns plus rating, feedback_reason, correction and rated_utc."""
        where, args = [], []
        for column, value in (("f.rating", rating), ("f.reason", reason),
                              ("t.adapter", adapter), ("t.user", user)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        sql = f"""
            select t.*, f.rating, f.reason as feedback_reason, f.correction,
                   f.datetime_utc as rated_utc
            from feedback f join turns t on t.id = f.turn_id
            where f.id = (select max(id) from feedback where turn_id = f.turn_id)
            {"".join(" and " + w for w in where)}
            order by f.id desc limit ?
        """
        with self._db() as db:
            return list(db.query(sql, [*args, limit]))

    def search(self, text: str, limit: int = 20) -> list[dict]:
        """Full-text search over questions and answers (SQLite FTS5)."""
        with self._db() as db:
            return list(db["turns"].search(_fts_query(text), limit=limit))

    def export_jsonl(self, out) -> int:
        """Write every turn, with its feedback, as one JSON object per line."""
        count = 0
        with self._db() as db:
            feedback: dict[str, list] = {}
            for fb in db["feedback"].rows_where(order_by="id"):
                feedback.setdefault(fb["turn_id"], []).append(fb)
            for row in db["turns"].rows_where(order_by="datetime_utc"):
                for column in [c for c in row if c.endswith("_json")]:
                    row[column[: -len("_json")]] = json.loads(row.pop(column) or "null")
                row["feedback"] = feedback.get(row["id"], [])
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
        return count


def _fts_query(text: str) -> str:
    """Quote each word so user text with FTS syntax characters cannot break the query."""
    words = [w.replace('"', "") for w in text.split()]
    return " ".join(f'"{w}"' for w in words if w) or '""'
