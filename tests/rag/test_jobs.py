"""The write queue: bounded, and documents queued together are committed together."""

from __future__ import annotations

import threading
import time

import pytest

from index import Snapshot
from rag.chunk import Chunker
from rag.embed.hashing import HashingEmbedder
from rag.ingest.pipeline import Ingestor
from rag.jobs import JobQueue, QueueFullError
from rag.models import Article


class SlowEmbedder(HashingEmbedder):
    """Holds the worker on its first job so that the next ones queue up behind it."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def encode_passages(self, texts):
        self.release.wait(timeout=30)
        return super().encode_passages(texts)


def article(i: int, text: str | None = None) -> Article:
    return Article(id=f"doc-{i}", text=text or f"Banjir melanda kota nomor {i}. Warga mengungsi ke sekolah.")


def wait_all(queue: JobQueue, jobs) -> list:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states = [queue.get(job.id) for job in jobs]
        if all(s.state in ("succeeded", "failed") for s in states):
            return states
        time.sleep(0.02)
    raise AssertionError("jobs did not finish")


def test_documents_queued_behind_a_running_job_share_one_commit(tmp_path):
    embedder = SlowEmbedder()
    queue = JobQueue(Ingestor(embedder, Chunker(200, 20)), tmp_path)
    first = queue.submit_articles([article(0)])
    time.sleep(0.2)  # the worker holds job 0
    rest = [queue.submit_articles([article(i)]) for i in range(1, 21)]
    embedder.release.set()
    states = wait_all(queue, [first, *rest])
    assert all(s.state == "succeeded" and s.added == 1 for s in states)
    # Job 0 alone, then one commit for the 20 that queued behind it.
    assert Snapshot.open(tmp_path).version == 2
    assert Snapshot.open(tmp_path).manifest.articles == 21
    queue.close()


def test_a_failing_job_does_not_take_the_rest_of_its_batch_with_it(tmp_path):
    embedder = SlowEmbedder()
    ingestor = Ingestor(embedder, Chunker(200, 20))
    original = ingestor.ingest_one

    def fragile(item, writer, summary):
        if item.id == "doc-3":
            raise ValueError("embedding failed")
        return original(item, writer, summary)

    ingestor.ingest_one = fragile
    queue = JobQueue(ingestor, tmp_path)
    first = queue.submit_articles([article(0)])
    time.sleep(0.2)
    rest = [queue.submit_articles([article(i)]) for i in range(1, 6)]
    embedder.release.set()
    states = {s.documents and s.id: s for s in wait_all(queue, [first, *rest])}
    failed = [s for s in states.values() if s.state == "failed"]
    assert len(failed) == 1 and "embedding failed" in failed[0].errors[0]
    stored = {a.id for a in Snapshot.open(tmp_path).store.iter_articles()}
    assert stored == {f"doc-{i}" for i in (0, 1, 2, 4, 5)}
    queue.close()


def test_a_full_queue_refuses_more_work_with_a_reason(tmp_path):
    embedder = SlowEmbedder()
    queue = JobQueue(Ingestor(embedder, Chunker(200, 20)), tmp_path, max_queued_documents=5)
    accepted = [queue.submit_articles([article(i)]) for i in range(5)]
    with pytest.raises(QueueFullError, match="waiting to be written"):
        queue.submit_articles([article(99)])
    embedder.release.set()
    wait_all(queue, accepted)
    assert queue.queued_documents == 0
    queue.submit_articles([article(100)])  # room again once written
    queue.close()
