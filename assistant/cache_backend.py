"""One scope of the semantic cache as GPTCache runs it: SQLite, faiss and the evaluation.

- SQLite: GPTCache's scalar store (through SQLAlchemy) holds questions, answers and embeddings,
  and is the source of truth. WAL mode is set once in the file; the busy timeout is given in the
  SQLAlchemy URL. Reads that need no GPTCache (which scope holds a turn, how many entries there
  are) are plain read-only sqlite3 queries on GPTCache's tables.
- `ScopeIndex`: GPTCache's faiss store (exact search; `faiss-cpu` a declared dependency), in
  memory only: built from SQLite when a scope is opened and synced with it before every use.
- `KeyTermCosineEvaluation`: GPTCache's similarity evaluation, the cosine similarity of the two
  requests, vetoed to 0 when they disagree on numbers, negation or opposite words
  (cache_veto.py).
"""

from __future__ import annotations

import contextlib
import sqlite3
import warnings
from collections.abc import Sequence
from pathlib import Path

import faiss  # first: a missing faiss raises ImportError, never GPTCache's pip install
import numpy as np
from gptcache import Cache, Config
from gptcache.manager import CacheBase
from gptcache.manager.data_manager import SSDataManager
from gptcache.manager.vector_data.base import VectorData
from gptcache.manager.vector_data.faiss import Faiss
from gptcache.processor.pre import get_prompt
from gptcache.similarity_evaluation import SimilarityEvaluation
from sqlalchemy import event

from assistant.cache_veto import vetoed
from assistant.text import cosine, unit

# Nearest neighbours handed to GPTCache's evaluation per lookup (the best one wins).
SEARCH_TOP_K = 4

# A stored question this close to a new one (after normalising) is the same question: storing
# the new answer replaces it (e.g. after "ask again, fresh").
SAME_QUESTION_DISTANCE = 1e-4

# Seconds a writer waits for another process's SQLite lock (pysqlite's `timeout`, in the URL).
BUSY_TIMEOUT_S = 30

# -- the similarity evaluation ----------------------------------------------------------


class KeyTermCosineEvaluation(SimilarityEvaluation):
    """GPTCache similarity evaluation: cosine similarity of the new request's embedding and the
    stored request's embedding (read back from SQLite with the entry, so a stale vector index can
    never make a wrong pair look similar), 0 when the questions are `vetoed`.
    """

    def evaluation(self, src_dict, cache_dict, **_) -> float:
        new_q, old_q = str(src_dict.get("question", "")), str(cache_dict.get("question", ""))
        new, old = src_dict.get("embedding"), cache_dict.get("embedding")
        if new is None or old is None or vetoed(new_q, old_q):
            return 0.0
        return min(max(cosine(new, old), 0.0), 1.0)

    def range(self) -> tuple[float, float]:
        return 0.0, 1.0


# -- vector index, SQLite, one scope's GPTCache ------------------------------------------------


class ScopeIndex(Faiss):
    """GPTCache's faiss store (`IDMap,Flat`: exact search) for one scope, in memory only.

    No index file: `ScopeStore.sync_with_sqlite` builds it from SQLite and keeps it up to date,
    so it can be neither stale on disk nor half-written. Added to GPTCache's store: the ids it
    holds (to compare with SQLite), re-adding an id replaces its vector, and candidates below
    `min_similarity` are left out, sparing GPTCache a SQLite read each (a miss costs one
    embedding and one search). `search` returns (cosine distance, id), nearest first.
    """

    def __init__(self, dimension: int, min_similarity: float):
        super().__init__("", dimension, SEARCH_TOP_K)  # "": no index file to read
        self.held: set[int] = set()
        self.min_similarity = min_similarity

    def mul_add(self, datas: list[VectorData]) -> None:
        if datas:
            self.delete([d.id for d in datas])
            super().mul_add([VectorData(id=int(d.id), data=unit(d.data)) for d in datas])
            self.held.update(int(d.id) for d in datas)

    def delete(self, ids) -> bool:
        ids = sorted({int(i) for i in ids} & self.held)
        if ids:
            super().delete(np.asarray(ids, dtype=np.int64))
            self.held.difference_update(ids)
        return bool(ids)

    def search(self, data: np.ndarray, top_k: int = -1):
        if not self.held:
            return []
        # One query needs no OpenMP team: waking one cost ~10 ms on a busy machine. The setting
        # is the calling thread's, and restored.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            found = super().search(unit(data), top_k if top_k and top_k > 0 else SEARCH_TOP_K)
        finally:
            faiss.omp_set_num_threads(threads)
        # Squared L2 distance between unit vectors is 2 * (1 - cosine).
        pairs = [(float(d) / 2, int(i)) for d, i in found if i >= 0]
        return [(d, i) for d, i in pairs if 1.0 - d >= self.min_similarity - 1e-6]

    def flush(self) -> None:
        """Nothing to write: SQLite holds every vector."""


def _read(db: Path, sql: str, params: Sequence = ()) -> list[tuple]:
    """A read-only query on a scope's SQLite file (GPTCache's tables), without GPTCache."""
    uri = f"{db.as_uri()}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)) as conn:
        return conn.execute(sql, tuple(params)).fetchall()


def entries_of_turn(db: Path, turn_id: str) -> list[int]:
    rows = _read(db, "SELECT DISTINCT question_id FROM gptcache_session WHERE session_id = ?",
                 [turn_id])
    return sorted(row[0] for row in rows)


def alive_ids(db: Path) -> set[int]:
    return {row[0] for row in _read(db, "SELECT id FROM gptcache_question WHERE deleted = 0")}


def stored_vectors(db: Path, ids: set[int]) -> list[VectorData]:
    ids, rows = sorted(ids), []
    for start in range(0, len(ids), 500):  # SQLite caps the number of parameters
        chunk = ids[start:start + 500]
        rows += _read(db, "SELECT id, embedding_data FROM gptcache_question WHERE deleted = 0 "
                          f"AND id IN ({','.join('?' * len(chunk))})", chunk)
    return [VectorData(id=i, data=np.frombuffer(blob, dtype=np.float32)) for i, blob in rows
            if blob]


def stored_dimension(db: Path) -> int | None:
    rows = _read(db, "SELECT length(embedding_data) FROM gptcache_question "
                     "WHERE embedding_data IS NOT NULL LIMIT 1")
    return rows[0][0] // 4 if rows else None  # float32


def _synchronous_normal(connection, _record) -> None:
    connection.execute("PRAGMA synchronous=NORMAL")


def count_entries(db: Path) -> int:
    if not db.is_file():
        return 0
    return int(_read(db, "SELECT count(*) FROM gptcache_question WHERE deleted = 0")[0][0])


class ScopeStore:
    """One scope's GPTCache `Cache` and the parts of it we touch directly."""

    def __init__(self, directory: Path, dimension: int, threshold: float, embedding_func,
                 max_entries: int):
        self.db = directory / "sqlite.db"
        with contextlib.closing(sqlite3.connect(self.db, timeout=BUSY_TIMEOUT_S)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")  # kept in the file: readers never wait
        with warnings.catch_warnings():
            # GPTCache 0.1.44 uses SQLAlchemy 1.x's declarative_base (MovedIn20Warning).
            warnings.simplefilter("ignore")
            self.scalar = CacheBase("sqlite",
                                    sql_url=f"sqlite:///{self.db}?timeout={BUSY_TIMEOUT_S}")
        with self.scalar.Session() as session:
            self.engine = session.get_bind()
        # Every candidate GPTCache reads is a write (last_access): with synchronous=NORMAL a WAL
        # commit needs no fsync (a hit measured 2 ms instead of 12), still durable across
        # process crashes. A per-connection setting, hence on connect.
        event.listen(self.engine, "connect", _synchronous_normal)
        self.engine.dispose()  # GPTCache's connection (it created its tables) predates that
        self.vectors = ScopeIndex(dimension, threshold)
        self.sync_with_sqlite()
        self.data_manager = SSDataManager(
            self.scalar, self.vectors, None, None,
            max_size=max_entries, clean_size=max(1, max_entries // 10), policy="LRU",
        )
        self.cache = Cache()
        self.cache.init(
            pre_embedding_func=get_prompt,
            embedding_func=embedding_func,
            data_manager=self.data_manager,
            similarity_evaluation=KeyTermCosineEvaluation(),
            config=Config(similarity_threshold=threshold, disable_report=True,
                          enable_token_counter=False),
        )

    def sync_with_sqlite(self) -> None:
        """SQLite is the source of truth: add what another process (the CLI, a second app)
        stored since, drop what it or GPTCache's LRU eviction deleted."""
        alive = alive_ids(self.db)
        self.vectors.delete(self.vectors.held - alive)
        self.vectors.mul_add(stored_vectors(self.db, alive - self.vectors.held))

    def set_threshold(self, threshold: float) -> None:
        self.cache.config.similarity_threshold = threshold
        self.vectors.min_similarity = threshold

    def same_question(self, text: str, vector: np.ndarray) -> set[int]:
        """Ids of stored entries whose question is `text` (normalised; ignoring case)."""
        same = set()
        for distance, data_id in self.vectors.search(vector, SEARCH_TOP_K):
            if distance <= SAME_QUESTION_DISTANCE:
                data = self.scalar.get_data_by_id(data_id)
                question = " ".join(str(data.question).split()) if data is not None else ""
                if question.casefold() == text.casefold():
                    same.add(data_id)
        return same

    def remove(self, ids: list[int]) -> None:
        if ids:
            self.scalar.mark_deleted(ids)
            self.data_manager.eviction_manager.delete()  # clears marked rows and their vectors

    def close(self) -> None:
        self.data_manager.close()
        self.engine.dispose()  # close SQLAlchemy's pooled connections
