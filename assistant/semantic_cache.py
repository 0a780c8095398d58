"""Semantic cache (GPTCache): a similar enough earlier request serves the earlier answer.

GPTCache does the work: one `gptcache.Cache` per scope, with GPTCache's SQLite scalar store
(through SQLAlchemy, a declared dependency) for questions, answers and their embeddings, a
numpy vector store (`NumpyVectorStore`, GPTCache's `VectorBase` interface) for the similarity
search, our MiniLM embedding function, and a GPTCache similarity evaluation
(`KeyTermCosineEvaluation`) whose score is the cosine similarity of the two requests, so
GPTCache's `similarity_threshold` *is* a cosine similarity; it vetoes a pair that disagrees on
numbers or negation.

Why not GPTCache's own vector backends: its chromadb backend fails with chromadb 1.x, and
faiss/hnswlib/docarray/usearch are not installed, so GPTCache would `pip install` them at run
time. Importing this module makes any such attempt raise `RuntimeInstallRefused` instead.

Scoping: every `CacheScope` (knowledge-base version, model, adapter, prompt version, guard-rule
version) has its own directory, data manager and vector index under `directory/<scope key>/`.
An entry of another scope is never a search candidate, so re-ingesting changed documents,
switching the adapter, or changing the prompt or the guard rules never serves an old answer.

Several processes may share the directory (e.g. the UI and `assistant ask`): SQLite is the
source of truth, a deleted entry is never served, and each process sees the others' new entries
after it reopens the cache.

Layout on disk (survives restarts):
    directory/<scope key>/scope.json    the scope's fields, for people and `prune`
    directory/<scope key>/sqlite.db     GPTCache's scalar store (the source of truth)
    directory/<scope key>/vectors.npz   the vector index; rebuilt from sqlite.db when stale
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import gptcache.utils
import gptcache.utils.dependency_control
import numpy as np

logger = logging.getLogger(__name__)


class CacheWriteError(RuntimeError):
    """An answer could not be stored (the turn itself is unaffected)."""


class RuntimeInstallRefused(RuntimeError):
    """GPTCache tried to pip-install a missing backend while the app was running."""


def _refuse_install(package: str, warn: bool = False) -> None:
    raise RuntimeInstallRefused(
        f"GPTCache tried to pip-install {package!r} at run time. The assistant never installs "
        "packages while running: declare the package as a dependency, or use another backend."
    )


# GPTCache's `import_*` helpers call `gptcache.utils.prompt_install`, which runs `pip install`.
gptcache.utils.prompt_install = _refuse_install
gptcache.utils.dependency_control.prompt_install = _refuse_install

from gptcache import Cache, Config  # noqa: E402  (after the install guard, on purpose)
from gptcache.adapter.api import get as gptcache_get  # noqa: E402
from gptcache.adapter.api import put as gptcache_put  # noqa: E402
from gptcache.manager.data_manager import SSDataManager  # noqa: E402
from gptcache.manager.vector_data.base import VectorBase, VectorData  # noqa: E402
from gptcache.processor.pre import get_prompt  # noqa: E402
from gptcache.session import Session  # noqa: E402
from gptcache.similarity_evaluation import SimilarityEvaluation  # noqa: E402

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

# Nearest neighbours handed to GPTCache's evaluation per lookup (the best one wins).
SEARCH_TOP_K = 4

# A stored question this close to a new one (after normalising) is the same question: storing
# the new answer replaces it (e.g. after "ask again, fresh").
SAME_QUESTION_DISTANCE = 1e-4

PAYLOAD_VERSION = 1


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


class NumpyVectorStore(VectorBase):
    """GPTCache's vector-store interface over one numpy matrix of unit vectors.

    Search is exact (one matrix-vector product): a per-scope cache holds at most a few thousand
    384-d vectors, well under a millisecond. `search` returns (cosine distance, id) pairs, nearest
    first, as GPTCache's other stores return (distance, id).
    """

    def __init__(self, path: Path | None = None, top_k: int = SEARCH_TOP_K,
                 min_similarity: float = 0.0):
        self.path = Path(path) if path else None
        self.default_top_k = top_k
        # Candidates below this can never be served: leaving them out spares GPTCache a scalar
        # store read per candidate, so a miss costs one embedding and one matrix product.
        self.min_similarity = min_similarity
        self._lock = threading.RLock()
        self._ids = np.zeros(0, dtype=np.int64)
        self._vectors: np.ndarray | None = None
        self._dirty = False
        self._closed = False
        if self.path is not None and self.path.is_file():
            with np.load(self.path) as data:
                self._ids = data["ids"].astype(np.int64)
                self._vectors = data["vectors"].astype(np.float32)

    def __len__(self) -> int:
        return int(self._ids.shape[0])

    def ids(self) -> set[int]:
        with self._lock:
            return {int(i) for i in self._ids}

    def mul_add(self, datas: list[VectorData]) -> None:
        if not datas:
            return
        with self._lock:
            ids = np.array([int(d.id) for d in datas], dtype=np.int64)
            rows = np.stack([_unit(d.data) for d in datas])
            keep = ~np.isin(self._ids, ids)  # re-adding an id replaces its vector
            if self._vectors is None:
                self._vectors = rows
            else:
                self._vectors = np.concatenate([self._vectors[keep], rows])
            self._ids = np.concatenate([self._ids[keep], ids])
            self._dirty = True

    def search(self, data: np.ndarray, top_k: int = -1):
        with self._lock:
            if self._vectors is None or not len(self._ids):
                return []
            k = self.default_top_k if top_k is None or top_k <= 0 else top_k
            k = min(k, len(self._ids))
            similarities = self._vectors @ _unit(data)
            best = np.argpartition(-similarities, k - 1)[:k]
            best = best[np.argsort(-similarities[best], kind="stable")]
            floor = self.min_similarity - 1e-6
            return [(float(1.0 - similarities[i]), int(self._ids[i])) for i in best
                    if similarities[i] >= floor]

    def delete(self, ids) -> bool:
        with self._lock:
            if self._vectors is None or ids is None or not len(ids):
                return False
            keep = ~np.isin(self._ids, np.asarray(list(ids), dtype=np.int64))
            removed = bool((~keep).any())
            self._ids, self._vectors = self._ids[keep], self._vectors[keep]
            self._dirty = self._dirty or removed
            return removed

    def rebuild(self, ids=None) -> bool:
        """Keep only `ids` (GPTCache calls this with the ids still alive after evictions)."""
        with self._lock:
            if ids is None or self._vectors is None:
                return True
            keep = np.isin(self._ids, np.asarray(list(ids), dtype=np.int64))
            if not keep.all():
                self._ids, self._vectors = self._ids[keep], self._vectors[keep]
                self._dirty = True
            return True

    def get_embeddings(self, data_id):
        with self._lock:
            hits = np.nonzero(self._ids == int(data_id))[0]
            return None if not len(hits) or self._vectors is None else self._vectors[hits[0]].copy()

    def update_embeddings(self, data_id, emb: np.ndarray) -> None:
        self.mul_add([VectorData(id=int(data_id), data=emb)])

    def flush(self) -> None:
        """Write the index atomically (temp file + rename) if it changed."""
        with self._lock:
            if self.path is None or not self._dirty or self._closed:
                return
            vectors = self._vectors if self._vectors is not None else np.zeros((0, 0), np.float32)
            tmp = self.path.with_name(self.path.name + ".tmp")
            with open(tmp, "wb") as handle:
                np.savez(handle, ids=self._ids, vectors=vectors)
            os.replace(tmp, self.path)
            self._dirty = False

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self.flush()
                self._closed = True


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_NUMBER_WORDS = {
    word: str(value) for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
del _NUMBER_WORDS["one"]  # far more often a pronoun ("use one off the shelf") than a number
_NEGATIONS = {"not", "no", "never", "without", "cannot", "none", "nothing", "nor", "neither",
              "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "cant", "wont",
              "shouldnt", "wouldnt", "couldnt", "havent", "hasnt", "mustnt"}


# Opposites that flip the answer while barely moving the embedding: "what does a thumbs up
# do" vs "... thumbs down" scored 0.972, "biggest benefit" vs "biggest risk" 0.897.
_OPPOSITES = [
    ("up", "down"), ("benefit", "risk"), ("benefits", "risks"), ("advantage", "disadvantage"),
    ("advantages", "disadvantages"), ("pros", "cons"), ("before", "after"),
    ("increase", "decrease"), ("increases", "decreases"), ("minimum", "maximum"),
    ("min", "max"), ("best", "worst"), ("input", "output"), ("inputs", "outputs"),
    ("precision", "recall"), ("positive", "negative"), ("first", "last"), ("more", "less"),
    ("higher", "lower"), ("larger", "smaller"), ("explicit", "implicit"), ("online", "offline"),
]
_CONTRAST_WORDS = {word for pair in _OPPOSITES for word in pair}


def contrast_terms(question: str) -> frozenset[str]:
    """The opposite-pair words a question uses; two questions must agree on them to match."""
    return frozenset(w for w in _WORD.findall(question.lower()) if w in _CONTRAST_WORDS)


def key_terms(question: str) -> tuple[frozenset[str], bool]:
    """(numbers, negated): what sentence embeddings barely see but changes the answer.

    Measured with MiniLM: "rank 16" vs "rank 8" in otherwise equal questions scores 0.977, and
    "ROUGE-2" vs "ROUGE-L" 0.879; the handbook names numbers and negations as the classic false
    hits of semantic caches.
    """
    text = question.lower()
    numbers = {n.replace(",", "") for n in _NUMBER.findall(text)}
    words = _WORD.findall(text)
    numbers |= {_NUMBER_WORDS[w] for w in words if w in _NUMBER_WORDS}
    negated = any(w in _NEGATIONS or w.endswith("n't") for w in words)
    return frozenset(numbers), negated


class KeyTermCosineEvaluation(SimilarityEvaluation):
    """GPTCache similarity evaluation: cosine similarity of the new request's embedding and the
    stored request's embedding (read back from SQLite with the entry, so a stale vector index can
    never make a wrong pair look similar), vetoed to 0 when they disagree on numbers or negation.
    """

    def evaluation(self, src_dict, cache_dict, **_) -> float:
        new_q, old_q = str(src_dict.get("question", "")), str(cache_dict.get("question", ""))
        if key_terms(new_q) != key_terms(old_q) or contrast_terms(new_q) != contrast_terms(old_q):
            return 0.0
        new, old = src_dict.get("embedding"), cache_dict.get("embedding")
        if new is None or old is None:
            return 0.0
        return float(min(max(float(np.dot(_unit(new), _unit(old))), 0.0), 1.0))

    def range(self) -> tuple[float, float]:
        return 0.0, 1.0


def _unit(vector) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def _normalise_question(question: str) -> str:
    return " ".join(question.split())


def _same_question(a: str, b: str) -> bool:
    return _normalise_question(a).casefold() == _normalise_question(b).casefold()


class _ScopeStore:
    """One scope's GPTCache `Cache` and the parts of it we touch directly."""

    def __init__(self, directory: Path, threshold: float, embedding_func, max_entries: int):
        from gptcache.manager import CacheBase  # imports SQLAlchemy (declared dependency)

        self.directory = directory
        with warnings.catch_warnings():
            # GPTCache 0.1.44 uses SQLAlchemy 1.x's declarative_base (MovedIn20Warning).
            warnings.simplefilter("ignore")
            self.scalar = CacheBase("sqlite", sql_url=f"sqlite:///{directory / 'sqlite.db'}")
        _tune_sqlite(self.scalar)
        self.vectors = NumpyVectorStore(directory / "vectors.npz")
        self.vectors.min_similarity = threshold
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
        """SQLite is the source of truth: repair a vector index left stale by a crash, or by
        another process (the CLI, a second app) that stored or evicted entries since."""
        alive = set(self.scalar.get_ids(deleted=False))
        indexed = self.vectors.ids()
        if indexed - alive:
            self.vectors.delete(sorted(indexed - alive))
        missing = []
        for data_id in sorted(alive - indexed):
            data = self.scalar.get_data_by_id(data_id)
            if data is not None and data.embedding_data is not None:
                missing.append(VectorData(id=data_id, data=data.embedding_data))
        self.vectors.mul_add(missing)
        self.vectors.flush()

    def set_threshold(self, threshold: float) -> None:
        self.cache.config.similarity_threshold = threshold
        self.vectors.min_similarity = threshold

    def count(self) -> int:
        return int(self.scalar.count(state=0))

    def ids_of_turn(self, turn_id: str) -> list[int]:
        return sorted({row.question_id for row in self.scalar.list_sessions(session_id=turn_id)})

    def remove(self, ids: list[int]) -> None:
        if ids:
            self.scalar.mark_deleted(ids)
            self.data_manager.eviction_manager.delete()  # clears marked rows and their vectors
            self.vectors.flush()

    def close(self) -> None:
        self.data_manager.close()
        engine = getattr(self.scalar, "_engine", None)
        if engine is not None:
            engine.dispose()


def _tune_sqlite(scalar) -> None:
    """WAL and synchronous=NORMAL for GPTCache's SQLite file: every candidate GPTCache reads is
    a small write transaction (it updates last_access), and a full fsync per commit made a hit
    cost tens of milliseconds. Still durable across process crashes, which is what a cache needs."""
    engine = getattr(scalar, "_engine", None)  # SQLStorage in gptcache 0.1.44
    if engine is None or engine.dialect.name != "sqlite":
        return
    from sqlalchemy import event

    def on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    event.listen(engine, "connect", on_connect)
    engine.dispose()  # pooled connections were opened before the listener


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
        self._stores: dict[str, _ScopeStore] = {}

    # -- settings -----------------------------------------------------------------------------

    @property
    def threshold(self) -> float:
        return self._threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        with self._lock:
            self._threshold = _check_threshold(value)
            for store in self._stores.values():
                store.set_threshold(self._threshold)

    # -- public API ---------------------------------------------------------------------------

    def lookup(self, question: str, scope: CacheScope) -> CacheHit | None:
        """The best earlier answer of this scope at or above the threshold, else None."""
        text = _normalise_question(question or "")
        if not text:
            return None
        if not (self.directory / scope.key()).is_dir() and scope.key() not in self._stores:
            return None
        self._embedding(text)  # embed outside the lock; GPTCache gets it from the memo
        with self._lock:
            store = self._store(scope, create=False)
            if store is None:
                return None
            store.sync_with_sqlite()
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
        payload = json.dumps(
            {
                "v": PAYLOAD_VERSION,
                "scope": scope.key(),
                "turn_id": str(turn_id),
                "question": text,
                "answer": answer,
                "citations": list(citations or []),
            },
            ensure_ascii=False,
        )
        vector = self._embedding(text)
        with self._lock:
            store = self._store(scope, create=True)
            replaced = set(store.ids_of_turn(str(turn_id)))
            for distance, data_id in store.vectors.search(vector, SEARCH_TOP_K):
                if distance <= SAME_QUESTION_DISTANCE:
                    data = store.scalar.get_data_by_id(data_id)
                    if data is not None and _same_question(str(data.question), text):
                        replaced.add(data_id)
            store.remove(sorted(replaced))
            # GPTCache's session table links the entry to the turn that produced it (evict).
            session = Session(name=str(turn_id), data_manager=store.data_manager)
            gptcache_put(text, payload, cache_obj=store.cache, session=session)
            store.cache.flush()
            if not store.ids_of_turn(str(turn_id)):  # GPTCache logs and swallows write errors
                raise CacheWriteError(f"the semantic cache did not store turn {turn_id}")

    def evict(self, turn_id: str) -> bool:
        """Remove the entry that turn `turn_id` produced (thumbs-down); True if there was one."""
        if not turn_id:
            return False
        removed = False
        with self._lock:
            for store in self._all_stores():
                ids = store.ids_of_turn(str(turn_id))
                if ids:
                    store.remove(ids)
                    removed = True
        return removed

    def clear(self) -> None:
        """Forget every entry of every scope."""
        with self._lock:
            self._close_stores()
            for child in self._scope_dirs():
                shutil.rmtree(child)

    def prune(self, keep: CacheScope) -> int:
        """Delete every other scope's entries (e.g. after re-ingesting); returns scopes removed."""
        removed = 0
        with self._lock:
            for child in self._scope_dirs():
                if child.name != keep.key():
                    store = self._stores.pop(child.name, None)
                    if store is not None:
                        store.close()
                    shutil.rmtree(child)
                    removed += 1
        return removed

    def close(self) -> None:
        with self._lock:
            self._close_stores()

    def __len__(self) -> int:
        with self._lock:
            return sum(store.count() for store in self._all_stores())

    # -- helpers ------------------------------------------------------------------------------

    def _store(self, scope: CacheScope, create: bool) -> _ScopeStore | None:
        key = scope.key()
        store = self._stores.get(key)
        if store is not None:
            return store
        directory = self.directory / key
        if not directory.is_dir():
            if not create:
                return None
            directory.mkdir(parents=True)
            (directory / "scope.json").write_text(
                json.dumps(asdict(scope), indent=2, sort_keys=True) + "\n", encoding="utf-8"
            )
        store = _ScopeStore(directory, self._threshold, self._gptcache_embedding,
                            self.max_entries)
        self._stores[key] = store
        return store

    def _scope_dirs(self) -> list[Path]:
        return sorted(child for child in self.directory.iterdir()
                      if child.is_dir() and child.name.startswith("scope-"))

    def _all_stores(self) -> list[_ScopeStore]:
        for child in self._scope_dirs():
            if child.name not in self._stores:
                self._stores[child.name] = _ScopeStore(
                    child, self._threshold, self._gptcache_embedding, self.max_entries
                )
        return list(self._stores.values())

    def _close_stores(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()

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
        vector = _unit(embed(text))
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
