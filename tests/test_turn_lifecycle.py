"""Every turn is logged, however it ends: a failing stage, Stop, or a consumer that walks away."""

import threading
import time

import pytest

from assistant.pipeline import TurnRequest
from assistant.records import PATH_GENERATED, STAGE_FAILED, STOPPED


class BlockingGenerator:
    """Streams words slowly and holds a lock while it does, like the real llama.cpp runtime."""

    name, adapter = "blocking", None

    def __init__(self):
        self.lock = threading.Lock()

    def stream(self, messages, max_new_tokens=200):
        from assistant.generator import Generation

        generation = Generation(iter(()))

        def pieces():
            with self.lock:
                for word in "The brevity penalty punishes short candidates".split():
                    if generation.stop_event.is_set():
                        return
                    time.sleep(0.05)
                    yield word + " "

        generation.pieces = pieces()
        return generation


def test_an_abandoned_stream_is_logged_with_its_partial_answer_and_frees_the_model(
        handbook_pipeline):
    handbook_pipeline.generator = BlockingGenerator()
    stream = handbook_pipeline.stream(TurnRequest("What does the brevity penalty in BLEU do?"))
    for kind, _ in stream:
        if kind == "token":
            break  # the tab was closed after the first word
    stream.close()
    assert handbook_pipeline.generator.lock.acquire(timeout=1.0), "the model is still busy"
    turns = handbook_pipeline.log.turns()
    assert len(turns) == 1
    row = turns[0]
    assert row["reason"] == STOPPED and row["answer"].startswith("The")
    assert row["answer_path"] == PATH_GENERATED
    assert "abandoned" in row["notices_json"]


@pytest.mark.parametrize("stage", ["index", "cache", "guards"])
def test_a_failing_stage_is_shown_and_logged(handbook_pipeline, stage):
    class Broken:
        def __getattr__(self, name):
            raise RuntimeError("database is locked")

    if stage == "index":
        handbook_pipeline.index = BrokenIndex(handbook_pipeline.index)
    elif stage == "cache":
        handbook_pipeline.cache = Broken()
    else:
        handbook_pipeline.guards = Broken()
    turn = handbook_pipeline.ask(TurnRequest("What does the brevity penalty in BLEU do?"))
    assert turn.refused and turn.reason == STAGE_FAILED
    assert "database is locked" in turn.answer
    assert turn.logged and handbook_pipeline.log.turn(turn.turn_id)["reason"] == STAGE_FAILED


class BrokenIndex:
    """The real index, except that searching fails (a locked or corrupt Chroma directory)."""

    def __init__(self, index):
        self.index = index

    def version(self):
        return self.index.version()

    def search(self, *args, **kwargs):
        raise RuntimeError("database is locked")
