"""Semantic cache (GPTCache): a similar enough earlier request serves the earlier answer.

GPTCache does the work: one `gptcache.Cache` per scope (`assistant.cache_backend.ScopeStore`),
with GPTCache's SQLite scalar store for questions, answers and their embeddings, GPTCache's
faiss vector store for the similarity search, our MiniLM embedding function, and a similarity
evaluation whose score is the cosine similarity of the two requests, so GPTCache's
`similarity_threshold` *is* a cosine similarity; it vetoes a pair that disagrees on numbers,
negation or opposite words. `python -m evals.bench_cache_backends` measured faiss against the
numpy store it replaced, hnswlib, usearch and a Chroma collection.

Scoping: every `CacheScope` (knowledge-base version, model, adapter, prompt version, guard-rule
version) has its own directory, data manager and vector index under `directory/<scope key>/`.
An entry of another scope is never a search candidate, so re-ingesting changed documents,
switching the adapter, or changing the prompt or the guard rules never serves an old answer.

Several processes may share the directory (e.g. the UI and `assistant ask`): SQLite is the
source of truth, a deleted entry is never served, and each process sees the others' new entries:
the vector index lives in memory only, built from SQLite when a scope is opened and synced with
it before every lookup and store. A thumbs-down (`evict`) finds the scope that holds the turn
with read-only sqlite3 queries and opens only that one.

Layout on disk (survives restarts):
    directory/<scope key>/scope.json    the scope's fields, for people and `prune`
    directory/<scope key>/sqlite.db     GPTCache's scalar store, WAL mode (the source of truth)

Importing this module changes nothing global; `assistant.offline.enforce_offline()`, called by
every entry point, stops GPTCache from pip-installing anything at run time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from gptcache.adapter.api import get as gptcache_get
from gptcache.adapter.api import put as gptcache_put
from gptcache.session import Session

from assistant.cache_backend import (
    ScopeStore,
    count_entries,
    entries_of_turn,
    stored_dimension,
)
from assistant.text import unit

logger = logging.getLogger(__name__)

# Cosine similarity at or above which an earlier request counts as the same question.
# Measured by `python -m evals.bench_cache --skip-latency` on evals/cache_paraphrases.jsonl (40
# golden train questions, 80 paraphrases that should hit, 40 different questions on the same
# topic that must not; all 67 answerable train questions stored). MiniLM puts minimal pairs very
# close ("...thumbs up?" vs "...thumbs down?" 0.972; "rank 16" vs "rank 8" 0.977), so numbers,
# negations and opposite words (up/down, benefit/risk, ...) are vetoed separately. With those
# vetoes the lowest threshold with no false hit is 0.96: paraphrases hit 19/80 (23.8%),
# different questions 0/40. Lower serves wrong answers: 0.89 -> 44/80 hits with 1/40 false.
# The closest remaining different pair: "How is human preference data collected for RLHF?" vs
# "How does RLHF use the human preference data?" at 0.953.
DEFAULT_THRESHOLD = 0.96

# Most entries kept per scope; past it GPTCache's LRU eviction drops the least recently used.
DEFAULT_MAX_ENTRIES = 1000

PAYLOAD_VERSION = 1


class CacheWriteError(RuntimeError):
    """An answer could not be stored (the turn itself is unaffected)."""


@dataclass(frozen=True)
class CacheScope:
    """Everything an answer depends on besides the question; entries never cross scopes."""

    kb_version: str
    model: str
    adapter: str | None
    prompt_version: str
    guard_version: str

    def key(self) -> str:
        """Stable across processes and Python versions: a hash of all fields."""
        blob = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return "scope-" + hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


@dataclass
class CacheHit:
    turn_id: str  # the earlier turn that produced the answer
    answer: str
    citations: list[dict]  # as stored (Citation.to_dict() dicts)
    similarity: float  # cosine similarity of the requests, 0..1
    question: str  # the earlier question


def _normalise_question(question: str) -> str:
    return " ".join(question.split())


class SemanticCache:
    """Serves earlier answers to similar enough questions, per scope; thread-safe.

    The caller decides what gets stored: store only answers that passed the output guards,
    never refusals, never answers that were stopped or already have negative feedback. Call
    `evict(turn_id)` on a thumbs-down. `lookup` serves only entries of the same `CacheScope`
    whose question has cosine similarity >= `threshold` with the new one, the most similar first.

    The question given to `lookup` and `store` must already be redacted by the input guard: it
    is embedded and written to disk as is.
    """

    def __init__(
        self,
        directory: Path,
        embed_fn: Callable[[str], Sequence[float]] | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._embed_fn = embed_fn
        self._threshold = _check_threshold(threshold)
        self.max_entries = max_entries
        self._lock = threading.RLock()
        self._embed_lock = threading.Lock()
        self._recent_embeddings: OrderedDict[str, np.ndarray] = OrderedDict()
        self._stores: dict[str, ScopeStore] = {}

    @property
    def threshold(self) -> float:
        return self._threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        with self._lock:
            self._threshold = _check_threshold(value)
            for store in self._stores.values():
                store.set_threshold(self._threshold)

    def lookup(self, question: str, scope: CacheScope) -> CacheHit | None:
        """The best earlier answer of this scope at or above the threshold, else None."""
        text = _normalise_question(question or "")
        if not text or not (self.directory / scope.key()).is_dir():
            return None
        vector = self._embedding(text)  # embedded outside the lock; GPTCache gets the memo
        with self._lock:
            store = self._open(self.directory / scope.key(), len(vector))
            scores: list[tuple[str, float]] = []
            payload = gptcache_get(text, cache_obj=store.cache, hit_callback=scores.extend)
        if payload is None:
            return None
        entry = json.loads(payload)
        if entry.get("scope") != scope.key():  # cannot happen: one store per scope
            logger.error("semantic cache: entry of scope %s found under %s; not served",
                         entry.get("scope"), scope.key())
            return None
        similarity = max((s for q, s in scores if q == entry["question"]), default=None)
        if similarity is None:
            similarity = max((s for _, s in scores), default=self._threshold)
        return CacheHit(
            turn_id=entry["turn_id"],
            answer=entry["answer"],
            citations=list(entry.get("citations") or []),
            similarity=round(min(max(float(similarity), 0.0), 1.0), 4),
            question=entry["question"],
        )

    def store(
        self, question: str, scope: CacheScope, turn_id: str, answer: str, citations: list[dict]
    ) -> None:
        """Remember `answer` (produced by turn `turn_id`) for `question` in `scope`.

        An entry for the same question (ignoring case and spacing) in the same scope, or from the
        same turn, is replaced: e.g. the fresh answer after "ask again, fresh" supersedes.
        Raises CacheWriteError if GPTCache could not write it; the cache is an optimisation, so
        callers log that and carry on.
        """
        text = _normalise_question(question or "")
        if not text:
            raise ValueError("cannot cache an empty question")
        if not turn_id:
            raise ValueError("a cache entry needs the turn_id that produced it")
        if not answer:
            raise ValueError("cannot cache an empty answer")
        turn_id = str(turn_id)
        payload = json.dumps({"v": PAYLOAD_VERSION, "scope": scope.key(), "turn_id": turn_id,
                              "question": text, "answer": answer,
                              "citations": list(citations or [])}, ensure_ascii=False)
        vector = self._embedding(text)
        with self._lock:
            store = self._open(self._scope_dir(scope), len(vector))
            store.remove(sorted(set(entries_of_turn(store.db, turn_id))
                                | store.same_question(text, vector)))
            # GPTCache's session table links the entry to the turn that produced it (evict).
            session = Session(name=turn_id, data_manager=store.data_manager)
            gptcache_put(text, payload, cache_obj=store.cache, session=session)
            if not entries_of_turn(store.db, turn_id):  # GPTCache logs and swallows errors
                raise CacheWriteError(f"the semantic cache did not store turn {turn_id}")

    def evict(self, turn_id: str) -> bool:
        """Remove the entry that turn `turn_id` produced (thumbs-down); True if there was one.
        Only the scope that holds it is opened; the others are only read."""
        if not turn_id:
            return False
        removed = False
        with self._lock:
            for child in self._scope_dirs():
                db = child / "sqlite.db"
                ids = entries_of_turn(db, str(turn_id)) if db.is_file() else []
                if ids:
                    self._open(child, stored_dimension(db)).remove(ids)
                    removed = True
        return removed

    def clear(self) -> None:
        """Forget every entry of every scope."""
        with self._lock:
            for child in self._scope_dirs():
                self._remove_scope(child)

    def prune(self, keep: CacheScope) -> int:
        """Delete every other scope's entries (e.g. after re-ingesting); returns scopes removed."""
        with self._lock:
            others = [child for child in self._scope_dirs() if child.name != keep.key()]
            for child in others:
                self._remove_scope(child)
        return len(others)

    def close(self) -> None:
        with self._lock:
            for store in self._stores.values():
                store.close()
            self._stores.clear()

    def __len__(self) -> int:
        with self._lock:
            return sum(count_entries(child / "sqlite.db") for child in self._scope_dirs())

    def _open(self, directory: Path, dimension: int | None) -> ScopeStore:
        """The scope's store, opened once per process and synced with SQLite on every use."""
        store = self._stores.get(directory.name)
        if store is not None and not store.db.is_file():  # another process pruned or cleared
            self._stores.pop(directory.name).close()
            store = None
        if store is None:
            db = directory / "sqlite.db"
            dimension = (stored_dimension(db) if db.is_file() else None) or dimension
            store = ScopeStore(directory, dimension, self._threshold, self._gptcache_embedding,
                                self.max_entries)
            self._stores[directory.name] = store
        else:
            store.sync_with_sqlite()
        return store

    def _scope_dir(self, scope: CacheScope) -> Path:
        """The scope's directory, created with its scope.json the first time."""
        directory = self.directory / scope.key()
        if not directory.is_dir():
            directory.mkdir(parents=True)
            (directory / "scope.json").write_text(
                json.dumps(asdict(scope), indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
        return directory

    def _scope_dirs(self) -> list[Path]:
        return sorted(child for child in self.directory.iterdir()
                      if child.is_dir() and child.name.startswith("scope-"))

    def _remove_scope(self, directory: Path) -> None:
        store = self._stores.pop(directory.name, None)
        if store is not None:
            store.close()
        shutil.rmtree(directory)

    def _gptcache_embedding(self, data, **_) -> np.ndarray:
        """GPTCache's embedding_func signature: (data, extra_param=None) -> vector."""
        return self._embedding(_normalise_question(str(data)))

    def _embedding(self, text: str) -> np.ndarray:
        """Embeds with our MiniLM model; the last few are memoised, so a lookup followed by a
        store of the same question embeds it once."""
        with self._embed_lock:
            cached = self._recent_embeddings.get(text)
            if cached is not None:
                self._recent_embeddings.move_to_end(text)
                return cached
            if self._embed_fn is None:
                from assistant.embeddings import load_embeddings

                self._embed_fn = load_embeddings().embed_query
            embed = self._embed_fn
        vector = unit(embed(text))
        with self._embed_lock:
            self._recent_embeddings[text] = vector
            while len(self._recent_embeddings) > 256:
                self._recent_embeddings.popitem(last=False)
        return vector


def _check_threshold(value: float) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"cache threshold must be within 0..1, got {value}")
    return value
