"""Ingest: read → clean → chunk → embed → write, committing atomically as it goes."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field
from tqdm import tqdm

from index.manifest import EmbedderRecord
from index.writer import IndexWriter
from rag import __version__
from rag.chunk import Chunker
from rag.embed.base import Embedder
from rag.ingest.readers import IngestError, count_records, expand_paths, read_articles
from rag.ingest.validation import DEFAULT_MAX_ARTICLE_BYTES
from rag.models import Article
from rag.lexical import sentence_term_counts
from rag.text import sentence_spans


class IngestSummary(BaseModel):
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    chunks: int = 0
    sentences: int = 0
    seconds: float = 0.0
    errors: list[IngestError] = Field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.added} added, {self.replaced} replaced, {self.unchanged} unchanged (skipped), "
            f"{self.chunks} chunks, {self.sentences} sentences embedded, {len(self.errors)} errors, "
            f"{self.seconds:.1f} s"
        )


def embedding_text(article: Article, chunk_text: str) -> str:
    """Chunks are embedded with their headline: a paragraph alone often never names its subject."""
    return f"{article.title}\n{chunk_text}" if article.title else chunk_text


class Ingestor:
    def __init__(self, embedder: Embedder, chunker: Chunker, checkpoint_seconds: float = 120.0,
                 max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES, embed_batch: int = 32) -> None:
        """`embed_batch`: articles embedded per call (their chunks and sentences together)."""
        self.embedder = embedder
        self.embed_batch = max(1, embed_batch)
        self.chunker = chunker
        self.checkpoint_seconds = checkpoint_seconds
        self.max_article_bytes = max_article_bytes

    def ingest_paths(
        self, paths: list[Path], index_dir: Path, progress: bool = True
    ) -> IngestSummary:
        files, errors = expand_paths(paths)
        summary = self.ingest_articles(read_articles(files, self.max_article_bytes), index_dir, progress=progress, total=count_records(files))
        summary.errors = errors + summary.errors
        return summary

    def ingest_articles(
        self,
        articles,
        index_dir: Path,
        progress: bool = True,
        total: int | None = None,
        on_commit: Callable[[IngestSummary], None] | None = None,
    ) -> IngestSummary:
        started = time.perf_counter()
        summary = IngestSummary()
        spec = self.embedder.spec
        record = EmbedderRecord(backend=spec.backend, model=spec.model, dim=spec.dim)
        with IndexWriter(index_dir, record, self.chunker.describe(), __version__,
                         term_counter=sentence_term_counts) as writer:
            last_commit = time.perf_counter()
            bar = tqdm(articles, desc="ingest", unit="article", disable=not progress, total=total)
            batch: list[Article] = []
            for item in bar:
                if isinstance(item, IngestError):
                    summary.errors.append(item)
                    continue
                if any(a.id == item.id for a in batch):  # a later version of one article: in order
                    self.ingest_batch(batch, writer, summary)
                    batch = []
                batch.append(item)
                if len(batch) < self.embed_batch:
                    continue
                self.ingest_batch(batch, writer, summary)
                batch = []
                bar.set_postfix(added=summary.added, skipped=summary.unchanged, chunks=summary.chunks, refresh=False)
                if writer.pending and time.perf_counter() - last_commit > self.checkpoint_seconds:
                    writer.commit()
                    writer.merge()
                    last_commit = time.perf_counter()
                    if on_commit:
                        on_commit(summary)
            self.ingest_batch(batch, writer, summary)
            bar.close()
            if writer.pending or writer.never_committed:
                writer.commit()
            writer.merge()
        summary.seconds = time.perf_counter() - started
        return summary

    def content_hash(self, article: Article) -> str:
        payload = article.model_dump_json() + repr(sorted(self.chunker.describe().items()))
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def ingest_one(self, article: Article, writer: IndexWriter, summary: IngestSummary) -> None:
        """Chunk, embed and stage one article in an open writer (committed by the caller)."""
        self.ingest_batch([article], writer, summary)

    def ingest_batch(self, articles: list[Article], writer: IndexWriter, summary: IngestSummary) -> None:
        """Chunk, embed and stage articles with one embedder call for all their chunks and one for all
        their sentences: a GPU wants hundreds of passages per call, and a CPU model loses nothing."""
        todo = []
        for article in articles:
            digest = self.content_hash(article)
            previous = writer.content_hash(article.id)
            if previous == digest:
                summary.unchanged += 1
                continue
            todo.append((article, digest, previous, self.chunker.split(article), sentence_spans(article.text)))
        if not todo:
            return
        chunk_texts = [embedding_text(a, c.text) for a, _, _, chunks, _ in todo for c in chunks]
        sentence_texts = [a.text[s:e] for a, _, _, _, spans in todo for s, e in spans]
        chunk_vectors = self.embedder.encode_passages(chunk_texts)
        sentence_vectors = self.embedder.encode_passages(sentence_texts)
        chunk_at = sentence_at = 0
        for article, digest, previous, chunks, sentences in todo:
            writer.put(article, digest, [(c.start, c.end) for c in chunks],
                       chunk_vectors[chunk_at:chunk_at + len(chunks)], sentences,
                       sentence_vectors[sentence_at:sentence_at + len(sentences)])
            chunk_at += len(chunks)
            sentence_at += len(sentences)
            summary.chunks += len(chunks)
            summary.sentences += len(sentences)
            if previous is None:
                summary.added += 1
            else:
                summary.replaced += 1
