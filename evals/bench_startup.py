"""Cold and warm start of the assistant, each in a fresh process.

    python -m evals.bench_startup [--runs 2]

Cold: an empty ASSISTANT_HOME (model conversion + handbook indexing + model load). Warm: the
same home again (both reused). Reports seconds and the warm/cold ratio measured in the same run,
since absolute times on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from assistant.offline import enforce_offline

# What one start does before it can answer: open everything, then load the model weights.
_START = (
    "from assistant.runtime import open_assistant; "
    "p = open_assistant(progress=lambda m: None); p.generator.load()"
)


def start_seconds(home: str) -> float:
    env = dict(os.environ, ASSISTANT_HOME=home)
    env.pop("ASSISTANT_MODEL", None)
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", _START], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    cold, warm = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="assistant-bench-") as home:
            cold.append(start_seconds(home))
            warm.append(start_seconds(home))
    result = {
        "cold_s": [round(x, 1) for x in cold], "warm_s": [round(x, 1) for x in warm],
        "cold_median_s": round(statistics.median(cold), 1),
        "warm_median_s": round(statistics.median(warm), 1),
        "warm_over_cold": round(statistics.median(warm) / statistics.median(cold), 3),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    enforce_offline()  # an entry point: offline switches before anything else runs
    main()
