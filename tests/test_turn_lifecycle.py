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

    def stream(self, messages, max_new_tokens=200, yes_no=False):
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


def test_an_ingest_in_another_process_is_seen_by_the_next_turn(tmp_path, fake_embeddings):
    """A document changed and re-ingested (through another index object, as another shell
    would) while the app runs: the next turn logs the new version, misses the cache, and the
    old version's cache entries are gone."""
    from assistant.config import Settings
    from assistant.log import ConversationLog
    from assistant.pipeline import Pipeline
    from assistant.runtime import make_cache
    from assistant.vectorstore import KnowledgeIndex
    from knowledge.ingest import ingest_paths
    from tests.fakes import ScriptedGenerator

    settings = Settings.from_env().with_changes(home=tmp_path / "home", min_relevance=0.0)
    docs = tmp_path / "docs"
    docs.mkdir()
    doc = docs / "mascot.md"
    doc.write_text("# Mascot\n\nThe project mascot is a zebra named Ada.\n")
    index = KnowledgeIndex(settings.chroma_dir, settings.collection, fake_embeddings)
    ingest_paths(index, [docs])
    cache = make_cache(settings, fake_embeddings)
    app = Pipeline(settings, index, ScriptedGenerator(), ConversationLog(settings.db_path),
                   cache=cache)
    question = "What is the project mascot called?"
    app.generator.queue("The mascot is a zebra named Ada [1].")
    first = app.ask(TurnRequest(question))
    assert app.ask(TurnRequest(question)).cache_hit

    doc.write_text("# Mascot\n\nThe project mascot is a giraffe named Bea.\n")
    other_shell = KnowledgeIndex(settings.chroma_dir, settings.collection, fake_embeddings)
    ingest_paths(other_shell, [docs])
    app.generator.queue("The mascot is a giraffe named Bea [1].")
    after = app.ask(TurnRequest(question))
    assert not after.cache_hit and "giraffe" in after.answer
    assert after.kb_version != first.kb_version
    assert app.log.turn(after.turn_id)["kb_version"] == after.kb_version
    assert len([p for p in (settings.home / "cache").iterdir() if p.is_dir()]) == 1


def test_a_failing_answer_check_never_shows_the_unchecked_answer(handbook_pipeline,
                                                                 fake_embeddings):
    from assistant.runtime import make_guards

    guards = make_guards(fake_embeddings, support_check=False)

    def broken(*args, **kwargs):
        raise RuntimeError("support model missing")

    guards.check_output = broken
    handbook_pipeline.guards = guards
    handbook_pipeline.generator.queue("An unchecked claim [1].")
    turn = handbook_pipeline.ask(TurnRequest("What does the brevity penalty in BLEU do?"))
    assert turn.refused and turn.reason == STAGE_FAILED
    assert "unchecked claim" not in turn.answer and "support model missing" in turn.answer
    assert handbook_pipeline.log.turn(turn.turn_id)["reason"] == STAGE_FAILED
