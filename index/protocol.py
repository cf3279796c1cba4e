"""What the layers above need from an archive, and nothing more (as Haystack's `DocumentStore`).

The embedded engine (SQLite + FAISS segments, this package) implements it; a distributed one
(OpenSearch, Milvus, Vespa: see ../shared/research/scale.md) can implement the same few calls
without `rag/` changing. Ids are the archive's own chunk and sentence numbers.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import numpy as np
import numpy.typing as npt

from index.manifest import EmbedderRecord, Manifest
from index.records import Article, ChunkRow, SentenceRow

Ids = npt.NDArray[np.int64]


class Documents(Protocol):
    def get_article(self, article_id: str) -> Article | None: ...
    def get_articles(self, article_ids: list[str]) -> dict[str, Article]: ...
    def chunks(self, chunk_ids: list[int]) -> dict[int, ChunkRow]: ...
    def sentences_within(self, spans: list[tuple[str, int, int]]) -> list[list[SentenceRow]]: ...
    def chunk_ids_matching(self, published_from: dt.date | None, published_to: dt.date | None,
                           sources: list[str] | None) -> list[int]: ...
    def list_articles(self, published_from: dt.date | None, published_to: dt.date | None,
                      sources: list[str] | None, offset: int, limit: int) -> tuple[int, list[Article]]: ...
    def newest_published(self) -> dt.date | None: ...
    def term_frequencies(self, terms: list[str]) -> dict[str, int]: ...
    def canonical_of(self, article_ids: list[str]) -> dict[str, str]: ...
    def group_members(self, canonical_ids: list[str], limit: int | None = None) -> dict[str, list[str]]: ...


class VectorSearch(Protocol):
    def search(self, query: npt.NDArray[np.float32], k: int, allowed: Ids | None = None) -> list[tuple[int, float]]: ...
    def vectors_for(self, ids: list[int]) -> npt.NDArray[np.float32]: ...


class VectorLookup(Protocol):
    def vectors_for(self, ids: list[int]) -> npt.NDArray[np.float32]: ...


class LexicalSearch(Protocol):
    def search(self, query: str, k: int, allowed: Ids | None = None) -> list[tuple[int, float]]: ...


class ArchiveSnapshot(Protocol):
    """A consistent view: every call answers as of one commit."""

    manifest: Manifest
    version: int
    store: Documents
    chunk_vectors: VectorSearch
    sentence_vectors: VectorLookup
    lexical: LexicalSearch
    derived: dict[str, object]

    @property
    def label(self) -> str: ...
    def close(self) -> None: ...


class ArchiveWriter(Protocol):
    """The one writer: changes become visible together, at `commit`."""

    embedder: EmbedderRecord
    pending: int

    def content_hash(self, article_id: str) -> str | None: ...
    def put(self, article: Article, content_hash: str, chunk_spans: list[tuple[int, int]],
            chunk_vectors: npt.NDArray[np.float32], sentence_spans: list[tuple[int, int]],
            sentence_vectors: npt.NDArray[np.float32]) -> None: ...
    def delete(self, article_id: str) -> bool: ...
    def commit(self) -> Manifest: ...
    def merge(self, everything: bool = False) -> list[str]: ...
    def close(self) -> None: ...
