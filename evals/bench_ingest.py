"""Ingestion speed and search latency on a large knowledge base.

    python -m evals.bench_ingest --docs 10000 [--baseline-docs 500] [--search-queries 200]

Writes N short documents (one to three chunks each, as a folder of notes or tickets would
be), ingests them with the real embedder into a fresh embedded Chroma, and reports chunks per
second; the baseline is the same code writing file by file (batch of one), measured in the
same run on the first documents, since this machine is shared and its speed varies. Then it
reports search latency percentiles over the index it built (`--search-queries`), and can grow
the index to `--search-chunks` first (by re-ingesting the folder under other names).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from assistant.offline import enforce_offline
from knowledge.ingest import ingest_paths

TOPICS = ("travel expenses", "parental leave", "laptop refresh", "on-call rota",
          "security training", "office access", "code review", "incident report")


def write_documents(folder: Path, count: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        topic = rng.choice(TOPICS)
        paragraphs = [f"Note {i} on {topic}: owner {rng.randint(1, 90)} reviews item "
                      f"{rng.randint(1, 9999)} by day {rng.randint(1, 28)}, and the team "
                      f"records the outcome in the {topic} log." for _ in range(rng.randint(1, 3))]
        (folder / f"note-{i:05d}.md").write_text(f"# {topic.title()} {i}\n\n"
                                                  + "\n\n".join(paragraphs) + "\n")
    return folder


def timed_ingest(index, paths: list[Path], batch_chunks: int) -> dict:
    started = time.monotonic()
    report = ingest_paths(index, paths, batch_chunks=batch_chunks)
    seconds = time.monotonic() - started
    return {"documents": len(report.added) + len(report.updated),
            "chunks": report.chunks_written, "seconds": round(seconds, 1),
            "chunks_per_s": round(report.chunks_written / seconds, 1)}


def search_latency(index, queries: int, seed: int = 1) -> dict:
    rng = random.Random(seed)
    timings = []
    for _ in range(queries):
        question = f"Who reviews the {rng.choice(TOPICS)} item by day {rng.randint(1, 28)}?"
        started = time.perf_counter()
        index.search(question, k=4)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {"chunks": index.count(), "queries": queries,
            "p50_ms": round(timings[len(timings) // 2], 1),
            "p95_ms": round(timings[int(len(timings) * 0.95)], 1)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, help="work here (default: a new temp folder)")
    parser.add_argument("--docs", type=int, default=10000)
    parser.add_argument("--baseline-docs", type=int, default=500)
    parser.add_argument("--search-queries", type=int, default=200)
    parser.add_argument("--search-chunks", type=int, default=0,
                        help="grow the index to at least this many chunks before searching")
    args = parser.parse_args(argv)
    enforce_offline()  # an entry point: before the embedder and Chroma are imported
    from assistant.embeddings import load_embeddings
    from assistant.vectorstore import KnowledgeIndex

    work = args.dir or Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    embeddings = load_embeddings()
    docs = write_documents(work / "docs", args.docs)
    files = sorted(docs.iterdir())
    result = {"baseline_file_by_file": timed_ingest(
        KnowledgeIndex(work / "chroma-baseline", "bench", embeddings),
        files[: args.baseline_docs], batch_chunks=1)}
    index = KnowledgeIndex(work / "chroma", "bench", embeddings)
    result["batched"] = timed_ingest(index, [docs], batch_chunks=256)
    result["speedup"] = round(result["batched"]["chunks_per_s"]
                              / result["baseline_file_by_file"]["chunks_per_s"], 2)
    print(json.dumps(result, indent=2), flush=True)  # before the long search set-up
    copy = 0
    while index.count() < args.search_chunks:
        copy += 1
        extra = write_documents(work / f"docs-{copy}", args.docs, seed=copy)
        timed_ingest(index, [extra], batch_chunks=256)
    result["search"] = search_latency(index, args.search_queries)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
