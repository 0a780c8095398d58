"""Ingestion embeds and writes chunks in batches across files, with the same index as file by
file, and an updated document's old chunks still go (real Chroma, a weightless embedder)."""

from __future__ import annotations

from assistant.vectorstore import KnowledgeIndex
from evals.bench_ingest import write_documents
from knowledge.ingest import ingest_paths
from tests.fakes import FakeEmbeddings


class CountingIndex(KnowledgeIndex):
    """A real index that counts its embedding-and-write calls."""

    def __init__(self, *args):
        super().__init__(*args)
        self.writes = 0

    def add_chunks(self, *args) -> None:
        self.writes += 1
        super().add_chunks(*args)


def _snapshot(index: KnowledgeIndex) -> dict:
    got = index.collection.get(include=["documents", "metadatas"])
    return {i: (d, m["doc_key"]) for i, d, m in zip(got["ids"], got["documents"],
                                                      got["metadatas"], strict=True)}


def test_batches_write_the_same_index_in_far_fewer_calls(tmp_path):
    docs = write_documents(tmp_path / "docs", 60)
    batched = CountingIndex(tmp_path / "a", "knowledge", FakeEmbeddings())
    one_by_one = CountingIndex(tmp_path / "b", "knowledge", FakeEmbeddings())
    report = ingest_paths(batched, [docs], batch_chunks=50)
    ingest_paths(one_by_one, [docs], batch_chunks=1)
    assert len(report.added) == 60 and report.chunks_written == batched.count()
    assert one_by_one.writes == 60
    assert batched.writes == -(-report.chunks_written // 50)  # one per 50 chunks, rounded up
    assert _snapshot(batched) == _snapshot(one_by_one)


def test_an_update_in_a_batch_removes_the_old_chunks_and_keeps_the_rest(tmp_path):
    docs = write_documents(tmp_path / "docs", 30)
    index = KnowledgeIndex(tmp_path / "kb", "knowledge", FakeEmbeddings())
    ingest_paths(index, [docs], batch_chunks=16)
    before = _snapshot(index)
    changed = docs / "note-00007.md"
    changed.write_text("# Changed\n\nOne short paragraph now.\n")
    report = ingest_paths(index, [docs], batch_chunks=16)
    assert report.updated == [next(k for _, k in before.values() if k.endswith("00007.md"))]
    assert len(report.unchanged) == 29
    after = _snapshot(index)
    changed_key = report.updated[0]
    assert [d for d, k in after.values() if k == changed_key] == ["One short paragraph now."]
    assert {i: v for i, v in after.items() if v[1] != changed_key} == {
        i: v for i, v in before.items() if v[1] != changed_key}


def test_the_manifest_is_read_a_page_at_a_time(tmp_path, monkeypatch):
    """Chroma fails one read of a very large collection; the manifest pages through it."""
    import assistant.vectorstore as vectorstore

    monkeypatch.setattr(vectorstore, "PAGE", 3)
    docs = write_documents(tmp_path / "docs", 20)
    index = KnowledgeIndex(tmp_path / "kb", "knowledge", FakeEmbeddings())
    ingest_paths(index, [docs])
    assert index.count() > 3 * 6  # several pages
    assert len(index.documents()) == 20
    assert len(ingest_paths(index, [docs]).unchanged) == 20
