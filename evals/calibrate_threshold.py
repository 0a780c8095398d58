"""Choose the refusal threshold from the golden train split: the best top-passage relevance cut.

    python -m evals.calibrate_threshold [--split train]

For each question, the top retrieved passage's relevance; answerable questions should be above
the threshold and unanswerable ones below. Prints the threshold that maximises balanced accuracy
(mean of the two recalls), and the scores at the chosen value.
"""

from __future__ import annotations

import argparse

from assistant.config import Settings
from assistant.offline import enforce_offline
from assistant.runtime import ingest_handbook
from assistant.vectorstore import KnowledgeIndex
from knowledge.golden_sets import load_golden


def top_scores(index: KnowledgeIndex, items, k: int) -> list[tuple[float, bool]]:
    return [
        (max((score for _, score in index.search(item.question, k)), default=0.0), item.answerable)
        for item in items
    ]


def best_threshold(scored: list[tuple[float, bool]]) -> tuple[float, float]:
    """(threshold, balanced accuracy); ties go to the lower threshold (refuse less)."""
    candidates = sorted({round(s, 3) for s, _ in scored})
    best = (0.0, 0.0)
    for t in candidates:
        pos = [s >= t for s, answerable in scored if answerable]
        neg = [s < t for s, answerable in scored if not answerable]
        balanced = (sum(pos) / max(len(pos), 1) + sum(neg) / max(len(neg), 1)) / 2
        if balanced > best[1]:
            best = (t, balanced)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="train")
    args = parser.parse_args()
    settings = Settings.from_env()
    index = KnowledgeIndex(settings.chroma_dir, settings.collection)
    ingest_handbook(index)
    scored = top_scores(index, load_golden(args.split), settings.top_k)
    threshold, balanced = best_threshold(scored)
    answerable = sorted(s for s, a in scored if a)
    unanswerable = sorted(s for s, a in scored if not a)
    print(f"answerable top scores:   min {answerable[0]:.3f} median "
          f"{answerable[len(answerable) // 2]:.3f}")
    print(f"unanswerable top scores: max {unanswerable[-1]:.3f} median "
          f"{unanswerable[len(unanswerable) // 2]:.3f}")
    print(f"best threshold {threshold:.3f}: balanced accuracy {balanced:.3f}")


if __name__ == "__main__":
    enforce_offline()  # an entry point: offline switches before anything else runs
    main()
