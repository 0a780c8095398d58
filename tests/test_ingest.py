"""knowledge.ingest.ingest_paths against a real Chroma index, with the fake embedder (searching
also with the real MiniLM embeddings: slow)."""

import io
import itertools
from pathlib import Path

import docx
import pytest

from assistant.vectorstore import KnowledgeIndex
from knowledge.ingest import ingest_paths
from tests.fakes import FakeEmbeddings

DOCS = {
    "leave.md": "# Leave\n\nYou get 25 days of paid leave per year.\n\n"
                "## Sick leave\n\nCall your manager before 9am.\n",
    "expenses.md": "# Expenses\n\nUpload every receipt to the expenses portal within 30 days.\n",
    "security.md": "# Security\n\nLock your screen when you leave your desk.\n",
}

_collections = itertools.count()


@pytest.fixture(scope="module")
def chroma_dir(tmp_path_factory) -> Path:
    """One on-disk Chroma for the module."""
    return tmp_path_factory.mktemp("chroma")


def new_index(chroma_dir: Path, embeddings) -> KnowledgeIndex:
    """A fresh collection in the shared Chroma directory (MiniLM when embeddings is None)."""
    return KnowledgeIndex(chroma_dir, f"test-{next(_collections)}", embeddings)


@pytest.fixture
def index(chroma_dir, fake_embeddings) -> KnowledgeIndex:
    return new_index(chroma_dir, fake_embeddings)


@pytest.fixture
def docs_dir(tmp_path) -> Path:
    root = tmp_path / "docs"
    root.mkdir()
    for name, text in DOCS.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def key(path: Path) -> str:
    return str(path.resolve())


def chunks_of(index: KnowledgeIndex, doc_key: str) -> dict:
    return index.collection.get(where={"doc_key": doc_key}, include=["documents", "metadatas"])


def test_directory_is_indexed(index, docs_dir):
    report = ingest_paths(index, [docs_dir])
    assert sorted(report.added) == sorted(key(docs_dir / name) for name in DOCS)
    assert report.updated == report.unchanged == report.removed == report.failed == []
    assert report.changed
    # leave.md has two sections, the others one each.
    assert report.chunks_written == 4 == index.count()
    assert set(index.documents()) == set(report.added)
    leave = chunks_of(index, key(docs_dir / "leave.md"))
    text = DOCS["leave.md"]
    by_heading = {m["heading"]: (m, d) for m, d in zip(leave["metadatas"], leave["documents"],
                                                        strict=True)}
    assert set(by_heading) == {"Leave", "Leave > Sick leave"}
    for metadata, document in by_heading.values():
        assert metadata["source"] == "leave.md"
        assert document == text[metadata["start"]:metadata["end"]]


@pytest.mark.parametrize("embeddings", [
    pytest.param(FakeEmbeddings(), id="fake"),
    pytest.param(None, marks=pytest.mark.slow, id="minilm"),
])
def test_indexed_text_is_searchable(chroma_dir, embeddings, docs_dir):
    index = new_index(chroma_dir, embeddings)
    ingest_paths(index, [docs_dir])
    (best, relevance), *_ = index.search("where do I upload receipts?", k=3)
    assert best.metadata["source"] == "expenses.md"
    assert 0 < relevance <= 1


def test_second_run_changes_nothing(index, docs_dir):
    ingest_paths(index, [docs_dir])
    ids_before = sorted(index.collection.get(include=[])["ids"])
    version_before = index.version()

    report = ingest_paths(index, [docs_dir])
    assert sorted(report.unchanged) == sorted(key(docs_dir / name) for name in DOCS)
    assert report.added == report.updated == report.removed == report.failed == []
    assert report.chunks_written == 0
    assert not report.changed
    assert sorted(index.collection.get(include=[])["ids"]) == ids_before
    assert index.version() == version_before


def test_changed_file_is_reembedded_and_its_old_chunks_are_gone(index, docs_dir):
    ingest_paths(index, [docs_dir])
    leave = docs_dir / "leave.md"
    old_ids = set(chunks_of(index, key(leave))["ids"])
    assert len(old_ids) == 2
    untouched_ids = set(chunks_of(index, key(docs_dir / "expenses.md"))["ids"])

    leave.write_text("# Leave\n\nYou now get 30 days of paid leave.\n", encoding="utf-8")
    report = ingest_paths(index, [docs_dir])
    assert report.updated == [key(leave)]
    assert report.added == report.removed == []
    assert len(report.unchanged) == 2
    assert report.chunks_written == 1

    current = chunks_of(index, key(leave))
    assert current["documents"] == ["You now get 30 days of paid leave."]
    assert not old_ids & set(current["ids"])
    assert index.count() == 3
    assert set(chunks_of(index, key(docs_dir / "expenses.md"))["ids"]) == untouched_ids


def test_deleted_file_is_removed_from_the_index(index, docs_dir):
    ingest_paths(index, [docs_dir])
    (docs_dir / "security.md").unlink()
    report = ingest_paths(index, [docs_dir])
    assert report.removed == [key(docs_dir / "security.md")]
    assert len(report.unchanged) == 2
    assert key(docs_dir / "security.md") not in index.documents()
    assert chunks_of(index, key(docs_dir / "security.md"))["ids"] == []
    assert index.count() == 3


def test_named_file_that_disappeared_is_removed_and_reported(index, docs_dir):
    target = docs_dir / "expenses.md"
    ingest_paths(index, [target])
    assert set(index.documents()) == {key(target)}
    target.unlink()
    report = ingest_paths(index, [target])
    assert report.removed == [key(target)]
    assert report.failed == [(str(target), "no such file or directory")]
    assert index.count() == 0


def test_unreadable_files_are_reported_and_the_others_still_indexed(index, docs_dir):
    (docs_dir / "blob.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (docs_dir / "latin1.txt").write_bytes("caf\u00e9 cr\u00e8me".encode("latin-1"))
    (docs_dir / "picture.png").write_bytes(b"\x89PNG\x00")  # unsupported: silently skipped
    errors = []
    report = ingest_paths(index, [docs_dir], on_error=lambda f, r: errors.append((f, r)))

    failed = dict(report.failed)
    assert set(failed) == {str(docs_dir / "blob.md"), str(docs_dir / "latin1.txt")}
    assert "binary" in failed[str(docs_dir / "blob.md")]
    assert "UTF-8" in failed[str(docs_dir / "latin1.txt")]
    assert sorted(errors) == sorted(report.failed)
    assert sorted(report.added) == sorted(key(docs_dir / name) for name in DOCS)
    assert set(index.documents()) == set(report.added)


def test_knowledge_base_version_follows_content(index, docs_dir):
    assert index.version() == "empty"
    ingest_paths(index, [docs_dir])
    first = index.version()
    assert first.startswith("kb-")

    ingest_paths(index, [docs_dir])
    assert index.version() == first

    original = (docs_dir / "expenses.md").read_text()
    (docs_dir / "expenses.md").write_text(original + "\nMeals are capped at 40 EUR.\n")
    ingest_paths(index, [docs_dir])
    second = index.version()
    assert second != first

    (docs_dir / "expenses.md").write_text(original)
    ingest_paths(index, [docs_dir])
    assert index.version() == first

    (docs_dir / "security.md").unlink()
    ingest_paths(index, [docs_dir])
    assert index.version() not in (first, second)


def test_namespace_keys(index, docs_dir):
    (docs_dir / "sub").mkdir()
    (docs_dir / "sub" / "nested.md").write_text("# Nested\n\nDeeper text.\n")
    (docs_dir / ".hidden.md").write_text("# Hidden\n\nNot indexed.\n")
    report = ingest_paths(index, [docs_dir], namespace="handbook")
    expected = {f"handbook/{name}" for name in DOCS} | {"handbook/sub/nested.md"}
    assert set(report.added) == expected
    assert set(index.documents()) == expected
    metadatas = chunks_of(index, "handbook/sub/nested.md")["metadatas"]
    assert [m["source"] for m in metadatas] == ["nested.md"]

    # The namespace, not the location, identifies documents: a moved copy is unchanged.
    moved = docs_dir.rename(docs_dir.parent / "moved")
    report = ingest_paths(index, [moved], namespace="handbook")
    assert set(report.unchanged) == expected
    assert report.added == report.removed == []


def test_identical_files_at_different_paths_do_not_collide(index, tmp_path):
    text = "# Same\n\nIdentical content in two places.\n"
    first, second = tmp_path / "a" / "same.md", tmp_path / "b" / "same.md"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text(text)
    report = ingest_paths(index, [first, second])
    assert sorted(report.added) == sorted([key(first), key(second)])
    ids_first = set(chunks_of(index, key(first))["ids"])
    ids_second = set(chunks_of(index, key(second))["ids"])
    assert len(ids_first) == len(ids_second) == 1
    assert not ids_first & ids_second
    assert index.count() == 2

    second.unlink()
    report = ingest_paths(index, [second])
    assert report.removed == [key(second)]
    assert set(chunks_of(index, key(first))["ids"]) == ids_first
    assert index.count() == 1


def test_file_with_only_headings_does_not_stop_the_others(index, docs_dir):
    (docs_dir / "stub.md").write_text("# Title\n\n## Section to be written\n")
    report = ingest_paths(index, [docs_dir])
    assert sorted(report.added) == sorted(key(docs_dir / name) for name in DOCS)
    assert key(docs_dir / "stub.md") not in report.added


def test_corrupt_docx_does_not_stop_the_others(index, docs_dir):
    (docs_dir / "broken.docx").write_bytes(b"not a zip at all")
    good = docx.Document()
    good.add_paragraph("Travel", style="Heading 1")
    good.add_paragraph("Book trains, not planes, for trips under 500 km.")
    buffer = io.BytesIO()
    good.save(buffer)
    (docs_dir / "travel.docx").write_bytes(buffer.getvalue())
    report = ingest_paths(index, [docs_dir])
    assert [f for f, _ in report.failed] == [str(docs_dir / "broken.docx")]
    assert key(docs_dir / "travel.docx") in report.added
