"""The semantic cache (GPTCache behind assistant.semantic_cache).

Fast tests use `ToyEmbedding`, a real embedding function over a tiny vocabulary (synonyms map to
one concept, so a reworded question lands on the same vector); the `slow` test runs the real
MiniLM model at the measured default threshold.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sqlite3
import subprocess
import sys
import threading

import gptcache.utils
import numpy as np
import pytest
import sqlalchemy

from assistant import cache_backend
from assistant.cache_backend import ScopeIndex
from assistant.offline import RuntimeInstallRefused, refuse_runtime_installs
from assistant.semantic_cache import (
    DEFAULT_THRESHOLD,
    CacheHit,
    CacheScope,
    SemanticCache,
)

SCOPE = CacheScope(kb_version="kb-1", model="smollm2", adapter=None, prompt_version="p1",
                   guard_version="g1")
CITATIONS = [{"n": 1, "source": "metric-rouge.md", "chunk_id": "c1", "heading": "ROUGE-L",
              "score": 0.71, "text": "ROUGE-L uses the longest common subsequence."}]

SYNONYMS = {"calculate": "compute", "computed": "compute", "computation": "compute",
            "calculated": "compute", "computing": "compute", "launch": "start", "run": "start"}
STOPWORDS = {"how", "is", "do", "you", "the", "a", "what", "s", "i", "behind", "does", "of"}


class ToyEmbedding:
    """Bag of concepts hashed into 64 dimensions; counts calls to check memoisation."""

    def __init__(self):
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, text: str) -> list[float]:
        with self.lock:
            self.calls += 1
        vector = np.zeros(64, dtype=np.float32)
        for word in "".join(c if c.isalnum() or c == "-" else " " for c in text.lower()).split():
            if word in STOPWORDS:
                continue
            concept = SYNONYMS.get(word, word)
            vector[int(hashlib.sha256(concept.encode()).hexdigest(), 16) % 64] += 1.0
        return vector.tolist()


@pytest.fixture
def embed():
    return ToyEmbedding()


@pytest.fixture
def cache(tmp_path, embed):
    c = SemanticCache(tmp_path / "cache", embed_fn=embed)
    yield c
    c.close()


def store_rouge(cache: SemanticCache, scope: CacheScope = SCOPE, turn_id: str = "turn-1"):
    cache.store("How is ROUGE-L computed?", scope, turn_id,
                "ROUGE-L is computed from the longest common subsequence [1].", CITATIONS)


def test_identical_question_hits_with_answer_citations_and_turn(cache):
    store_rouge(cache)
    hit = cache.lookup("How is ROUGE-L computed?", SCOPE)
    assert isinstance(hit, CacheHit)
    assert hit.turn_id == "turn-1"
    assert hit.answer == "ROUGE-L is computed from the longest common subsequence [1]."
    assert hit.citations == CITATIONS
    assert hit.question == "How is ROUGE-L computed?"
    assert hit.similarity == pytest.approx(1.0, abs=1e-4)


def test_paraphrased_question_hits(cache):
    store_rouge(cache)
    hit = cache.lookup("how do you calculate  ROUGE-L", SCOPE)
    assert hit is not None and hit.turn_id == "turn-1"
    assert DEFAULT_THRESHOLD <= hit.similarity <= 1.0


def test_different_question_misses(cache):
    store_rouge(cache)
    assert cache.lookup("How is BLEU computed?", SCOPE) is None
    assert cache.lookup("What is LoRA?", SCOPE) is None
    assert cache.lookup("", SCOPE) is None


def test_numbers_and_negation_must_agree(cache, embed):
    cache.threshold = 0.5
    cache.store("How many parameters does LoRA rank 8 train?", SCOPE, "t-8", "A [1].", [])
    assert cache.lookup("How many parameters does LoRA rank eight train?", SCOPE) is not None
    assert cache.lookup("How many parameters does LoRA rank 16 train?", SCOPE) is None
    cache.store("Should refusals be cached?", SCOPE, "t-neg", "No [1].", [])
    assert cache.lookup("Should refusals not be cached?", SCOPE) is None
    cache.store("What does a thumbs up do?", SCOPE, "t-up", "Nothing [1].", [])
    assert cache.lookup("What does a thumbs down do?", SCOPE) is None


def test_threshold_is_configurable(tmp_path, embed):
    strict = SemanticCache(tmp_path / "c", embed_fn=embed, threshold=1.0)
    store_rouge(strict)
    assert strict.lookup("How is ROUGE-L computed? Please explain it", SCOPE) is None
    strict.threshold = 0.5
    assert strict.lookup("How is ROUGE-L computed? Please explain it", SCOPE) is not None
    with pytest.raises(ValueError):
        strict.threshold = 1.5
    strict.close()


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(CacheScope)])
def test_other_scopes_are_never_served(cache, field):
    store_rouge(cache)
    other = dataclasses.replace(SCOPE, **{field: "changed"})
    assert other.key() != SCOPE.key()
    assert cache.lookup("How is ROUGE-L computed?", other) is None
    assert cache.lookup("How is ROUGE-L computed?", SCOPE) is not None


def test_scope_key_is_stable_and_covers_every_field():
    assert SCOPE.key() == CacheScope("kb-1", "smollm2", None, "p1", "g1").key()
    assert SCOPE.key() == "scope-c496f0794fe7d5d954a51366"  # must not change between releases
    adapter = dataclasses.replace(SCOPE, adapter="feedback-lora-v2")
    assert adapter.key() != SCOPE.key()


def test_survives_reopen_from_the_same_directory(tmp_path, embed):
    first = SemanticCache(tmp_path / "cache", embed_fn=embed)
    store_rouge(first)
    first.store("How do I launch the assistant?", SCOPE, "turn-2", "Run `assistant serve` [1].",
                [])
    first.close()

    second = SemanticCache(tmp_path / "cache", embed_fn=embed)
    assert len(second) == 2
    hit = second.lookup("How do you calculate ROUGE-L?", SCOPE)
    assert hit is not None and hit.turn_id == "turn-1" and hit.citations == CITATIONS
    assert second.lookup("how do I start the assistant", SCOPE).turn_id == "turn-2"
    second.close()


def test_an_entry_stored_by_another_process_is_served_by_an_open_cache(tmp_path, embed):
    app = SemanticCache(tmp_path / "cache", embed_fn=embed)
    store_rouge(app)  # the app has this scope open, with its vector index in memory
    cli = SemanticCache(tmp_path / "cache", embed_fn=embed)
    cli.store("How do I launch the assistant?", SCOPE, "turn-2", "Run `assistant serve` [1].",
              [])
    cli.close()
    hit = app.lookup("How do I launch the assistant?", SCOPE)
    assert hit is not None and hit.turn_id == "turn-2"
    app.close()


def test_sqlite_is_the_only_store_on_disk_in_wal_mode(tmp_path, embed):
    first = SemanticCache(tmp_path / "cache", embed_fn=embed)
    store_rouge(first)
    first.close()
    (scope_dir,) = (tmp_path / "cache").glob("scope-*")
    assert {p.name for p in scope_dir.iterdir()} <= {"scope.json", "sqlite.db", "sqlite.db-wal",
                                                     "sqlite.db-shm"}
    with sqlite3.connect(scope_dir / "sqlite.db") as db:  # WAL is kept in the file itself
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    second = SemanticCache(tmp_path / "cache", embed_fn=embed)  # index built from SQLite
    assert second.lookup("How is ROUGE-L computed?", SCOPE).turn_id == "turn-1"
    second.close()


def test_busy_timeout_and_synchronous_reach_gptcache_connections(cache):
    store_rouge(cache)
    with cache._stores[SCOPE.key()].scalar.Session() as session:
        assert session.execute(sqlalchemy.text("PRAGMA busy_timeout")).scalar() == 30_000
        assert session.execute(sqlalchemy.text("PRAGMA synchronous")).scalar() == 1  # NORMAL


def test_evict_opens_only_the_scope_that_holds_the_turn(tmp_path, embed, monkeypatch):
    first = SemanticCache(tmp_path / "cache", embed_fn=embed)
    store_rouge(first)
    for n in range(3):
        store_rouge(first, scope=dataclasses.replace(SCOPE, kb_version=f"kb-{n + 2}"),
                    turn_id=f"other-{n}")
    first.close()
    opened = []
    real_init = cache_backend.ScopeStore.__init__

    def recording_init(self, directory, *args, **kwargs):
        opened.append(directory.name)
        real_init(self, directory, *args, **kwargs)

    monkeypatch.setattr(cache_backend.ScopeStore, "__init__", recording_init)
    second = SemanticCache(tmp_path / "cache", embed_fn=embed)
    assert len(second) == 4 and opened == []  # counted without opening GPTCache
    assert second.evict("turn-1") and opened == [SCOPE.key()]
    assert not second.evict("no-such-turn") and opened == [SCOPE.key()]
    assert len(second) == 3
    second.close()


def test_two_processes_sharing_the_directory_never_serve_a_deleted_entry(tmp_path, embed):
    ui = SemanticCache(tmp_path / "cache", embed_fn=embed)
    cli = SemanticCache(tmp_path / "cache", embed_fn=embed)
    store_rouge(ui)
    assert cli.lookup("How is ROUGE-L computed?", SCOPE).turn_id == "turn-1"
    assert cli.evict("turn-1")
    assert ui.lookup("How is ROUGE-L computed?", SCOPE) is None  # ui's index is stale
    # SQLite may give the freed row id to a new entry: ui must judge it by its own question.
    cli.store("What is LoRA?", SCOPE, "turn-lora", "Low-rank adapters [1].", [])
    assert ui.lookup("How is ROUGE-L computed?", SCOPE) is None
    ui.close()
    cli.close()


def test_a_scope_cleared_by_another_process_is_reopened_not_written_to_the_old_file(
        tmp_path, embed):
    ui = SemanticCache(tmp_path / "cache", embed_fn=embed)
    store_rouge(ui)  # the ui holds the scope open
    other = SemanticCache(tmp_path / "cache", embed_fn=embed)
    other.clear()
    assert ui.lookup("How is ROUGE-L computed?", SCOPE) is None
    store_rouge(ui, turn_id="turn-again")
    assert other.lookup("How is ROUGE-L computed?", SCOPE).turn_id == "turn-again"
    assert len(other) == 1
    ui.close()
    other.close()


def test_evict_by_turn_id(tmp_path, cache, embed):
    store_rouge(cache)
    other_scope = dataclasses.replace(SCOPE, kb_version="kb-2")
    cache.store("What is LoRA?", other_scope, "turn-lora", "Low-rank adapters [1].", [])
    assert len(cache) == 2

    assert cache.evict("turn-1") is True
    assert cache.lookup("How is ROUGE-L computed?", SCOPE) is None
    assert cache.evict("turn-1") is False
    assert cache.evict("no-such-turn") is False
    assert len(cache) == 1
    assert cache.lookup("What is LoRA?", other_scope).turn_id == "turn-lora"

    cache.close()  # the eviction is on disk, and evict() finds scopes not opened yet
    reopened = SemanticCache(tmp_path / "cache", embed_fn=embed)
    assert reopened.lookup("How is ROUGE-L computed?", SCOPE) is None
    assert reopened.evict("turn-lora") is True
    assert len(reopened) == 0
    reopened.close()


def test_storing_the_same_question_again_replaces_the_entry(cache):
    store_rouge(cache, turn_id="turn-1")
    cache.store("how is  ROUGE-L computed?", SCOPE, "turn-fresh", "Fresh answer [1].", [])
    assert len(cache) == 1
    hit = cache.lookup("How is ROUGE-L computed?", SCOPE)
    assert (hit.turn_id, hit.answer) == ("turn-fresh", "Fresh answer [1].")
    store_rouge(cache, turn_id="turn-fresh")  # same turn stored twice: still one entry
    assert len(cache) == 1


def test_clear_and_prune(cache):
    store_rouge(cache)
    new_kb = dataclasses.replace(SCOPE, kb_version="kb-2")
    store_rouge(cache, scope=new_kb, turn_id="turn-new")
    assert cache.prune(keep=new_kb) == 1
    assert cache.lookup("How is ROUGE-L computed?", SCOPE) is None
    assert cache.lookup("How is ROUGE-L computed?", new_kb).turn_id == "turn-new"
    cache.clear()
    assert len(cache) == 0
    assert cache.lookup("How is ROUGE-L computed?", new_kb) is None
    store_rouge(cache)  # usable after clear
    assert len(cache) == 1


def test_store_rejects_what_cannot_be_served(cache):
    for question, turn_id, answer in (("", "t", "a"), ("q?", "", "a"), ("q?", "t", "")):
        with pytest.raises(ValueError):
            cache.store(question, SCOPE, turn_id, answer, [])


def test_lookup_then_store_embeds_the_question_once(cache, embed):
    assert cache.lookup("How is ROUGE-L computed?", SCOPE) is None  # no scope yet: no embedding
    store_rouge(cache)
    calls = embed.calls
    cache.lookup("How is BLEU computed?", SCOPE)
    cache.store("How is BLEU computed?", SCOPE, "turn-bleu", "Clipped n-grams [1].", [])
    assert embed.calls == calls + 1


def test_no_package_is_installed_at_run_time(tmp_path, embed, monkeypatch):
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"subprocess called: {args}")

    for name in ("check_call", "check_output", "run", "call", "Popen"):
        monkeypatch.setattr(subprocess, name, refuse)
    monkeypatch.setattr(os, "system", refuse)

    cache = SemanticCache(tmp_path / "cache", embed_fn=embed)
    store_rouge(cache)
    assert cache.lookup("How is ROUGE-L computed?", SCOPE) is not None
    assert cache.evict("turn-1")
    cache.clear()
    cache.close()
    assert attempts == []

    # Once refused (at entry points), a missing backend raises instead of running pip.
    monkeypatch.setattr(gptcache.utils, "prompt_install", gptcache.utils.prompt_install)
    monkeypatch.setattr(gptcache.utils.dependency_control, "prompt_install",
                        gptcache.utils.dependency_control.prompt_install)
    refuse_runtime_installs()
    with pytest.raises(RuntimeInstallRefused):
        gptcache.utils._check_library("assistant_no_such_backend_module")
    with pytest.raises(RuntimeInstallRefused):
        gptcache.utils.dependency_control.prompt_install("faiss-cpu")
    assert attempts == []


def test_importing_the_cache_changes_nothing_global():
    check = ("import gptcache.utils as u, gptcache.utils.dependency_control as d; "
             "before = (u.prompt_install, d.prompt_install); "
             "import assistant.semantic_cache; "
             "assert (u.prompt_install, d.prompt_install) == before")
    subprocess.run([sys.executable, "-c", check], check=True, timeout=120)


def test_concurrent_lookups_and_stores_from_threads(cache):
    store_rouge(cache)
    errors, hits = [], []
    start = threading.Barrier(6)

    def worker(n: int):
        try:
            start.wait()
            for i in range(10):
                hit = cache.lookup("How do you calculate ROUGE-L?", SCOPE)
                hits.append(hit is not None and hit.turn_id == "turn-1")
                if i % 5 == 0:
                    cache.store(f"Question {n} number {i} about topic{n}x{i}?", SCOPE,
                                f"turn-{n}-{i}", "An answer [1].", [])
                cache.lookup(f"unrelated words {n} {i}", SCOPE)
        except Exception as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert all(hits) and len(hits) == 6 * 10
    assert len(cache) == 1 + 6 * 2


@pytest.mark.slow
def test_real_minilm_at_the_default_threshold(tmp_path):
    from assistant.embeddings import load_embeddings

    cache = SemanticCache(tmp_path / "cache", embed_fn=load_embeddings().embed_query)
    cache.store("What distance metric does Chroma use by default?", SCOPE, "turn-chroma",
                "Squared L2 [1].", [])
    assert cache.lookup("What distance metric does Chroma use by default?", SCOPE).turn_id == (
        "turn-chroma")
    assert cache.lookup("what distance metric does chroma use by default", SCOPE) is not None
    assert cache.lookup("How do I change the distance metric in Chroma?", SCOPE) is None
    assert cache.lookup("What is hybrid search?", SCOPE) is None
    cache.close()



def _vector(*values: float) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def test_scope_index_searches_faiss_exactly_nearest_first():
    from gptcache.manager.vector_data.base import VectorData

    index = ScopeIndex(dimension=3, min_similarity=0.0)
    assert index.search(_vector(1, 0, 0)) == []
    index.mul_add([VectorData(id=1, data=_vector(1, 0, 0)), VectorData(id=2, data=_vector(1, 1, 0)),
                   VectorData(id=3, data=_vector(0, 0, 1))])
    found = index.search(_vector(2, 0, 0), top_k=4)  # fewer entries than k: no padding
    assert [i for _, i in found] == [1, 2, 3]
    assert [round(d, 4) for d, _ in found] == [0.0, round(1 - 2 ** -0.5, 4), 1.0]  # cosine
    index.min_similarity = 0.5  # candidates that can never be served are left out
    assert [i for _, i in index.search(_vector(1, 0, 0))] == [1, 2]
    index.mul_add([VectorData(id=1, data=_vector(0, 1, 0))])  # re-adding replaces the vector
    assert [i for _, i in index.search(_vector(1, 0, 0))] == [2]
    assert index.delete([2, 99]) and not index.delete([2])
    assert index.held == {1, 3} and index.count() == 2
    index.flush()  # nothing on disk


def test_lru_eviction_past_max_entries_keeps_index_and_sqlite_in_step(tmp_path, embed):
    cache = SemanticCache(tmp_path / "cache", embed_fn=embed, max_entries=5)
    for n in range(8):
        cache.store(f"What is topic{n} about?", SCOPE, f"turn-{n}", f"Topic {n} [1].", [])
    assert len(cache) <= 5
    assert cache.lookup("What is topic7 about?", SCOPE).turn_id == "turn-7"
    store = cache._stores[SCOPE.key()]
    assert store.vectors.held == cache_backend.alive_ids(store.db)
    cache.close()
