"""A consistent read-only view of the index: what every query runs against.

A snapshot is a pinned SQLite read transaction plus the vectors that transaction can address:
the segments it lists (loaded once per process, they never change), its tombstones, and a
memory map of the vector matrices up to the last committed id. Opening one after a commit
costs the new segment and a few small reads, not the archive; it never changes under a query,
and a service swaps in a newer one between queries.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from index.directory import IndexDirectory
from index.lexical import LEXICAL_DIR, ArchiveLexical, LexicalIndex
from index.manifest import EmbedderRecord, Manifest
from index.store import DocumentStore
from index.vectors import ChunkVectors, MatrixReader, SegmentCache, VectorFileError, VectorMatrix

_segments = SegmentCache()
_segments_lock = threading.Lock()
_lexical: dict[str, LexicalIndex] = {}  # one opened tantivy index per directory and process


class SnapshotError(RuntimeError):
    """The index's files are missing, damaged or disagree with each other; the message names the file."""


class CommitWatcher:
    """The newest commit number, asked on every request: one statement on a connection kept open.

    Opening a connection per request costs ~4 ms (WAL index mapping); a kept one answers in tens of
    microseconds. Reopened when the database file is replaced (a migration, a restore) or fails.
    """

    def __init__(self, path: Path) -> None:
        self.directory = IndexDirectory(path)
        self._db: sqlite3.Connection | None = None
        self._inode: int | None = None
        self._lock = threading.Lock()

    def version(self) -> int | None:
        """None when there is no current-format index; raises IndexCorruptError / sqlite3.DatabaseError."""
        if self.directory.format() != 2:
            return None
        try:
            inode = self.directory.docs.stat().st_ino
        except FileNotFoundError:
            return None
        with self._lock:
            if self._db is None or inode != self._inode:
                self._close()
                self._db = sqlite3.connect(f"file:{self.directory.docs}?mode=ro", uri=True, check_same_thread=False,
                                           isolation_level=None)
                self._inode = inode
            try:
                row = self._db.execute("SELECT value FROM meta WHERE key = 'commit'").fetchone()
            except sqlite3.DatabaseError:
                self._close()
                raise
        return int(row[0]) if row else None

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
        self._db = None


def committed_manifest(path: Path) -> Manifest | None:
    """What the newest commit says the index is (its embedder, its counts), even when other files are
    damaged; None with no readable one."""
    directory = IndexDirectory(path)
    if not directory.docs.is_file():
        return None
    try:
        connection = sqlite3.connect(f"file:{directory.docs}?mode=ro", uri=True)
        try:
            row = connection.execute("SELECT value FROM meta WHERE key = 'manifest'").fetchone()
        finally:
            connection.close()
        return Manifest.model_validate_json(row[0]) if row else None
    except (sqlite3.DatabaseError, ValueError):
        return None


def recorded_embedder(path: Path) -> EmbedderRecord | None:
    """The embedder that built the index, from the commit or, when the database is unreadable, from
    embedder.json (so a server on a damaged index still loads the right model and serves once repaired)."""
    manifest = committed_manifest(path)
    if manifest is not None:
        return manifest.embedder
    raw = IndexDirectory(path).read_embedder()
    try:
        return EmbedderRecord.model_validate_json(raw) if raw else None
    except ValueError:
        return None


class Snapshot:
    def __init__(self, path: Path) -> None:
        self.directory = IndexDirectory(path)
        self.directory.require()
        current = self.directory.docs
        try:
            self.store = DocumentStore.open_readonly(current)
            self.store.pin()
            raw = self.store.get_meta("manifest")
            if raw is None:
                raise SnapshotError(f"{current} names no embedder (no committed manifest); "
                                    f"run `kabar check --index {path}`")
            self.manifest = Manifest.model_validate_json(raw)
            self.version = self.manifest.generation
            segments = self.store.segments()
            tombstones = self.store.tombstones()
            last = self.store.last_ids()
            current = self.directory.vector_file("chunks")
            chunk_matrix = _matrix(self.directory, "chunks", last["chunks"], self.manifest.embedder.dim)
            current = self.directory.vector_file("sentences")
            self.sentence_vectors = _matrix(self.directory, "sentences", last["sentences"], self.manifest.embedder.dim)
            current = self.directory.path / LEXICAL_DIR
            with _segments_lock:
                lexical = _lexical.get(str(current))
                if lexical is None:
                    lexical = _lexical[str(current)] = LexicalIndex(current, readonly=True)
            store = self.store
            self.lexical = ArchiveLexical(lexical, lambda ids: store.chunks(ids))
            loaded = []
            with _segments_lock:
                for row in segments:
                    current = self.directory.segments / row.name
                    loaded.append(_segments.get(self.directory.segments, row))
                _segments.keep_only(self.directory.segments, {row.name for row in segments})
        except SnapshotError:
            raise
        except FileNotFoundError as exc:
            if current.name == LEXICAL_DIR:
                raise SnapshotError(f"{current} is missing ({exc}); run `kabar check --index {path} --repair`") from None
            raise
        except (OSError, ValueError, RuntimeError, KeyError, sqlite3.DatabaseError) as exc:
            # FAISS raises RuntimeError, SQLite DatabaseError, pydantic/json ValueError.
            raise SnapshotError(f"{current} is damaged ({str(exc).splitlines()[0][:200]}); "
                                f"run `kabar check --index {path}`") from None
        m = self.manifest
        held = sum(len(s) for s in loaded) - len(tombstones)
        if held != m.chunks:
            raise SnapshotError(f"{self.directory.segments} holds {held} live chunk vectors where {self.directory.docs} "
                                f"has {m.chunks} chunks: the index is damaged; run `kabar check --index {path}`")
        self.chunk_vectors = ChunkVectors(loaded, tombstones, chunk_matrix, m.chunks)
        # Things computed once per snapshot by the layers above (word statistics, ...).
        self.derived: dict[str, object] = {}

    @property
    def label(self) -> str:
        return f"commit {self.version}"

    @classmethod
    def open(cls, path: Path) -> Snapshot:
        return cls(path)

    def close(self) -> None:
        self.store.close()


def _matrix(directory: IndexDirectory, kind: str, rows: int, dim: int) -> MatrixReader:
    try:
        return VectorMatrix(directory.vector_file(kind), dim).reader(rows)
    except VectorFileError as exc:
        raise SnapshotError(f"{exc}; run `kabar check --index {directory.path}`") from None
