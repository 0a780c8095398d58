"""Mode 1: score what the app logged, without regenerating anything.

Reads logs.db read-only (filters: time range, model, adapter, prompt version, feedback given,
refused, cached) and measures, per answered turn, groundedness in its retrieved passages,
citation precision and answer relevance (MiniLM cosine of question and answer); over all turns,
refusal rate by reason, cache hit rate, feedback (thumbs-up rate, reason tags), latency p50/p95
and tokens.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from assistant.records import Turn
from evals.replay import ItemResult, item_result, percentile
from knowledge.golden_sets import GoldenItem


@dataclass
class LogFilter:
    since: datetime | None = None
    until: datetime | None = None
    model: str | None = None
    adapter: str | None = None
    prompt_version: str | None = None
    feedback: str | None = None  # "up", "down" or "any": only turns with such feedback
    refused: bool | None = None
    cached: bool | None = None
    limit: int | None = None

    def where(self) -> tuple[str, list]:
        clauses, args = [], []
        if self.since:
            clauses.append("datetime_utc >= ?")
            args.append(_iso(self.since))
        if self.until:
            clauses.append("datetime_utc < ?")
            args.append(_iso(self.until))
        for column in ("model", "adapter", "prompt_version"):
            value = getattr(self, column)
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if self.refused is not None:
            clauses.append("refused = ?")
            args.append(int(self.refused))
        if self.cached is not None:
            clauses.append("cache_hit = ?")
            args.append(int(self.cached))
        if self.feedback in ("up", "down"):
            clauses.append("exists (select 1 from feedback f where f.turn_id = turns.id "
                           "and f.rating = ?)")
            args.append(self.feedback)
        elif self.feedback == "any":
            clauses.append("exists (select 1 from feedback f where f.turn_id = turns.id)")
        return (" and ".join(clauses) or "1"), args

    def describe(self) -> dict:
        return {k: (_iso(v) if isinstance(v, datetime) else v) for k, v in self.__dict__.items()
                if v is not None}


def _iso(moment: datetime) -> str:
    """Same format as the log's datetime_utc (naive times are taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds")


def load_turns(db_path: Path, filters: LogFilter) -> list[dict]:
    """Matching turn rows, newest first, each with its feedback rows (read-only access)."""
    if not Path(db_path).is_file():
        raise FileNotFoundError(f"No conversation log at {db_path}: chat first, or set "
                                "ASSISTANT_HOME to the data directory that has one.")
    conn = sqlite3.connect(f"file:{Path(db_path).resolve()}?mode=ro", uri=True, timeout=3.0)
    conn.row_factory = sqlite3.Row
    try:
        where, args = filters.where()
        limit = f" limit {int(filters.limit)}" if filters.limit else ""
        rows = [dict(r) for r in conn.execute(
            f"select * from turns where {where} order by datetime_utc desc{limit}", args)]
        feedback: dict[str, list[dict]] = {}
        for fb in conn.execute("select * from feedback order by id"):
            feedback.setdefault(fb["turn_id"], []).append(dict(fb))
    finally:
        conn.close()
    for row in rows:
        row["feedback"] = feedback.get(row["id"], [])
    return rows


def turn_result(row: dict, min_relevance: float) -> ItemResult:
    """A logged turn as an ItemResult (reference: the user's correction, if any)."""
    turn = Turn.from_row(row)
    turn.first_token_ms = row.get("first_token_ms")
    turn.duration_ms = row.get("duration_ms") or 0
    turn.prompt_tokens = row.get("prompt_tokens") or 0
    turn.completion_tokens = row.get("completion_tokens") or 0
    corrections = [f["correction"] for f in row["feedback"] if f.get("correction")]
    item = GoldenItem(row["id"], row["question"], corrections[-1] if corrections else "", (),
                      None)  # type: ignore[arg-type]
    result = item_result(item, turn, min_relevance)
    # The numbers the answer cites are the ones logged with it, whatever the threshold now.
    shown = result.passages_by_number()
    shown.update({c.n: c.text for c in turn.citations})
    result.passage_numbers, result.passage_texts = list(shown), list(shown.values())
    return result


def turn_scores(row: dict, result: ItemResult, embed) -> dict:
    from evals.scoring import score_item

    scores = score_item(result, embed=embed)
    ratings = [f["rating"] for f in row["feedback"]]
    scores.update({
        "cache_hit": float(bool(row.get("cache_hit"))),
        "thumbs_up": (1.0 if ratings[-1] == "up" else 0.0) if ratings else None,
        "duration_ms": row.get("duration_ms"),
    })
    return scores


def summarize_logged(rows: list[dict], per_item: list[dict]) -> dict:
    from evals.scoring import aggregate_scores

    n = len(rows)
    reasons = Counter(r["reason"] for r in rows if r["refused"])
    ratings = Counter(f["rating"] for r in rows for f in r["feedback"])
    last = [r["feedback"][-1]["rating"] for r in rows if r["feedback"]]
    durations = [r["duration_ms"] for r in rows if r.get("duration_ms") is not None]
    first = [r["first_token_ms"] for r in rows if r.get("first_token_ms") is not None]
    prompt = [r.get("prompt_tokens") or 0 for r in rows]
    completion = [r.get("completion_tokens") or 0 for r in rows]
    return {
        "metrics": aggregate_scores(per_item, ["groundedness", "citation_precision",
                                               "answer_relevance", "answered_wrong", "quoted",
                                               "refused", "cache_hit", "thumbs_up",
                                               "duration_ms", "first_token_ms"]),
        "overview": {
            "turns": n,
            "refusal_rate": sum(reasons.values()) / n if n else None,
            "cache_hit_rate": sum(bool(r.get("cache_hit")) for r in rows) / n if n else None,
            "rated_turns": len(last),
            "thumbs_up_rate": last.count("up") / len(last) if last else None,
            "duration_ms_p50": percentile(durations, 50),
            "duration_ms_p95": percentile(durations, 95),
            "first_token_ms_p50": percentile(first, 50),
            "first_token_ms_p95": percentile(first, 95),
            "prompt_tokens_total": sum(prompt), "completion_tokens_total": sum(completion),
            "completion_tokens_mean": sum(completion) / n if n else None,
            "refusal_rate_by_reason": {k: v / n for k, v in reasons.most_common()},
            "feedback": {"ratings": dict(ratings), "reasons": dict(Counter(
                f["reason"] for r in rows for f in r["feedback"] if f.get("reason"))),
                "corrections": sum(1 for r in rows for f in r["feedback"] if f.get("correction"))},
            "models": dict(Counter(r["model"] for r in rows)),
            "adapters": dict(Counter(str(r["adapter"]) for r in rows)),
            "prompt_versions": dict(Counter(r["prompt_version"] for r in rows)),
        },
    }


def run_logged(store, db_path: Path, filters: LogFilter, min_relevance: float, name: str = "",
               embed=None, progress: Callable[[int, int], None] | None = None) -> str:
    """Score the matching logged turns and store them as a run; returns its id. `progress`
    hears (turns scored, turns in all) after each turn."""
    from tqdm import tqdm

    from evals.scoring import embedder, metric_versions
    from evals.store import ItemRow, RunInfo, text_hash

    start = time.monotonic()
    rows = load_turns(db_path, filters)
    embed = embed or (embedder() if rows else None)
    items, per_item = [], []
    for done, row in enumerate(tqdm(rows, desc="Scoring logged turns", unit="turn",
                                    disable=not rows), 1):
        result = turn_result(row, min_relevance)
        scores = turn_scores(row, result, embed)
        per_item.append(scores)
        items.append(ItemRow(row["id"], row["question"], result.reference, row["answer"] or "",
                             scores, {**result.to_dict(), "feedback": row["feedback"],
                                      "datetime_utc": row["datetime_utc"],
                                      "cache_hit": bool(row.get("cache_hit"))}))
        if progress is not None:
            progress(done, len(rows))
    models = sorted({r["model"] for r in rows if r["model"]})
    adapters = sorted({r["adapter"] for r in rows if r["adapter"]})
    prompts = sorted({r["prompt_version"] for r in rows if r["prompt_version"]})
    kbs = sorted({r["kb_version"] for r in rows if r["kb_version"]})
    info = RunInfo(kind="logged", name=name or "logged", model=",".join(models),
                   adapter=",".join(adapters) or None, prompt_version=",".join(prompts),
                   kb_version=",".join(kbs), dataset=f"logs:{db_path}",
                   dataset_hash=text_hash("\n".join(r["id"] for r in rows)),
                   metric_versions=metric_versions(),
                   config={"filters": filters.describe(), "min_relevance": min_relevance})
    return store.save_run(info, summarize_logged(rows, per_item), items,
                          int((time.monotonic() - start) * 1000))
