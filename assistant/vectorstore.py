"""Chroma, embedded on disk by default or a Chroma server over HTTP.

Searches go through langchain-chroma; writes go to the Chroma collection directly because each
chunk is embedded together with its heading path while the stored text stays the raw passage.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from assistant.embeddings import load_embeddings

COSINE = {"hnsw:space": "cosine"}
PAGE = 5000  # chunks per read of the manifest


def chroma_client(persist_dir: Path):
    """PersistentClient under ASSISTANT_HOME, or HttpClient when ASSISTANT_CHROMA_URL is set."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    url = os.environ.get("ASSISTANT_CHROMA_URL")
    if url:
        from urllib.parse import urlparse

        parsed = urlparse(url)
        return chromadb.HttpClient(
            host=parsed.hostname or "127.0.0.1", port=parsed.port or 8000, settings=settings
        )
    persist_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(persist_dir), settings=settings)


class KnowledgeIndex:
    """One Chroma collection of chunks, with the document manifest kept in chunk metadata."""

    def __init__(self, persist_dir: Path, collection: str, embeddings=None):
        """`embeddings`: a LangChain Embeddings; MiniLM (load_embeddings) when None. One
        collection must be written and searched with one embedder."""
        from langchain_chroma import Chroma

        self.client = chroma_client(persist_dir)
        # Chroma's own database file: any write, by any process, changes its mtime or size.
        self._database = Path(persist_dir) / "chroma.sqlite3"
        self._version: tuple[tuple | None, str] | None = None
        self.embeddings = embeddings if embeddings is not None else load_embeddings()
        # embedding_function=None: Chroma's default function would download a model.
        self.collection = self.client.get_or_create_collection(
            name=collection, embedding_function=None, metadata=COSINE
        )
        self.store = Chroma(
            client=self.client,
            collection_name=collection,
            embedding_function=self.embeddings,
            collection_metadata=COSINE,
        )

    def documents(self) -> dict[str, str]:
        """{document key: content hash} for every indexed document. Read a page at a time:
        one read of a large collection fails in Chroma ("too many SQL variables", seen at
        about 50k chunks)."""
        manifest, offset = {}, 0
        while True:
            page = self.collection.get(include=["metadatas"], limit=PAGE, offset=offset)
            metadatas = page["metadatas"] or []
            manifest.update((m["doc_key"], m["doc_hash"]) for m in metadatas)
            if len(metadatas) < PAGE:
                return manifest
            offset += PAGE

    def version(self) -> str:
        """Knowledge-base version: changes whenever any document is added, changed or removed
        (also by another process). Cheap enough to read on every turn: recomputed only when
        the database file changed (always, for a Chroma server)."""
        signal = self._change_signal()
        if signal is not None and self._version is not None and self._version[0] == signal:
            return self._version[1]
        manifest = sorted(self.documents().items())
        version = "empty" if not manifest else \
            f"kb-{hashlib.sha256(repr(manifest).encode()).hexdigest()[:12]}"
        self._version = (signal, version)
        return version

    def _change_signal(self) -> tuple | None:
        if os.environ.get("ASSISTANT_CHROMA_URL") or not self._database.exists():
            return None
        stat = self._database.stat()
        return (stat.st_mtime_ns, stat.st_size)

    def count(self) -> int:
        return self.collection.count()

    def delete_document(self, doc_key: str) -> None:
        self.collection.delete(where={"doc_key": doc_key})

    def add_chunks(self, ids, texts_to_embed, documents, metadatas) -> None:
        vectors = self.embeddings.embed_documents(list(texts_to_embed))
        self.collection.upsert(
            ids=list(ids), embeddings=vectors, documents=list(documents), metadatas=list(metadatas)
        )

    def search(self, query: str, k: int):
        """[(Document, relevance in [0, 1])], best first; relevance = 1 - cosine distance."""
        if self.count() == 0:
            return []
        hits = self.store.similarity_search_with_score(query, k=k)
        return [(doc, max(0.0, 1.0 - float(distance))) for doc, distance in hits]
