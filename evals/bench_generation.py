"""Generation speed: today's runtime against llama.cpp, and a warm turn end to end.

    python -m evals.bench_generation [--questions 10] [--max-new-tokens 64] [--json out.json]

All in one run, on the same prompts (golden test questions, the project's own retrieval and
prompt), so the ratios hold on a shared, noisy machine:

* baseline: transformers fp32, SmolLM2-135M + its shipped adapter (the stack before llama.cpp);
* raw llama.cpp: `Llama.create_chat_completion` on the default model, no wrapper;
* the assistant's LlamaCppGenerator on the same model and prompts (its decode should be close
  to raw llama.cpp: the wrapper must not cost throughput);
* the prompt budget's two levers, on the same generator: without reusing the KV cache of the
  fixed system prompt (context reset before each call), and with sources cut at 1,200
  characters (the earlier budget) instead of the default;
* a warm turn through the whole pipeline (guards, retrieval, prompt, generation, output checks,
  log) in a fresh process, as `assistant serve` runs it: time to first token, total, and that
  process's peak resident memory.

Time to first token is measured from the call; decode rate is (tokens - 1) / (last - first).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from assistant.config import Settings
from assistant.offline import enforce_offline
from knowledge.golden_sets import load_golden


def questions(n: int) -> list[str]:
    return [item.question for item in load_golden("test") if item.answerable][:n]


def prompts(settings: Settings, texts: list[str], source_chars: int) -> list[list[dict]]:
    """The messages the pipeline would send: retrieval + evidence filter + trimmed sources."""
    from assistant.prompt import build_messages
    from assistant.retrieval import evidence_passages, to_passages
    from assistant.runtime import ingest_handbook
    from assistant.vectorstore import KnowledgeIndex

    index = KnowledgeIndex(settings.chroma_dir, settings.collection)
    ingest_handbook(index, progress=lambda m: None)
    out = []
    for text in texts:
        passages = evidence_passages(to_passages(index.search(text, settings.top_k)),
                                     settings.min_relevance, text)
        out.append(build_messages(text, passages, max_chars=source_chars))
    return out


def time_stream(pieces) -> dict:
    """Seconds to the first piece, pieces, and the decode rate of one streamed answer."""
    started = time.perf_counter()
    first = last = None
    count = 0
    for piece in pieces:
        if not piece:
            continue
        last = time.perf_counter()
        first = first or last
        count += 1
    if first is None:
        return {"first_s": None, "tokens": 0, "decode_tps": None}
    decode = (count - 1) / (last - first) if count > 1 and last > first else None
    return {"first_s": first - started, "tokens": count, "decode_tps": decode}


def raw_llama_pieces(llm, messages, max_new_tokens):
    for chunk in llm.create_chat_completion(messages=messages, max_tokens=max_new_tokens,
                                            temperature=0.0, repeat_penalty=1.05, stream=True):
        yield chunk["choices"][0]["delta"].get("content") or ""


def summarize(rows: list[dict]) -> dict:
    def median(key):
        values = [r[key] for r in rows if r[key] is not None]
        return round(statistics.median(values), 3) if values else None

    return {"first_s_p50": median("first_s"), "decode_tps_p50": median("decode_tps"),
            "tokens_p50": median("tokens"), "n": len(rows)}


def bench_runtimes(settings: Settings, texts: list[str], max_new_tokens: int) -> dict:
    from assistant.base_models import SMOLLM2_135M
    from assistant.generator import LocalGenerator
    from assistant.llama_generator import LlamaCppGenerator
    from assistant.prompt import build_messages
    from assistant.runtime import gguf_path, hf_model_dir

    messages = prompts(settings, texts, settings.source_chars)
    long_messages = prompts(settings, texts, 1200)
    results = {}

    baseline_settings = settings.with_changes(model=SMOLLM2_135M.key)
    from assistant.finetune.adapters import SHIPPED_DIR

    baseline = LocalGenerator(hf_model_dir(baseline_settings), SHIPPED_DIR / "handbook-v3a",
                              name=SMOLLM2_135M.name)
    baseline.load()
    results["baseline_transformers_smollm2"] = summarize(
        [time_stream(baseline.stream(m, max_new_tokens)) for m in messages])
    del baseline

    gguf = gguf_path(settings)
    wrapped = LlamaCppGenerator(gguf, threads=settings.threads)
    llm = wrapped.load()
    system_only = build_messages("", [])

    def as_served(pieces_of):
        """Time one answer from the state a served turn starts in: only the fixed system
        prompt cached (serve warms it; another question's sources came after it)."""
        llm.reset()
        wrapped.warm(system_only)
        return time_stream(pieces_of())

    rows = {"raw": [], "assistant": [], "no_prefix_reuse": [], "sources_1200": []}
    for m, long_m in zip(messages, long_messages, strict=True):
        # interleaved, so load on the machine hits every variant alike
        rows["raw"].append(as_served(lambda m=m: raw_llama_pieces(llm, m, max_new_tokens)))
        rows["assistant"].append(as_served(lambda m=m: wrapped.stream(m, max_new_tokens)))
        rows["sources_1200"].append(
            as_served(lambda m=long_m: wrapped.stream(m, max_new_tokens)))
        llm.reset()  # nothing cached: the system prompt is prefilled with the question
        rows["no_prefix_reuse"].append(time_stream(wrapped.stream(m, max_new_tokens)))
    results["raw_llama_cpp"] = summarize(rows["raw"])
    results["assistant_llama_cpp"] = summarize(rows["assistant"])
    results["assistant_no_prefix_reuse"] = summarize(rows["no_prefix_reuse"])
    results["assistant_sources_1200"] = summarize(rows["sources_1200"])
    # the messages' text, without the chat template's few role tokens
    results["prompt_tokens_p50"] = statistics.median(
        wrapped.count_tokens("\n".join(x["content"] for x in m)) for m in messages)
    results["prompt_tokens_1200_p50"] = statistics.median(
        wrapped.count_tokens("\n".join(x["content"] for x in m)) for m in long_messages)
    return results


def bench_pipeline(texts: list[str], max_new_tokens: int) -> dict:
    """Warm turns through the whole pipeline in this process (run in a fresh one)."""
    from assistant.pipeline import TurnRequest
    from assistant.runtime import open_assistant

    settings = Settings.from_env().with_changes(max_new_tokens=max_new_tokens)
    pipeline = open_assistant(settings, progress=lambda m: None, with_cache=False)
    pipeline.generator.load()
    pipeline.ask(TurnRequest("What is retrieval-augmented generation?", use_cache=False))
    rows = []
    for text in texts:
        turn = pipeline.ask(TurnRequest(text, use_cache=False))
        rows.append({"first_token_ms": turn.first_token_ms, "total_ms": turn.duration_ms,
                     "reason": turn.reason, "completion_tokens": turn.completion_tokens})
    firsts = [r["first_token_ms"] for r in rows if r["first_token_ms"] is not None]
    return {
        "first_token_ms_p50": statistics.median(firsts) if firsts else None,
        "total_ms_p50": statistics.median(r["total_ms"] for r in rows),
        "answered": sum(r["reason"] == "ANSWERED" for r in rows),
        "n": len(rows),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "turns": rows,
    }


def pipeline_in_fresh_process(n: int, max_new_tokens: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "evals.bench_generation", "--part", "pipeline",
         "--questions", str(n), "--max-new-tokens", str(max_new_tokens)],
        capture_output=True, text=True, check=True, env=dict(os.environ))
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--part", choices=["all", "runtimes", "pipeline"], default="all")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    texts = questions(args.questions)
    if args.part == "pipeline":
        print(json.dumps(bench_pipeline(texts, args.max_new_tokens)))
        return
    settings = Settings.from_env()
    results = {"questions": len(texts), "max_new_tokens": args.max_new_tokens}
    results.update(bench_runtimes(settings, texts, args.max_new_tokens))
    base, raw = results["baseline_transformers_smollm2"], results["raw_llama_cpp"]
    ours = results["assistant_llama_cpp"]
    results["ratios"] = {
        "decode_assistant_vs_raw": round(ours["decode_tps_p50"] / raw["decode_tps_p50"], 3),
        "decode_llama_vs_baseline": round(ours["decode_tps_p50"] / base["decode_tps_p50"], 3),
        "first_token_llama_vs_baseline": round(ours["first_s_p50"] / base["first_s_p50"], 3),
        "first_token_prefix_reuse_vs_none": round(
            ours["first_s_p50"] / results["assistant_no_prefix_reuse"]["first_s_p50"], 3),
        "first_token_600_vs_1200_chars": round(
            ours["first_s_p50"] / results["assistant_sources_1200"]["first_s_p50"], 3),
    }
    if args.part == "all":
        results["pipeline"] = pipeline_in_fresh_process(args.questions, args.max_new_tokens)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    enforce_offline()  # an entry point: offline switches before anything else runs
    main()
