"""Changing an index: replace or delete articles, then commit a new generation atomically."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from index.directory import IndexDirectory, crash_point
from index.duplicates import refresh_groups
from index.manifest import EmbedderMismatchError, EmbedderRecord, Manifest
from index.lexical import LexicalIndex
from index.store import DocumentStore
from index.vectors import VectorIndex
from rag.models import Article

# (article text, sentence spans) -> {word: number of the article's sentences that contain it}
TermCounter = Callable[[str, list[tuple[int, int]]], dict[str, int]]


class IndexWriter:
    """The only way to change an index. Holds the directory's lock from open to close.

    Work accumulates in a staging copy of the live generation; `commit()` publishes it.
    Anything not committed when the process dies is simply never seen.
    """

    def __init__(self, path: Path, embedder: EmbedderRecord, chunking: dict[str, int | str], version: str = "",
                 term_counter: TermCounter | None = None) -> None:
        """`term_counter(text, sentence spans)` gives an article's per-word sentence counts; with it,
        the store keeps archive-wide word statistics up to date at every put and delete, so no
        reader ever recounts the archive."""
        self.directory = IndexDirectory(path)
        self.term_counter = term_counter
        self._lock_fd = self.directory.lock()
        try:
            self._live = self.directory.current_generation()
            self.directory.remove_leftovers(self._live)
            if self._live is not None:
                recorded = Manifest.read(self._live / "manifest.json").embedder
                if (recorded.backend, recorded.model) != (embedder.backend, embedder.model):
                    raise EmbedderMismatchError(
                        f"index {path} was built with {recorded.backend}:{recorded.model}; cannot add vectors "
                        f"from {embedder.backend}:{embedder.model}. Use the same embedder or a new --index."
                    )
            self.embedder = embedder
            self.chunking = chunking
            self.version = version
            self._open_staging()
        except BaseException:
            IndexDirectory.unlock(self._lock_fd)
            raise

    def _open_staging(self) -> None:
        self._staging = self.directory.new_staging()
        if self._live is not None:
            DocumentStore.open_readonly(self._live / "docs.sqlite").backup_to(self._staging / "docs.sqlite")
            self.chunk_vectors = VectorIndex.load(self._live / "chunks.faiss")
            self.sentence_vectors = VectorIndex.load(self._live / "sentences.faiss")
        else:
            self.chunk_vectors = VectorIndex.empty(self.embedder.dim)
            self.sentence_vectors = VectorIndex.empty(self.embedder.dim)
        self.store = DocumentStore.open_writable(self._staging / "docs.sqlite")
        self.pending = 0
        if self.term_counter is not None and not self.store.term_counts_complete():
            self._count_all_terms()

    def _count_all_terms(self) -> None:
        """Once per index (an index written before word counts were kept, or a new one)."""
        self.store.reset_term_counts()
        for article_id in self.store.article_ids():
            text, spans = self.store.article_sentences(article_id)
            self.store.add_term_counts(self.term_counter(text, spans))
        self.store.mark_term_counts_complete()

    def content_hash(self, article_id: str) -> str | None:
        return self.store.content_hash(article_id)

    def put(
        self,
        article: Article,
        content_hash: str,
        chunk_spans: list[tuple[int, int]],
        chunk_vectors: npt.NDArray[np.float32],
        sentence_spans: list[tuple[int, int]],
        sentence_vectors: npt.NDArray[np.float32],
    ) -> None:
        """Insert an article, replacing any older version with the same id."""
        self.delete(article.id)
        self.store.put_article(article, content_hash)
        if self.term_counter is not None:
            self.store.add_term_counts(self.term_counter(article.text, sentence_spans))
        else:
            self.store.reset_term_counts()  # counts can no longer be trusted; the next counting writer redoes them
        chunk_ids = [self.store.add_chunk(article.id, n, s, e) for n, (s, e) in enumerate(chunk_spans)]
        sentence_ids = [self.store.add_sentence(article.id, s, e) for s, e in sentence_spans]
        self.chunk_vectors.add(chunk_ids, chunk_vectors)
        self.sentence_vectors.add(sentence_ids, sentence_vectors)
        self.pending += 1

    def delete(self, article_id: str) -> bool:
        if self.term_counter is None:
            self.store.reset_term_counts()
        elif (old := self.store.article_sentences(article_id)) is not None:
            self.store.add_term_counts(self.term_counter(*old), sign=-1)
        chunk_ids, sentence_ids = self.store.delete_article(article_id)
        self.chunk_vectors.remove(chunk_ids)
        self.sentence_vectors.remove(sentence_ids)
        if chunk_ids or sentence_ids:
            self.pending += 1
        return bool(chunk_ids or sentence_ids)

    def commit(self) -> Manifest:
        """Publish everything so far as the new live generation, then keep writing on a fresh copy."""
        refresh_groups(self.store)
        self.store.commit()
        crash_point("store-committed")
        counts = self.store.counts()
        self.store.close()
        self.chunk_vectors.save(self._staging / "chunks.faiss")
        self.sentence_vectors.save(self._staging / "sentences.faiss")
        self._build_lexical().save(self._staging / "bm25")
        number = self.directory.generation_number(self._live) + 1
        manifest = Manifest(
            generation=number, embedder=self.embedder, chunking=self.chunking, kabar_version=self.version,
            articles=counts["articles"], chunks=counts["chunks"], sentences=counts["sentences"],
        )
        manifest.write(self._staging / "manifest.json")
        self._live = self.directory.publish(self._staging, number)
        self._open_staging()
        return manifest

    def _build_lexical(self) -> LexicalIndex:
        store = DocumentStore.open_readonly(self._staging / "docs.sqlite")
        try:
            return LexicalIndex.from_documents(store.chunk_documents())
        finally:
            store.close()

    def close(self) -> None:
        """Release the lock; uncommitted work is discarded."""
        try:
            self.store.close()
        finally:
            shutil.rmtree(self._staging, ignore_errors=True)
            IndexDirectory.unlock(self._lock_fd)

    def __enter__(self) -> IndexWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
