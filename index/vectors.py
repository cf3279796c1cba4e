"""FAISS vectors keyed by the document store's row ids, so rows can be replaced and deleted.

`IndexIDMap2(IndexFlatIP)`: exact inner-product search (= cosine on normalised vectors),
fast enough to ~100k chunks on two cores, and `remove_ids` keeps the store and the
vectors in step. Filters run inside FAISS with an id selector, so `k` results still
come back when most of the archive is filtered out.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt

Ids = npt.NDArray[np.int64]

# One query at a time is memory-bound: a second OpenMP thread adds nothing but contention
# with the embedder's own threads.
faiss.omp_set_num_threads(1)


class VectorIndex:
    def __init__(self, index: faiss.IndexIDMap2) -> None:
        self._index = index

    @classmethod
    def empty(cls, dim: int) -> VectorIndex:
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)))

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        return cls(faiss.read_index(str(path)))

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @property
    def dim(self) -> int:
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: list[int], vectors: npt.NDArray[np.float32]) -> None:
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: list[int]) -> None:
        if ids:
            self._index.remove_ids(faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64)))

    def search(
        self, query: npt.NDArray[np.float32], k: int, allowed: Ids | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (id, score), restricted to `allowed` ids when given."""
        if len(self) == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return []
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64)))
        scores, ids = self._index.search(np.ascontiguousarray(query.reshape(1, -1)), min(k, len(self)), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    def ids(self) -> Ids:
        """Every id the index holds (for consistency checks)."""
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def vectors_for(self, ids: list[int]) -> npt.NDArray[np.float32]:
        if not ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._index.reconstruct_batch(np.asarray(ids, dtype=np.int64)).astype(np.float32)
