"""A read-only view of one generation: what every query runs against.

A snapshot never changes under a query; a service swaps in a newer one between queries.
"""

from __future__ import annotations

from pathlib import Path

from index.directory import IndexDirectory
from index.lexical import LexicalIndex
from index.manifest import Manifest
from index.store import DocumentStore
from index.vectors import VectorIndex


class Snapshot:
    def __init__(self, generation: Path) -> None:
        self.generation = generation
        self.manifest = Manifest.read(generation / "manifest.json")
        self.store = DocumentStore.open_readonly(generation / "docs.sqlite")
        self.chunk_vectors = VectorIndex.load(generation / "chunks.faiss")
        self.sentence_vectors = VectorIndex.load(generation / "sentences.faiss")
        self.lexical = self._lexical(generation)
        # Things computed once per generation by the layers above (word statistics, ...).
        self.derived: dict[str, object] = {}

    def _lexical(self, generation: Path) -> LexicalIndex:
        """The stored BM25 index; generations written before it existed get one built in memory."""
        if (generation / "bm25" / "ids.npy").exists():
            return LexicalIndex.load(generation / "bm25")
        return LexicalIndex.from_documents(self.store.chunk_documents())

    @classmethod
    def open(cls, path: Path) -> Snapshot:
        return cls(IndexDirectory(path).require_current())

    def close(self) -> None:
        self.store.close()
