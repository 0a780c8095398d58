"""The load and fault harness end to end on a small deployment: a llama.cpp model server (a
tiny random-weight model), a Chroma server and two app workers sharing one data directory."""

from __future__ import annotations

import pytest

from evals.load import main

pytestmark = pytest.mark.slow


def _all_ok(integrity: dict) -> bool:
    return bool(integrity) and set(integrity.values()) == {"ok"}


def _clean(rerun: dict) -> bool:
    log = rerun["log"]
    return not rerun["errors"] and log["lost"] == log["duplicated"] == 0 and (
        log["sessions_exact"] == 2)


def test_sessions_land_once_and_each_kill_leaves_intact_files(tiny_qwen_gguf, tmp_path):
    report = main(["--workers", "2", "--sessions", "3", "--turns", "2", "--faults",
                   "--model", str(tiny_qwen_gguf), "--home", str(tmp_path / "home")])
    assert report["errors"] == 0 and report["turns_answered"] == 6
    log = report["log"]
    assert (log["lost"], log["duplicated"], log["sessions_exact"]) == (0, 0, 3)
    assert log["integrity"] == "ok" and report["latency_ms"]["p95"] is not None

    faults = report["faults"]
    worker = faults["worker_killed_mid_turn"]
    assert worker["killed_mid_turn"] and _all_ok(worker["integrity"]) and _clean(worker["rerun"])
    model = faults["model_server_killed_mid_turn"]
    assert model["killed_mid_turn"] and _all_ok(model["integrity"]) and _clean(model["rerun"])
    assert model["turn_during_the_kill"]  # the turn the kill broke was still logged
    ingest = faults["ingest_killed_mid_write"]
    assert ingest["killed_mid_write"] and _all_ok(ingest["integrity"])
    assert ingest["rerun_exit"] == 0 and ingest["chunks_after_rerun"] >= 400
    assert _clean(ingest["rerun_after"])
