"""A deterministic lexical embedder (hashed word and bigram features).

It needs no model and no time, so unit and API tests use it; it is also a fallback
for machines where no neural model can run. It only matches shared words: no
cross-lingual retrieval.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from rag.embed.base import EmbedderSpec, Vectors, normalise

_WORD = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    def __init__(self, dim: int = 256) -> None:
        self.spec = EmbedderSpec(backend="hashing", model=f"words+bigrams/{dim}", dim=dim)

    def encode_queries(self, texts: list[str]) -> Vectors:
        return self._encode(texts)

    def encode_passages(self, texts: list[str]) -> Vectors:
        return self._encode(texts)

    def _encode(self, texts: list[str]) -> Vectors:
        out = np.zeros((len(texts), self.spec.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = [w.lower() for w in _WORD.findall(text)]
            features = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
            for feature in features or ["<empty>"]:
                digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.spec.dim
                sign = 1.0 if digest[4] & 1 else -1.0
                out[row, bucket] += sign
        return normalise(out) if len(texts) else out
