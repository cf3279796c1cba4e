"""`kabar migrate`: convert a format-1 index (a full copy per commit) into format 2, in place.

Nothing is re-embedded: the vectors are read back from the old FAISS files. The new files are
built in `migrating/` beside the old generations, moved into place, and FORMAT is written last,
so a migration killed at any moment leaves the old index in force (FORMAT absent, CURRENT
intact) and running it again starts over.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import faiss
import numpy as np
from pydantic import BaseModel

from index.directory import (
    CURRENT, DOCS, GENERATION_PREFIX, SEGMENTS, STAGING_PREFIX, VECTORS, IndexDirectory, IndexNotFoundError,
    crash_point,
)
from index.duplicates import band_keys
from index.lexical import LEXICAL_DIR, LexicalIndex, analysed
from index.manifest import Manifest
from index.records import SegmentRow
from index.store import DocumentStore
from index.vectors import VectorMatrix, build_segment

WORK = "migrating"


class MigrationReport(BaseModel):
    index: str
    migrated: bool
    detail: str
    articles: int = 0
    chunks: int = 0
    sentences: int = 0


def _read_vectors(path: Path) -> tuple[np.ndarray, np.ndarray]:
    index = faiss.read_index(str(path))
    ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    vectors = index.index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, index.d), np.float32)
    return ids, np.asarray(vectors, dtype=np.float32)


def _write_matrix(matrix: VectorMatrix, ids: np.ndarray, vectors: np.ndarray) -> None:
    if not len(ids):
        return
    rows = np.zeros((int(ids.max()), matrix.dim), dtype=np.float32)
    rows[ids - 1] = vectors
    matrix.write(1, rows)
    matrix.sync()


def migrate(path: Path) -> MigrationReport:
    directory = IndexDirectory(path)
    found = directory.format()
    if found == 2:
        return MigrationReport(index=str(path), migrated=False, detail="already in the current format")
    if found is None:
        raise IndexNotFoundError(f"no index at {path} to migrate")
    lock = directory.lock()
    try:
        live = directory.current_generation()
        work = path / WORK
        for leftover in (work, path / SEGMENTS, path / VECTORS, path / LEXICAL_DIR):
            shutil.rmtree(leftover, ignore_errors=True)
        for name in (DOCS, DOCS + "-wal", DOCS + "-shm"):
            (path / name).unlink(missing_ok=True)
        work.mkdir()
        manifest = Manifest.read(live / "manifest.json")
        dim = manifest.embedder.dim
        source = sqlite3.connect(f"file:{live / DOCS}?mode=ro&immutable=1", uri=True)
        target = sqlite3.connect(work / DOCS)
        with target:
            source.backup(target)
        source.close()
        target.close()
        store = DocumentStore.open_writable(work / DOCS)
        chunk_ids, chunk_vectors = _read_vectors(live / "chunks.faiss")
        sentence_ids, sentence_vectors = _read_vectors(live / "sentences.faiss")
        _write_matrix(VectorMatrix(work / VECTORS / "chunks.f16", dim), chunk_ids, chunk_vectors)
        _write_matrix(VectorMatrix(work / VECTORS / "sentences.f16", dim), sentence_ids, sentence_vectors)
        if len(chunk_ids):
            order = np.argsort(chunk_ids)
            name = "seg-00000001.faiss"
            kind = build_segment(work / SEGMENTS / name, chunk_ids[order], chunk_vectors[order])
            store.add_segment(SegmentRow(name=name, first_id=int(chunk_ids.min()), last_id=int(chunk_ids.max()),
                                         vectors=len(chunk_ids), kind=kind))
            store.set_meta("segment_seq", "1")
        LexicalIndex(work / LEXICAL_DIR).rebuild(analysed(store.chunk_documents()), manifest.generation)
        for article_id, blob in store.signed_articles():
            store.put_bands(article_id, band_keys(np.frombuffer(blob, dtype=np.uint64)))
        counts = store.counts()
        store.set_counts(counts)
        store.set_meta("manifest", manifest.model_copy(update=counts).model_dump_json())
        store.set_meta("commit", str(manifest.generation))
        store.commit()
        store.close()
        crash_point("migrate-written")
        for name in (DOCS, VECTORS, SEGMENTS, LEXICAL_DIR):
            if (work / name).exists():
                (work / name).rename(path / name)
        directory.write_embedder(manifest.embedder.model_dump_json())
        directory.mark_format()
        shutil.rmtree(work, ignore_errors=True)
        (path / CURRENT).unlink(missing_ok=True)
        for old in list(path.glob(f"{GENERATION_PREFIX}*")) + list(path.glob(f"{STAGING_PREFIX}*")):
            shutil.rmtree(old, ignore_errors=True)
        return MigrationReport(index=str(path), migrated=True, detail=f"converted {live.name} to format 2",
                               **counts)
    finally:
        IndexDirectory.unlock(lock)
