"""Queries in parallel with ingests and deletes: nothing fails, nothing deleted comes back."""

from __future__ import annotations

import threading
import time

from index.manifest import EmbedderRecord
from index.writer import IndexWriter
from rag.chunk import Chunker
from rag.embed.hashing import HashingEmbedder
from rag.ingest.pipeline import Ingestor
from rag.models import Article
from rag.service import Kabar
from rag.settings import Settings

K = 5


def article(i: int) -> Article:
    return Article(id=f"a{i}", title=f"Pemilu {i}", text=f"Berita pemilu daerah nomor {i} dihitung ulang hari ini.")


def test_parallel_queries_see_whole_generations_and_never_deleted_articles(tmp_path):
    embedder = HashingEmbedder()
    chunker = Chunker()
    ingestor = Ingestor(embedder, chunker)
    ingestor.ingest_articles(iter([article(i) for i in range(40)]), tmp_path, progress=False)
    # The reader is not what this tests (and would cut the number of queries racing the writer).
    service = Kabar(Settings(index_dir=tmp_path, cache_dir=tmp_path / "cache", reader="off"), embedder=embedder)
    record = EmbedderRecord(backend=embedder.spec.backend, model=embedder.spec.model, dim=embedder.spec.dim)

    deleted_at: dict[str, float] = {}  # article id -> when its deletion was committed
    failures: list[str] = []
    stop = threading.Event()
    queries = [0]

    def reader() -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                result = service.ask("berita pemilu daerah dihitung", k=K, mode="default")
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                failures.append(repr(exc))
                continue
            queries[0] += 1
            if len(result.passages) != K:
                failures.append(f"{len(result.passages)} passages instead of {K}")
            for passage in result.passages:
                gone = deleted_at.get(passage.citation.article_id)
                if gone is not None and gone < started:
                    failures.append(f"deleted {passage.citation.article_id} came back")
                article_text = service.article(passage.citation.article_id)
                if article_text is not None and \
                        article_text.text[passage.citation.start:passage.citation.end] != passage.citation.cited_text:
                    failures.append("citation does not match its article")

    def writer() -> None:
        for round_number in range(15):
            fresh = [article(1000 + round_number * 5 + j) for j in range(5)]
            ingestor.ingest_articles(iter(fresh), tmp_path, progress=False)
            victims = [f"a{round_number * 2}", f"a{round_number * 2 + 1}"]
            with IndexWriter(tmp_path, record, chunker.describe()) as index_writer:
                for victim in victims:
                    index_writer.delete(victim)
                index_writer.commit()
            committed = time.monotonic()
            for victim in victims:
                deleted_at[victim] = committed

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for thread in readers:
        thread.start()
    writer()
    stop.set()
    for thread in readers:
        thread.join()
    assert failures == [], failures[:5]
    assert queries[0] > 50
    final = service.snapshot.store.counts()["articles"]
    assert final == 40 + 75 - 30
