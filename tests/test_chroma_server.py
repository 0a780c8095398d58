"""Chroma as a real server (`chroma run`), through ASSISTANT_CHROMA_URL: ingest and search work
as with the embedded store, two app workers see one index, and a server that goes away is
reported, not hung on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.log import ConversationLog
from assistant.pipeline import Pipeline, TurnRequest
from assistant.records import STAGE_FAILED
from assistant.vectorstore import KnowledgeIndex
from evals.load_cluster import chroma_service
from knowledge.ingest import ingest_paths
from tests.fakes import FakeEmbeddings, ScriptedGenerator

pytestmark = pytest.mark.slow



@pytest.fixture
def chroma_server(tmp_path):
    server = chroma_service(tmp_path / "chroma-data", tmp_path / "chroma.log")
    server.start(timeout=60)
    yield server, server.url
    server.stop()


def _docs(folder: Path) -> Path:
    folder.mkdir()
    (folder / "leave.md").write_text("# Leave\n\nStaff get 25 days of paid leave a year.\n")
    (folder / "expenses.md").write_text("# Expenses\n\nManagers approve travel expenses.\n")
    return folder


def test_ingest_and_search_through_a_chroma_server(chroma_server, tmp_path, monkeypatch):
    _, url = chroma_server
    monkeypatch.setenv("ASSISTANT_CHROMA_URL", url)
    embeddings = FakeEmbeddings()
    worker_a = KnowledgeIndex(tmp_path / "unused-a", "knowledge", embeddings)
    worker_b = KnowledgeIndex(tmp_path / "unused-b", "knowledge", embeddings)
    docs = _docs(tmp_path / "docs")

    report = ingest_paths(worker_a, [docs])
    assert len(report.added) == 2 and worker_a.count() >= 2
    assert not (tmp_path / "unused-a").exists()  # nothing stored locally: all on the server
    (doc, relevance), *_ = worker_b.search("How many days of paid leave?", k=2)
    assert doc.metadata["source"].endswith("leave.md") and relevance > 0.2
    before = worker_b.version()

    (docs / "leave.md").write_text("# Leave\n\nStaff get 30 days of paid leave a year.\n")
    again = ingest_paths(worker_a, [docs])
    assert len(again.updated) == 1 and len(again.unchanged) == 1
    assert worker_b.version() != before  # the other worker sees the change at once
    (doc, _), *_ = worker_b.search("How many days of paid leave?", k=1)
    assert "30 days" in doc.page_content


def test_a_chroma_server_that_is_gone_is_reported(chroma_server, tmp_path, monkeypatch):
    server, url = chroma_server
    monkeypatch.setenv("ASSISTANT_CHROMA_URL", url)
    index = KnowledgeIndex(tmp_path / "unused", "knowledge", FakeEmbeddings())
    ingest_paths(index, [_docs(tmp_path / "docs")])
    server.kill()  # -9
    started = time.monotonic()
    with pytest.raises(Exception) as failure:
        index.search("How many days of paid leave?", k=1)
    assert time.monotonic() - started < 60
    assert "connect" in str(failure.value).lower() or "refused" in str(failure.value).lower()

    # A turn meanwhile fails at its named step, says so, and is still logged.
    log = ConversationLog(tmp_path / "logs.db")
    settings = Settings.from_env().with_changes(home=tmp_path / "home")
    turn = Pipeline(settings, index, ScriptedGenerator(), log).ask(
        TurnRequest("How many days of paid leave?"))
    assert turn.reason == STAGE_FAILED and "searching the sources" in turn.answer
    assert log.turn(turn.turn_id)["reason"] == STAGE_FAILED
