"""The embedder contract: queries and passages are encoded separately.

Asymmetric models (e5) prefix "query: " and "passage: "; a symmetric model just
ignores the difference. Vectors come back L2-normalised, so inner product = cosine.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

Vectors = npt.NDArray[np.float32]


class EmbedderSpec(BaseModel):
    """What built an index's vectors; an index refuses queries from any other embedder."""

    backend: str
    model: str
    dim: int

    @property
    def key(self) -> str:
        return f"{self.backend}:{self.model}"


class Embedder(Protocol):
    spec: EmbedderSpec

    def encode_queries(self, texts: list[str]) -> Vectors: ...

    def encode_passages(self, texts: list[str]) -> Vectors: ...


def normalise(vectors: npt.NDArray[np.floating]) -> Vectors:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)
