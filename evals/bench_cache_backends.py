"""Which vector backend for the semantic cache: measured against the numpy store it replaced.

    python -m evals.bench_cache_backends [--sizes 1000 10000] [--queries 200] [--skip-quality]
                                         [--json OUT]

1. Vector layer, through GPTCache's `VectorBase` interface, 384-d random unit vectors, N entries:
   p50 search on a hit (a stored vector plus noise, cosine ~0.98) and on a miss (a new random
   vector), p50 insert of one vector as a cache store does it (add + flush), time to add N, and
   the share of hit searches whose top-4 candidates are the baseline's. Times are also given as
   ratios to the baseline (`numpy`: the exact store the cache used before, whose flush wrote the
   whole matrix) measured in the same run. Backends that are not installed are reported so.
2. Same candidates on evals/cache_paraphrases.jsonl (MiniLM): the top-4 stored golden train
   questions for each paraphrase and different question, compared with the baseline's. Equal
   top-4 lists mean the cache serves the same hits (it evaluates exactly those candidates).
3. The cache end to end (`SemanticCache`, faiss), N entries written to SQLite through GPTCache:
   opening the scope (index built from SQLite), p50 `lookup` on a hit and a miss, p50 `store`
   and `evict`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

DIM = 384
TOP_K = 4
BENCH_SCOPE_FIELDS = {"kb_version": "bench", "model": "bench", "adapter": None,
                      "prompt_version": "bench", "guard_version": "bench"}


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def make_numpy_baseline(path: Path):
    """The numpy store the cache used before faiss, reduced to what is measured."""
    from gptcache.manager.vector_data.base import VectorBase

    class NumpyBaseline(VectorBase):
        def __init__(self):
            self.ids, self.vectors = np.zeros(0, np.int64), np.zeros((0, DIM), np.float32)

        def mul_add(self, datas):
            self.ids = np.concatenate([self.ids, [int(d.id) for d in datas]])
            self.vectors = np.concatenate([self.vectors, _unit_rows(np.stack(
                [d.data for d in datas]))])

        def search(self, data, top_k=-1):
            similarities = self.vectors @ data
            best = np.argsort(-similarities, kind="stable")[:top_k]
            return [(float(1 - similarities[i]), int(self.ids[i])) for i in best]

        def delete(self, ids):
            keep = ~np.isin(self.ids, ids)
            self.ids, self.vectors = self.ids[keep], self.vectors[keep]

        def rebuild(self, ids=None):
            return True

        def flush(self):
            with open(path, "wb") as handle:
                np.savez(handle, ids=self.ids, vectors=self.vectors)

    return NumpyBaseline()


def make_chroma(path: Path):
    """A Chroma collection with scope metadata (GPTCache's own chromadb backend fails with
    chromadb 1.x), cosine space."""
    import chromadb
    from gptcache.manager.vector_data.base import VectorBase

    collection = chromadb.PersistentClient(str(path)).create_collection(
        "cache", metadata={"hnsw:space": "cosine"})

    class ChromaCollection(VectorBase):
        def mul_add(self, datas):
            for start in range(0, len(datas), 5000):  # Chroma's largest batch
                batch = datas[start:start + 5000]
                collection.add(ids=[str(d.id) for d in batch], embeddings=[d.data for d in batch],
                               metadatas=[{"scope": "bench"} for _ in batch])

        def search(self, data, top_k=-1):
            found = collection.query(query_embeddings=[data], n_results=top_k,
                                     where={"scope": "bench"})
            return [(d, int(i)) for d, i in zip(found["distances"][0], found["ids"][0],
                                                strict=True)]

        def delete(self, ids):
            collection.delete(ids=[str(i) for i in ids])

        def rebuild(self, ids=None):
            return True

        def flush(self):
            pass  # every add is already persisted

    return ChromaCollection()


def backends(size: int) -> dict[str, Callable[[Path], object]]:
    """name -> factory(directory); GPTCache's own classes where it has one."""

    def faiss_index(_):
        from assistant.cache_backend import ScopeIndex

        return ScopeIndex(DIM, 0.0)

    def usearch(path):
        from gptcache.manager.vector_data.usearch import USearch

        return USearch(str(path / "index.usearch"), DIM, TOP_K, metric="cos")

    def hnswlib(path):
        from gptcache.manager.vector_data.hnswlib_store import Hnswlib

        return Hnswlib(str(path / "index.bin"), DIM, TOP_K, max_elements=size + 1000)

    return {"numpy": lambda path: make_numpy_baseline(path / "vectors.npz"),
            "faiss": faiss_index, "usearch": usearch, "hnswlib": hnswlib, "chroma": make_chroma}


def p50_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 3)


def timed(call: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def vector_workload(size: int, queries: int, seed: int = 0):
    """(stored, hit queries, miss queries, vectors to insert, stored row of each hit query)."""
    rng = np.random.default_rng(seed)
    stored = _unit_rows(rng.standard_normal((size, DIM)))
    picks = rng.choice(size, queries, replace=False)
    hits = _unit_rows(stored[picks] + 0.01 * rng.standard_normal((queries, DIM)))
    misses = _unit_rows(rng.standard_normal((queries, DIM)))
    return stored, hits, misses, _unit_rows(rng.standard_normal((50, DIM))), picks


def measure_backend(store, workload) -> dict:
    from gptcache.manager.vector_data.base import VectorData

    stored, hits, misses, inserts, _ = workload
    build_s, _ = timed(lambda: store.mul_add(
        [VectorData(id=i, data=v) for i, v in enumerate(stored)]))
    hit_times, hit_top = zip(*(timed(lambda q=q: store.search(q, TOP_K)) for q in hits),
                             strict=True)
    miss_times = [timed(lambda q=q: store.search(q, TOP_K))[0] for q in misses]
    insert_times = []
    for n, vector in enumerate(inserts):
        data = [VectorData(id=len(stored) + n, data=vector)]
        insert_times.append(timed(lambda d=data: (store.mul_add(d), store.flush()))[0])
    try:  # eviction (thumbs-down, LRU) needs it
        store.delete([len(stored) + n for n in range(len(inserts))])
        deletes = True
    except NotImplementedError:
        deletes = False
    return {"build_s": round(build_s, 3), "hit_p50_ms": p50_ms(hit_times),
            "miss_p50_ms": p50_ms(miss_times), "insert_p50_ms": p50_ms(insert_times),
            "deletes": deletes, "top": [[int(i) for _, i in found] for found in hit_top]}


def compare_backends(sizes: list[int], queries: int) -> list[dict]:
    rows = []
    for size in sizes:
        workload = vector_workload(size, queries)
        results = {}
        for name, factory in backends(size).items():
            with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
                try:
                    results[name] = measure_backend(factory(Path(tmp)), workload)
                except Exception as err:  # not installed, or the operation is unsupported
                    results[name] = {"error": f"{type(err).__name__}: {err}"}
        rows += summarise(size, results)
    return rows


def summarise(size: int, results: dict[str, dict]) -> list[dict]:
    base, rows = results["numpy"], []
    print(f"\n== Vector layer, N={size}: p50 ms (ratio to numpy) ==")
    for name, r in results.items():
        row = {"backend": name, "n": size, **{k: v for k, v in r.items() if k != "top"}}
        if "error" not in r:
            row["same_top4_as_numpy"] = round(sum(
                a == b for a, b in zip(r["top"], base["top"], strict=True)) / len(r["top"]), 3)
            for key, ratio in (("hit_p50_ms", "hit_ratio"), ("miss_p50_ms", "miss_ratio"),
                               ("insert_p50_ms", "insert_ratio"), ("build_s", "build_ratio")):
                row[ratio] = round(r[key] / max(base[key], 1e-9), 2)
            print(f"  {name:8s} hit {r['hit_p50_ms']:7.3f} ({row['hit_ratio']:5.2f}x) | "
                  f"miss {r['miss_p50_ms']:7.3f} ({row['miss_ratio']:5.2f}x) | insert "
                  f"{r['insert_p50_ms']:8.3f} ({row['insert_ratio']:6.2f}x) | add N "
                  f"{r['build_s']:6.3f} s | same top-4 {row['same_top4_as_numpy']:.1%}"
                  f"{'' if r['deletes'] else ' | delete unsupported'}")
        else:
            print(f"  {name:8s} not measured: {r['error'][:150]}")
        rows.append(row)
    return rows


def same_candidates(names: list[str]) -> dict:
    """Top-4 stored golden questions per paraphrase/different question, against numpy's."""
    from gptcache.manager.vector_data.base import VectorData

    from assistant.embeddings import load_embeddings
    from evals.bench_cache import PAIRS_PATH, load_pairs
    from knowledge.golden_sets import load_golden

    paraphrases, different = load_pairs(PAIRS_PATH)
    stored = [item.question for item in load_golden("train") if item.answerable]
    probes = [r["paraphrase"] for r in paraphrases] + [r["different"] for r in different]
    embed = load_embeddings().embed_documents
    stored_vectors, probe_vectors = _unit_rows(np.array(embed(stored))), _unit_rows(
        np.array(embed(probes)))
    tops = {}
    for name in ["numpy", *names]:
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
            try:
                store = backends(len(stored))[name](Path(tmp))
                store.mul_add([VectorData(id=i, data=v) for i, v in enumerate(stored_vectors)])
                tops[name] = [[i for _, i in store.search(v, TOP_K)] for v in probe_vectors]
            except Exception as err:
                print(f"  {name}: not measured ({type(err).__name__})")
    result = {name: sum(a == b for a, b in zip(top, tops["numpy"], strict=True))
              for name, top in tops.items() if name != "numpy"}
    print(f"\n== Same top-4 candidates as numpy on {len(probes)} paraphrase/different "
          f"questions ({len(stored)} stored) ==")
    for name, same in result.items():
        print(f"  {name:8s} {same}/{len(probes)}")
    return {"probes": len(probes), "same_top4": result}


def fill_sqlite(directory: Path, scope_key: str, vectors: np.ndarray) -> None:
    """N entries as `SemanticCache.store` writes them, in one GPTCache batch (faster)."""
    from gptcache.manager import CacheBase
    from gptcache.manager.scalar_data.base import CacheData

    from assistant.semantic_cache import PAYLOAD_VERSION

    directory.mkdir(parents=True)
    scalar = CacheBase("sqlite", sql_url=f"sqlite:///{directory / 'sqlite.db'}")
    datas = []
    for i, vector in enumerate(vectors):
        question = f"synthetic question {i}"
        payload = json.dumps({"v": PAYLOAD_VERSION, "scope": scope_key, "turn_id": f"t{i}",
                              "question": question, "answer": f"answer {i}", "citations": []})
        datas.append(CacheData(question, payload, vector, session_id=f"t{i}"))
    scalar.batch_insert(datas)
    with scalar.Session() as session:
        session.get_bind().dispose()


def measure_cache(size: int, queries: int) -> dict:
    from assistant.semantic_cache import CacheScope, SemanticCache

    scope = CacheScope(**BENCH_SCOPE_FIELDS)
    stored, hits, misses, inserts, picks = vector_workload(size, queries, seed=1)
    hit_texts = {f"synthetic question {i} again": v for i, v in zip(picks, hits, strict=True)}
    miss_texts = {f"unrelated probe {i}": v for i, v in enumerate(misses)}
    new_texts = {f"new question {i}": v for i, v in enumerate(inserts)}
    texts = hit_texts | miss_texts | new_texts
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        fill_sqlite(Path(tmp) / scope.key(), scope.key(), stored)
        cache = SemanticCache(Path(tmp), embed_fn=texts.__getitem__, max_entries=size)
        open_s, _ = timed(lambda: cache.lookup("unrelated probe 0", scope))
        hit = [timed(lambda t=t: cache.lookup(t, scope)) for t in hit_texts]
        miss = [timed(lambda t=t: cache.lookup(t, scope)) for t in miss_texts]
        evict = [timed(lambda i=i: cache.evict(f"t{i}"))[0] for i in range(20)]
        store = [timed(lambda t=t: cache.store(t, scope, t, "an answer", []))[0]
                 for t in new_texts]
        cache.close()
    return {"n": size, "open_s": round(open_s, 3), "hit_p50_ms": p50_ms([t for t, _ in hit]),
            "miss_p50_ms": p50_ms([t for t, _ in miss]), "evict_p50_ms": p50_ms(evict),
            "store_p50_ms": p50_ms(store),
            "hits_served": sum(f is not None for _, f in hit),
            "misses_served": sum(f is not None for _, f in miss)}


def cache_end_to_end(sizes: list[int], queries: int) -> list[dict]:
    print("\n== SemanticCache end to end (faiss; the embedding is a table lookup) ==")
    rows = []
    for size in sizes:
        row = measure_cache(size, queries)
        print(f"  N={size}: open {row['open_s']} s | hit {row['hit_p50_ms']} ms "
              f"({row['hits_served']}/{queries} served) | miss {row['miss_p50_ms']} ms "
              f"({row['misses_served']} served) | store {row['store_p50_ms']} ms | evict "
              f"{row['evict_p50_ms']} ms")
        rows.append(row)
    return rows


def main() -> None:
    from assistant.offline import enforce_offline

    enforce_offline()
    from assistant.offline import refuse_runtime_installs

    refuse_runtime_installs()  # a backend that is not installed is reported, never installed
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--skip-quality", action="store_true", help="no MiniLM part")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    report = {"vector_layer": compare_backends(args.sizes, args.queries)}
    if not args.skip_quality:
        report["paraphrases"] = same_candidates(["faiss", "usearch", "hnswlib", "chroma"])
    report["cache"] = cache_end_to_end(args.sizes, args.queries)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
