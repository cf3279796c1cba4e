"""A read-only view of one generation: what every query runs against.

A snapshot never changes under a query; a service swaps in a newer one between queries.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from index.directory import IndexDirectory
from index.lexical import LexicalIndex
from index.manifest import Manifest
from index.store import DocumentStore
from index.vectors import VectorIndex


class SnapshotError(RuntimeError):
    """A generation's files are missing, damaged or disagree with each other; the message names the file."""


class Snapshot:
    def __init__(self, generation: Path) -> None:
        self.generation = generation
        current = generation / "manifest.json"
        try:
            self.manifest = Manifest.read(current)
            current = generation / "docs.sqlite"
            self.store = DocumentStore.open_readonly(current)
            counts = self.store.counts()
            current = generation / "chunks.faiss"
            self.chunk_vectors = VectorIndex.load(current)
            current = generation / "sentences.faiss"
            self.sentence_vectors = VectorIndex.load(current)
            current = generation / "bm25"
            self.lexical = self._lexical(generation)
        except FileNotFoundError:
            raise
        except (OSError, ValueError, RuntimeError, sqlite3.DatabaseError) as exc:
            # FAISS raises RuntimeError, SQLite DatabaseError, pydantic/json ValueError.
            raise SnapshotError(f"{current} is damaged ({str(exc).splitlines()[0][:200]}); "
                                f"run `kabar check --index {generation.parent} --repair`") from None
        m = self.manifest
        for name, number, want in (("articles", counts["articles"], m.articles), ("chunks", counts["chunks"], m.chunks),
                                   ("chunk vectors", len(self.chunk_vectors), m.chunks),
                                   ("sentences", counts["sentences"], m.sentences),
                                   ("sentence vectors", len(self.sentence_vectors), m.sentences)):
            if number != want:
                raise SnapshotError(f"{generation} holds {number} {name} where its manifest says {want}: "
                                    f"the generation is damaged; run `kabar check --index {generation.parent} --repair`")
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
