"""Measure the semantic cache: which threshold, what it buys, what a hit saves.

    python -m evals.bench_cache [--model-dir DIR] [--runs 20] [--max-new-tokens 60]
                                [--max-false-hit-rate 0] [--skip-latency] [--json OUT]

1. Quality, from evals/cache_paraphrases.jsonl (golden *train* questions only): every answerable
   train question is stored in a real `SemanticCache` (GPTCache, MiniLM), then each paraphrase
   (should hit its own question) and each different question on the same topic (must not hit
   anything) is looked up. Prints the similarity distributions, and per threshold the paraphrase
   hit rate and the false-hit rate, and recommends the threshold with the highest hit rate whose
   false-hit rate is at most --max-false-hit-rate. A "false hit" is any lookup that would serve
   an answer to another question: a different question that hits anything, or a paraphrase
   whose best match is another stored question.
2. Latency, in the same run: a hit is one `lookup` that finds an answer; a miss is a `lookup`
   that finds none plus what the turn then costs: retrieval (when an index exists under
   $ASSISTANT_HOME) and a real generation of --max-new-tokens with the project's model
   (the configured runtime and model, or --model). Medians over --runs runs,
   each with a question not seen before (so no embedding is memoised), and the miss/hit ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.cache_veto import vetoed
from assistant.config import Settings
from assistant.runtime import make_generator
from assistant.semantic_cache import DEFAULT_THRESHOLD, CacheScope, SemanticCache
from knowledge.golden_sets import load_golden

PAIRS_PATH = Path(__file__).parent / "cache_paraphrases.jsonl"
THRESHOLDS = [round(0.70 + 0.01 * i, 2) for i in range(30)]  # 0.70 .. 0.99
BENCH_SCOPE = CacheScope(kb_version="bench", model="bench", adapter=None, prompt_version="bench",
                         guard_version="bench")


@dataclass
class Probe:
    """One lookup of the quality set: what it should match, what the cache's best match was."""

    kind: str  # "paraphrase" or "different"
    golden_id: str
    question: str  # the stored golden question it was written from
    text: str  # what was looked up
    best_id: str | None  # turn id (= golden id) of the cache's best match
    best_similarity: float
    pair_similarity: float  # cosine similarity to its own golden question

    @property
    def vetoed(self) -> bool:
        """Numbers or negation differ from its own question: the cache never serves that."""
        return vetoed(self.text, self.question)

    def served_wrong(self, threshold: float) -> bool:
        if self.best_id is None or self.best_similarity < threshold:
            return False
        return self.kind == "different" or self.best_id != self.golden_id

    def hit_own(self, threshold: float) -> bool:
        return (self.kind == "paraphrase" and self.best_id == self.golden_id
                and self.best_similarity >= threshold)


def load_pairs(path: Path) -> tuple[list[dict], list[dict]]:
    """(paraphrase rows, different rows); refuses rows not from the golden train split."""
    train = {item.id: item for item in load_golden("train")}
    paraphrases, different = [], []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        item = train.get(row["id"])
        if item is None or item.question != row["question"]:
            raise ValueError(f"{path}:{line_no}: {row['id']} is not a golden train question")
        if "paraphrase" in row:
            paraphrases.append(row)
        elif "different" in row:
            different.append(row)
        else:
            raise ValueError(f"{path}:{line_no}: needs 'paraphrase' or 'different'")
    return paraphrases, different


def fill_cache(cache: SemanticCache) -> int:
    """Store every answerable train question, as the pipeline would after answering it."""
    items = [item for item in load_golden("train") if item.answerable]
    for item in items:
        citations = [{"n": n, "source": source} for n, source in enumerate(item.sources, 1)]
        cache.store(item.question, BENCH_SCOPE, item.id, item.answer, citations)
    return len(items)


def probe(cache: SemanticCache, vectors: dict[str, np.ndarray], paraphrases: list[dict],
          different: list[dict]):
    probes = []
    for kind, rows, key in (("paraphrase", paraphrases, "paraphrase"),
                            ("different", different, "different")):
        for row in rows:
            hit = cache.lookup(row[key], BENCH_SCOPE)  # the cache's threshold is 0: best match
            pair = float(np.dot(vectors[row["question"]], vectors[row[key]]))
            probes.append(Probe(kind, row["id"], row["question"], row[key],
                                hit.turn_id if hit else None,
                                hit.similarity if hit else 0.0, pair))
    return probes


def threshold_table(probes: list[Probe]) -> list[dict]:
    paraphrase = [p for p in probes if p.kind == "paraphrase"]
    different = [p for p in probes if p.kind == "different"]
    rows = []
    for t in THRESHOLDS:
        rows.append({
            "threshold": t,
            "paraphrase_hits": sum(p.hit_own(t) for p in paraphrase),
            "paraphrase_wrong": sum(p.served_wrong(t) for p in paraphrase),
            "different_hits": sum(p.served_wrong(t) for p in different),
            "paraphrases": len(paraphrase),
            "differents": len(different),
        })
    for row in rows:
        row["hit_rate"] = row["paraphrase_hits"] / max(row["paraphrases"], 1)
        row["false_hit_rate"] = row["different_hits"] / max(row["differents"], 1)
        row["paraphrase_wrong_rate"] = row["paraphrase_wrong"] / max(row["paraphrases"], 1)
    return rows


def recommend(rows: list[dict], max_false_hit_rate: float) -> dict | None:
    """Highest hit rate among thresholds whose false-hit rates stay within the bound; on a tie,
    the lowest such threshold (the table is monotone, so that is the first safe one)."""
    safe = [r for r in rows if r["false_hit_rate"] <= max_false_hit_rate
            and r["paraphrase_wrong_rate"] <= max_false_hit_rate]
    if not safe:
        return None
    best = max(r["hit_rate"] for r in safe)
    return min((r for r in safe if r["hit_rate"] == best), key=lambda r: r["threshold"])


def describe(values: list[float]) -> str:
    q = np.quantile(values, [0, 0.1, 0.5, 0.9, 1])
    return " ".join(f"{name} {v:.3f}" for name, v in zip(("min", "p10", "median", "p90", "max"), q,
                                                        strict=True))


def print_quality(probes: list[Probe], rows: list[dict], chosen: dict | None, bound: float):
    paraphrase = [p for p in probes if p.kind == "paraphrase"]
    different = [p for p in probes if p.kind == "different"]
    print("\n== Similarity (cosine, MiniLM) ==")
    print(f"paraphrase vs its question     ({len(paraphrase)}): "
          f"{describe([p.pair_similarity for p in paraphrase])}")
    print(f"different vs its question      ({len(different)}): "
          f"{describe([p.pair_similarity for p in different])}")
    print(f"different: best match in cache ({len(different)}): "
          f"{describe([p.best_similarity for p in different])}")
    vetoed = [p for p in probes if p.vetoed]
    print(f"numbers/negation differ from the own question (never served): {len(vetoed)} "
          + ", ".join(f"{p.kind} {p.text!r} (cosine {p.pair_similarity:.3f})" for p in vetoed))
    print("\n== Per threshold (a hit serves the paraphrase's own question) ==")
    print("threshold  paraphrase hit rate   false hits: different   paraphrase->wrong entry")
    for r in rows:
        mark = "  <- recommended" if chosen and r["threshold"] == chosen["threshold"] else ""
        print(f"  {r['threshold']:.2f}      {r['paraphrase_hits']:3d}/{r['paraphrases']} "
              f"{r['hit_rate']:6.1%}       {r['different_hits']:3d}/{r['differents']} "
              f"{r['false_hit_rate']:6.1%}        {r['paraphrase_wrong']:3d}{mark}")
    print("\nClosest different questions (they set the threshold):")
    for p in sorted(different, key=lambda p: -p.best_similarity)[:6]:
        print(f"  {p.best_similarity:.3f}  {p.text!r} -> {p.best_id} ({p.question!r})")
    print("Paraphrases that miss at the recommended threshold (lowest similarity first):")
    t = chosen["threshold"] if chosen else 1.0
    for p in sorted((p for p in paraphrase if not p.hit_own(t)),
                    key=lambda p: p.best_similarity)[:6]:
        print(f"  {p.best_similarity:.3f}  {p.text!r} (own {p.golden_id}, best {p.best_id})")
    if chosen:
        print(f"\nRecommended threshold {chosen['threshold']:.2f} (false-hit rate <= {bound:.1%}): "
              f"paraphrase hit rate {chosen['hit_rate']:.1%} "
              f"({chosen['paraphrase_hits']}/{chosen['paraphrases']}), false-hit rate "
              f"{chosen['false_hit_rate']:.1%} ({chosen['different_hits']}/"
              f"{chosen['differents']}); default in assistant/semantic_cache.py: "
              f"{DEFAULT_THRESHOLD:.2f}")
    else:
        print(f"\nNo threshold keeps the false-hit rate within {bound:.1%}.")
    one = 1 / max(len(different), 1)
    loose = recommend(rows, one)
    if loose and bound < one:
        print(f"Allowing one false hit in {len(different)} ({one:.1%}): threshold "
              f"{loose['threshold']:.2f}, paraphrase hit rate {loose['hit_rate']:.1%} "
              f"({loose['paraphrase_hits']}/{loose['paraphrases']}), false-hit rate "
              f"{loose['false_hit_rate']:.1%}")


def median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 2)


def latency_questions(probes: list[Probe], threshold: float, runs: int):
    """(questions that hit, questions that miss), each never seen by the reopened cache: the
    paraphrases that hit, then stored questions asked again word for word."""
    hit_texts = [p.text for p in probes if p.hit_own(threshold)]
    hit_texts += [item.question for item in load_golden("train") if item.answerable]
    miss_texts = [p.text for p in probes if p.kind == "different"
                  and p.best_similarity < threshold]
    if len(hit_texts) < runs or len(miss_texts) < runs:
        raise SystemExit(f"latency: need {runs} questions that hit and that miss, have "
                         f"{len(hit_texts)} and {len(miss_texts)}")
    return hit_texts, miss_texts


def turn_timer(settings: Settings, args):
    """A function timing what a miss then costs: (retrieve s, generate s, completion tokens)."""
    from assistant.prompt import build_messages
    from assistant.retrieval import evidence_passages, to_passages

    index = None
    if not args.no_retrieval and settings.chroma_dir.is_dir():
        from assistant.vectorstore import KnowledgeIndex

        index = KnowledgeIndex(settings.chroma_dir, settings.collection)
        if index.count() == 0:
            index = None
    print(f"\n== Latency: {args.runs} runs, model {args.model or 'default'}, max_new_tokens "
          f"{args.max_new_tokens}, retrieval {'on' if index else 'off (no index)'} ==")
    generator = make_generator(settings.with_changes(model=args.model) if args.model
                               else settings)
    generator.load()

    def generate(question: str) -> tuple[float, float, int]:
        started = time.perf_counter()
        passages = []
        if index is not None:
            passages = evidence_passages(to_passages(index.search(question, settings.top_k)),
                                         settings.min_relevance, question)
        retrieved = time.perf_counter()
        generation = generator.stream(build_messages(question, passages), args.max_new_tokens)
        for _ in generation:
            pass
        done = time.perf_counter()
        return retrieved - started, done - retrieved, generation.completion_tokens

    return generate


def timed_lookup(cache: SemanticCache, text: str, expect_hit: bool) -> float:
    started = time.perf_counter()
    found = cache.lookup(text, BENCH_SCOPE)
    elapsed = time.perf_counter() - started
    if (found is not None) != expect_hit:
        raise SystemExit(f"latency: expected a {'hit' if expect_hit else 'miss'} for {text!r}")
    return elapsed


def latency_result(runs: int, threshold: float, hits, misses, retrieves, generates,
                   tokens) -> dict:
    miss_totals = [m + r + g for m, r, g in zip(misses, retrieves, generates, strict=True)]
    result = {
        "runs": runs,
        "threshold": threshold,
        "hit_lookup_ms": median_ms(hits),
        "miss_lookup_ms": median_ms(misses),
        "retrieve_ms": median_ms(retrieves),
        "generate_ms": median_ms(generates),
        "completion_tokens": statistics.median(tokens),
        "miss_total_ms": median_ms(miss_totals),
        "miss_lookup_plus_generate_ms": median_ms([m + g for m, g in
                                                   zip(misses, generates, strict=True)]),
    }
    result["ratio_miss_over_hit"] = round(result["miss_total_ms"] / result["hit_lookup_ms"], 1)
    result["ratio_lookup_plus_generate_over_hit"] = round(
        result["miss_lookup_plus_generate_ms"] / result["hit_lookup_ms"], 1)
    print(f"\nmedians: hit {result['hit_lookup_ms']} ms | miss {result['miss_total_ms']} ms = "
          f"lookup {result['miss_lookup_ms']} + retrieve {result['retrieve_ms']} + generate "
          f"{result['generate_ms']} ({result['completion_tokens']} tokens)")
    print(f"miss/hit ratio: {result['ratio_miss_over_hit']}x "
          f"(lookup + generation only: {result['ratio_lookup_plus_generate_over_hit']}x)")
    return result


def bench_latency(cache: SemanticCache, probes: list[Probe], threshold: float, args) -> dict:
    hit_texts, miss_texts = latency_questions(probes, threshold, args.runs)
    generate = turn_timer(Settings.from_env(), args)
    generate("warm-up: what is a golden set?")  # first call pays one-off costs
    cache.lookup("warm-up: what is BLEU?", BENCH_SCOPE)

    hits, misses, retrieves, generates, tokens = [], [], [], [], []
    for i in range(args.runs):
        hits.append(timed_lookup(cache, hit_texts[i], expect_hit=True))
        misses.append(timed_lookup(cache, miss_texts[i], expect_hit=False))
        retrieve_s, generate_s, n = generate(miss_texts[i])
        retrieves.append(retrieve_s)
        generates.append(generate_s)
        tokens.append(n)
        print(f"  run {i + 1:2d}: hit {hits[-1] * 1000:7.1f} ms | miss lookup "
              f"{misses[-1] * 1000:7.1f} ms + retrieve {retrieve_s * 1000:7.1f} ms + generate "
              f"{generate_s * 1000:8.1f} ms ({n} tokens)", flush=True)
    return latency_result(args.runs, threshold, hits, misses, retrieves, generates, tokens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=PAIRS_PATH)
    parser.add_argument("--model", default=None,
                        help="model key, .gguf file or HF directory (default: ASSISTANT_MODEL)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--max-new-tokens", type=int, default=60)
    parser.add_argument("--max-false-hit-rate", type=float, default=0.0)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--no-retrieval", action="store_true",
                        help="time a miss as lookup + generation only")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()

    from assistant.embeddings import load_embeddings
    from assistant.offline import enforce_offline

    enforce_offline()

    embeddings = load_embeddings()
    paraphrases, different = load_pairs(args.pairs)
    # The quality part embeds everything in one batch (same model, same vectors, much faster);
    # the latency part below reopens the cache with the plain per-question embedding function.
    texts = sorted({item.question for item in load_golden("train")}
                   | {row[k] for row in paraphrases + different for k in row if k != "id"})
    vectors = {t: np.asarray(v, dtype=np.float32)
               for t, v in zip(texts, embeddings.embed_documents(texts), strict=True)}

    def batched_embed(text: str):
        return vectors[text] if text in vectors else embeddings.embed_query(text)

    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        cache = SemanticCache(Path(tmp), embed_fn=batched_embed, threshold=0.0)
        stored = fill_cache(cache)
        print(f"Stored {stored} answerable golden train questions; probing "
              f"{len(paraphrases)} paraphrases and {len(different)} different questions.")
        probes = probe(cache, vectors, paraphrases, different)
        rows = threshold_table(probes)
        chosen = recommend(rows, args.max_false_hit_rate)
        print_quality(probes, rows, chosen, args.max_false_hit_rate)
        report = {"stored": stored, "thresholds": rows, "recommended": chosen,
                  "default_threshold": DEFAULT_THRESHOLD,
                  "probes": [p.__dict__ for p in probes]}
        cache.close()
        if not args.skip_latency:
            threshold = chosen["threshold"] if chosen else DEFAULT_THRESHOLD
            # Reopened from disk, with a fresh embedding memo: every lookup embeds its question.
            cache = SemanticCache(Path(tmp), embed_fn=embeddings.embed_query, threshold=threshold)
            report["latency"] = bench_latency(cache, probes, threshold, args)
            cache.close()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
