"""`assistant ingest`: add, update and remove indexed documents, incrementally by content hash."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.chunking import chunk_text
from knowledge.loaders import SUPPORTED_SUFFIXES, UnreadableDocument, load_text

# Files above this size are almost never prose; refusing them keeps a stray dump from
# filling the index.
MAX_FILE_BYTES = 50 * 1024 * 1024
# Chunks embedded and written at once, across files: large enough that per-call overhead
# vanishes, small enough that a crash loses little and the progress bar moves.
BATCH_CHUNKS = 256


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    chunks_written: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed, "
            f"{len(self.failed)} failed ({self.chunks_written} chunks written)"
        )


@dataclass(frozen=True)
class _Target:
    path: Path
    key: str


def _key(path: Path, root: Path | None, namespace: str | None) -> str:
    if namespace and root is not None:
        relative = path.resolve().relative_to(root.resolve()).as_posix()
        return f"{namespace}/{relative}" if relative != "." else namespace
    return str(path.resolve())


def _expand(paths: Iterable[Path], namespace: str | None, report: IngestReport):
    """Files to ingest, and the key prefixes of directories (for detecting removed files)."""
    targets: list[_Target] = []
    prefixes: list[str] = []
    for path in paths:
        root = path if path.is_dir() else path.parent
        if path.is_dir():
            prefixes.append(_key(path, root, namespace) + "/")
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                if file.suffix.lower() in SUPPORTED_SUFFIXES and not file.name.startswith("."):
                    targets.append(_Target(file, _key(file, root, namespace)))
        elif path.is_file():
            targets.append(_Target(path, _key(path, root, namespace)))
        else:
            # A named file that no longer exists: remove it from the index if it was there.
            prefixes.append(_key(path, root, namespace))
            report.failed.append((str(path), "no such file or directory"))
    return targets, prefixes


def _chunk_records(target: _Target, text: str, doc_hash: str):
    display = target.path.name
    # Keyed by document and content, so identical files at two paths never share chunk ids.
    prefix = hashlib.sha256(target.key.encode()).hexdigest()[:8] + doc_hash[:12]
    for i, chunk in enumerate(chunk_text(text)):
        embed_text = f"{chunk.heading}\n{chunk.text}" if chunk.heading else chunk.text
        metadata = {
            "source": display,
            "doc_key": target.key,
            "doc_hash": doc_hash,
            "heading": chunk.heading,
            "start": chunk.start,
            "end": chunk.end,
            "chunk_index": i,
        }
        yield f"{prefix}-{i:04d}", embed_text, chunk.text, metadata


@dataclass
class _Batch:
    """Chunks of several documents, embedded and written together: one embedding call and one
    write per batch, not per file (short files made that overhead most of the time)."""

    records: list[tuple] = field(default_factory=list)
    documents: list[tuple[str, bool]] = field(default_factory=list)  # (key, was indexed)

    def add(self, key: str, was_indexed: bool, records: list[tuple]) -> None:
        self.records += records
        self.documents.append((key, was_indexed))

    def write(self, index, report: IngestReport) -> None:
        """New chunks first, then the old versions' chunks that are gone: if embedding fails
        midway, the previous version of each document is still searchable."""
        if not self.records:
            return
        ids, embed_texts, texts, metadatas = zip(*self.records, strict=True)
        index.add_chunks(ids, embed_texts, texts, metadatas)
        updated = [key for key, was_indexed in self.documents if was_indexed]
        if updated:
            new_ids = set(ids)
            old = index.collection.get(where={"doc_key": {"$in": updated}}, include=[])["ids"]
            stale = [i for i in old if i not in new_ids]
            if stale:
                index.collection.delete(ids=stale)
        report.chunks_written += len(ids)
        for key, was_indexed in self.documents:
            (report.updated if was_indexed else report.added).append(key)
        self.records, self.documents = [], []


def _read_records(target: _Target, indexed: dict[str, str]) -> list[tuple] | None:
    """The chunks of a new or changed file; None when it is unchanged."""
    if target.path.stat().st_size > MAX_FILE_BYTES:
        raise UnreadableDocument(
            f"{target.path.name}: larger than {MAX_FILE_BYTES // 2**20} MiB; not indexed.")
    data = target.path.read_bytes()
    doc_hash = hashlib.sha256(data).hexdigest()
    if indexed.get(target.key) == doc_hash:
        return None
    records = list(_chunk_records(target, load_text(target.path, data), doc_hash))
    if not records:
        raise UnreadableDocument(f"{target.path.name}: contains no text to index.")
    return records


def ingest_paths(
    index,
    paths: Iterable[Path | str],
    namespace: str | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
    on_error: Callable[[str, str], None] | None = None,
    batch_chunks: int = BATCH_CHUNKS,
) -> IngestReport:
    """Index the given files and directories; one unreadable file never stops the others.

    Unchanged files (same content hash) are skipped, changed ones re-embedded, and files that
    disappeared from an ingested directory are deleted from the index. Chunks are embedded
    and written `batch_chunks` at a time, across files.
    """
    report = IngestReport()
    targets, prefixes = _expand([Path(p) for p in paths], namespace, report)
    indexed = index.documents()
    seen = {t.key for t in targets}
    batch = _Batch()
    for target in progress(targets) if progress else targets:
        try:
            records = _read_records(target, indexed)
        except (UnreadableDocument, OSError) as err:
            reason = str(err) if isinstance(err, UnreadableDocument) else f"cannot read: {err}"
            report.failed.append((str(target.path), reason))
            if on_error:
                on_error(str(target.path), reason)
            continue
        if records is None:
            report.unchanged.append(target.key)
            continue
        batch.add(target.key, target.key in indexed, records)
        if len(batch.records) >= batch_chunks:
            batch.write(index, report)
    batch.write(index, report)

    for key in indexed:
        if key not in seen and any(key == p or key.startswith(p) for p in prefixes):
            index.delete_document(key)
            report.removed.append(key)
    return report
