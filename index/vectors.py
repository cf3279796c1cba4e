"""Vectors on disk: every vector in an append-only float16 matrix, chunk vectors also in sealed FAISS segments.

Why two forms:
- The matrix (`vectors/chunks.f16`, `vectors/sentences.f16`) holds row `id - 1` for chunk or
  sentence `id`. Ids are SQLite AUTOINCREMENT, never reused, so a commit only appends, and a
  reader memory-maps the file: looking up the vectors of a question's candidate chunks and of
  their sentences touches a few pages, not the archive. Sentence vectors are never searched
  across the archive (they score the sentences of candidate chunks), so they live only here;
  float16 halves them (a cosine moves by < 1e-3).
- Segments (`segments/*.faiss`) are what a question searches. Each commit seals its new chunk
  vectors as one small segment; a merge (index/merge.py) combines runs of segments of one
  size, drops deleted vectors, and picks the type by size: exact inner product below
  IVF_MIN_VECTORS, IVF with 8-bit scalar codes above it, trained on the segment's own vectors,
  whose best candidates are re-scored exactly from the matrix. FAISS never rewrites a sealed
  file: a deleted chunk is a tombstone, skipped through an id selector until its segment is merged.

A dead writer can leave rows past the last committed id in a matrix; they are cut off under
the writer lock (`VectorMatrix.truncate`), since no reader can reach an id SQLite never committed.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt

from index.records import SegmentRow

Ids = npt.NDArray[np.int64]

# One query at a time is memory-bound: a second OpenMP thread adds nothing but contention
# with the embedder's own threads.
faiss.omp_set_num_threads(1)

IVF_MIN_VECTORS = 20_000   # exact search of 20 k vectors takes ~1.5 ms here; above, IVF
IVF_MAX_LISTS = 1024
IVF_PROBE_SHARE = 1 / 4    # lists visited per question: recall@10 0.959 asked 600 real questions (1/5: 0.945, 1/3: 0.974)
RESCORE_FACTOR = 4         # an IVF segment returns k × this candidates, re-scored exactly


class VectorFileError(RuntimeError):
    """A vector file is shorter than what the database says was committed, or unreadable."""


class VectorMatrix:
    """Append-only float16 rows addressed by id (row = id - 1)."""

    def __init__(self, path: Path, dim: int) -> None:
        self.path = Path(path)
        self.dim = dim
        self.row_bytes = dim * 2

    def rows_on_disk(self) -> int:
        try:
            return self.path.stat().st_size // self.row_bytes
        except FileNotFoundError:
            return 0

    def write(self, first_id: int, vectors: npt.NDArray[np.float32]) -> None:
        """Rows for ids first_id, first_id + 1, ... (the writer's new, consecutive ids)."""
        if not len(vectors):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = np.ascontiguousarray(vectors, dtype=np.float16).tobytes()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.pwrite(fd, data, (first_id - 1) * self.row_bytes)
        finally:
            os.close(fd)

    def sync(self) -> None:
        if self.path.exists():
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def truncate(self, committed_rows: int) -> bool:
        """Cut rows no commit acknowledged (a dead writer's); True when something was cut."""
        size = self.path.stat().st_size if self.path.exists() else 0
        if size > committed_rows * self.row_bytes:
            os.truncate(self.path, committed_rows * self.row_bytes)
            self.sync()
            return True
        return False

    def reader(self, rows: int) -> MatrixReader:
        if rows and self.rows_on_disk() < rows:
            raise VectorFileError(f"{self.path} holds {self.rows_on_disk()} vectors where the database has "
                                  f"committed {rows}: the file is damaged or was replaced")
        return MatrixReader(self.path, self.dim, rows)


class MatrixReader:
    """A read-only memory map of the first `rows` rows (what one snapshot may address)."""

    def __init__(self, path: Path, dim: int, rows: int) -> None:
        self.dim = dim
        self.rows = rows
        self._map = np.memmap(path, dtype=np.float16, mode="r", shape=(rows, dim)) if rows else None

    def get(self, ids: list[int] | Ids) -> npt.NDArray[np.float32]:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._map is None or ids.min() < 1 or ids.max() > self.rows:
            raise KeyError(f"vector ids outside 1..{self.rows}")
        order = np.argsort(ids)  # reading in file order touches each page once
        out = np.empty((len(ids), self.dim), dtype=np.float32)
        out[order] = self._map[ids[order] - 1]
        return out

    vectors_for = get  # the name the chunk vectors use too


def build_segment(path: Path, ids: Ids, vectors: npt.NDArray[np.float32]) -> str:
    """Write a sealed segment file (atomically: temp name, fsync, rename); returns its kind."""
    dim = vectors.shape[1]
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if len(ids) >= IVF_MIN_VECTORS:
        # 4·sqrt(N) lists (FAISS's guideline), each trained on at least 39 points (k-means' own minimum).
        lists = max(1, min(IVF_MAX_LISTS, int(4 * math.sqrt(len(ids))), len(ids) // 39))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFScalarQuantizer(quantizer, dim, lists, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
        sample = vectors if len(vectors) <= lists * 64 else vectors[
            np.random.default_rng(0).choice(len(vectors), lists * 64, replace=False)]
        index.train(sample)
        index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))
        kind = "ivf-sq8"
    else:
        index = faiss.IndexIDMap(faiss.IndexFlatIP(dim))
        if len(ids):
            index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))
        kind = "flat"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    faiss.write_index(index, str(temporary))
    fd = os.open(temporary, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    return kind


class Segment:
    def __init__(self, row: SegmentRow, index: faiss.Index) -> None:
        self.row = row
        self._index = index
        if isinstance(index, faiss.IndexIVF):
            index.nprobe = max(1, int(round(index.nlist * IVF_PROBE_SHARE)))

    @classmethod
    def load(cls, directory: Path, row: SegmentRow) -> Segment:
        return cls(row, faiss.read_index(str(directory / row.name)))

    @property
    def approximate(self) -> bool:
        return isinstance(self._index, faiss.IndexIVF)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def search(self, query: npt.NDArray[np.float32], k: int, selector) -> list[tuple[int, float]]:
        if not len(self):
            return []
        if self.approximate:
            params = faiss.SearchParametersIVF(sel=selector, nprobe=self._index.nprobe)
        else:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None
        scores, ids = self._index.search(query.reshape(1, -1), min(k, len(self)), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def ids(self) -> Ids:
        if self.approximate:
            invlists = self._index.invlists
            parts = [faiss.rev_swig_ptr(invlists.get_ids(n), invlists.list_size(n)).copy()
                     for n in range(self._index.nlist) if invlists.list_size(n)]
            return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)


class SegmentCache:
    """Sealed segments are immutable, so a process loads each file once, whatever snapshot asks."""

    def __init__(self) -> None:
        self._loaded: dict[tuple[str, str], Segment] = {}

    def get(self, directory: Path, row: SegmentRow) -> Segment:
        key = (str(directory), row.name)
        segment = self._loaded.get(key)
        if segment is None:
            segment = self._loaded[key] = Segment.load(directory, row)
        return segment

    def keep_only(self, directory: Path, names: set[str]) -> None:
        for key in [key for key in self._loaded if key[0] == str(directory) and key[1] not in names]:
            del self._loaded[key]


class ChunkVectors:
    """What a snapshot searches: its segments, minus its tombstones, re-scored from its matrix."""

    def __init__(self, segments: list[Segment], tombstones: Ids, matrix: MatrixReader, alive: int) -> None:
        self.segments = segments
        self.tombstones = np.asarray(tombstones, dtype=np.int64)
        self.matrix = matrix
        self._alive = alive
        self._skip = faiss.IDSelectorNot(faiss.IDSelectorBatch(self.tombstones)) if len(self.tombstones) else None

    def __len__(self) -> int:
        return self._alive

    def search(self, query: npt.NDArray[np.float32], k: int, allowed: Ids | None = None) -> list[tuple[int, float]]:
        """Top-k (chunk id, score) over every segment, restricted to `allowed` ids when given."""
        if k <= 0 or not self.segments or (allowed is not None and len(allowed) == 0):
            return []
        query = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(1, -1))
        selector = self._skip
        if allowed is not None:  # `allowed` comes from the store, so it holds no deleted chunk
            selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
        found: list[tuple[int, float]] = []
        for segment in self.segments:
            if segment.approximate:
                hits = segment.search(query, k * RESCORE_FACTOR, selector)
                if hits:
                    ids = [i for i, _ in hits]
                    exact = self.matrix.get(ids) @ query.reshape(-1)
                    hits = list(zip(ids, exact.tolist()))
                found.extend(hits)
            else:
                found.extend(segment.search(query, k, selector))
        found.sort(key=lambda hit: hit[1], reverse=True)
        return found[:k]

    def vectors_for(self, ids: list[int]) -> npt.NDArray[np.float32]:
        return self.matrix.get(ids)
