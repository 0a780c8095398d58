"""Load and fault harness: N concurrent browser-like sessions of M turns against running app
workers, through Gradio's client API; then the log is checked for lost and duplicated turns.

    python -m evals.load --workers 2 --sessions 50 --turns 10 [--faults]

It starts its own deployment (evals/load_cluster.py: a llama.cpp model server, a Chroma
server, the workers, one fresh data directory), or drives `--url` workers already running
(then `--home` is their data directory). Questions come from a small pool of handbook
questions, so most turns after the first few are semantic-cache hits (a cache-heavy mix fits
two cores); each session asks the pool in its own rotation, and the log must hold exactly one
conversation per session with its questions in order. `--faults` then runs the kill -9
scenarios of evals/load_faults.py.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from assistant.offline import enforce_offline


def main(argv: list[str] | None = None) -> dict:
    enforce_offline()  # an entry point: offline switches before anything else is imported
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--model", type=Path, help="GGUF for the model server "
                        "(default: the assembled default model)")
    parser.add_argument("--url", action="append", help="drive running workers instead")
    parser.add_argument("--home", type=Path, help="the data directory (default: a new one)")
    parser.add_argument("--faults", action="store_true", help="then run the kill -9 scenarios")
    parser.add_argument("--out", type=Path, help="write the summary JSON here too")
    args = parser.parse_args(argv)
    # Imported here, after enforce_offline(): the Gradio client and Chroma read their
    # telemetry and hub switches when they are imported.
    from assistant.log import utc_now
    from evals.load_cluster import make_cluster
    from evals.load_faults import run_faults
    from evals.load_sessions import check_log, run_load, summary

    home = args.home or Path(tempfile.mkdtemp(prefix="assistant-load-"))
    cluster = None
    if not args.url:
        cluster = make_cluster(home, args.model or _default_gguf(), args.workers)
        print(f"Starting the model server, Chroma and {args.workers} workers in {home}...")
        cluster.start()
    urls = args.url or cluster.worker_urls
    try:
        since = utc_now()
        result = run_load(urls, args.sessions, args.turns)
        report = summary(result, check_log(home / "logs.db", args.sessions, args.turns, since),
                         args.sessions, args.turns, len(urls))
        if args.faults and cluster is not None:
            report["faults"] = run_faults(cluster)
    finally:
        if cluster is not None:
            cluster.stop()
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)
    return report


def _default_gguf() -> Path:
    from assistant.config import Settings
    from assistant.runtime import gguf_path

    return gguf_path(Settings.from_env(), progress=print)


if __name__ == "__main__":
    main()
