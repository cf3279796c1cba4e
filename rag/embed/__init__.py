"""Embedders: one protocol, several backends, and a cache in front of them."""

from rag.embed.base import Embedder, EmbedderSpec
from rag.embed.factory import load_embedder

__all__ = ["Embedder", "EmbedderSpec", "load_embedder"]
