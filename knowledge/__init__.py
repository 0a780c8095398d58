"""Ingestion of documents into the index, and the bundled default corpus (handbook/)."""

from pathlib import Path

HANDBOOK_DIR = Path(__file__).resolve().parent / "handbook"
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
# Bundled documents are keyed by this namespace, not their absolute path, so a moved
# checkout or a reinstall does not look like a new corpus.
HANDBOOK_NAMESPACE = "handbook"
