"""Background ingest and delete jobs for a running server.

One worker thread applies jobs in order. Jobs that queued up while it was busy are applied
together, in order, through one `IndexWriter` and published by one commit: a newsroom posting
documents one by one pays one commit per batch, not per document. A job that fails is taken
out of its batch and the rest are applied again, so one bad job never takes others with it.
Queries keep being answered from the last committed generation and see the new one as soon
as it is published. The queue is bounded (`QueueFullError`, which the API answers with 503
and Retry-After); job records live in memory, bounded too: what is durable is the index
itself, and a job reports `succeeded` only after its commit.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from index.directory import IndexLockedError
from index.manifest import EmbedderRecord
from index.writer import IndexWriter
from rag import __version__
from rag.ingest.pipeline import Ingestor, IngestSummary
from rag.lexical import sentence_term_counts
from rag.models import Article

JobState = Literal["queued", "running", "succeeded", "failed"]
KEEP_JOBS = 1000
LOCK_RETRIES = 20
MAX_BATCH_DOCUMENTS = 2000  # one commit covers at most this many queued documents


class QueueFullError(RuntimeError):
    """Too many documents are waiting to be written; the client should retry later."""


class _JobFailed(Exception):
    def __init__(self, job: Job, cause: Exception) -> None:
        super().__init__(str(cause))
        self.job, self.cause = job, cause


class Job(BaseModel):
    id: str
    kind: Literal["ingest", "delete"]
    state: JobState = "queued"
    submitted_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    finished_at: dt.datetime | None = None
    documents: int
    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    deleted: int = 0
    not_found: int = 0
    chunks: int = 0
    errors: list[str] = Field(default_factory=list)


class JobQueue:
    def __init__(self, ingestor: Ingestor, index_dir: Path, on_commit: Callable[[Job], None] | None = None,
                 max_queued_documents: int = 20_000) -> None:
        self._ingestor = ingestor
        self._index_dir = index_dir
        self._on_commit = on_commit
        self._max_queued = max_queued_documents
        self._queued_documents = 0
        self._queue: queue.Queue[tuple[Job, list[Article] | list[str]] | None] = queue.Queue()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._worker = threading.Thread(target=self._run, name="kabar-jobs", daemon=True)
        self._worker.start()

    def submit_articles(self, articles: list[Article], errors: list[str] | None = None) -> Job:
        return self._submit(Job(id=uuid.uuid4().hex, kind="ingest", documents=len(articles),
                                errors=list(errors or [])), articles)

    def submit_delete(self, article_ids: list[str]) -> Job:
        return self._submit(Job(id=uuid.uuid4().hex, kind="delete", documents=len(article_ids)), article_ids)

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return job.model_copy() if job else None

    def close(self) -> None:
        self._queue.put(None)
        self._worker.join(timeout=30)

    @property
    def queued_documents(self) -> int:
        with self._lock:
            return self._queued_documents

    def _submit(self, job: Job, payload: list) -> Job:
        with self._lock:
            if self._queued_documents + len(payload) > self._max_queued:
                raise QueueFullError(f"{self._queued_documents} documents are waiting to be written (at most "
                                     f"{self._max_queued}); retry in a few seconds")
            self._queued_documents += len(payload)
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP_JOBS:
                self._jobs.popitem(last=False)
        self._queue.put((job, payload))
        return job.model_copy()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            batch = [item]
            size = len(item[1])
            stop = False
            while size < MAX_BATCH_DOCUMENTS:
                try:
                    queued = self._queue.get_nowait()
                except queue.Empty:
                    break
                if queued is None:
                    stop = True
                    break
                batch.append(queued)
                size += len(queued[1])
            self._run_batch(batch)
            if stop:
                break

    def _run_batch(self, batch: list[tuple[Job, list]]) -> None:
        for job, _ in batch:
            self._update(job, state="running")
        pending = list(batch)
        while pending:
            try:
                for attempt in range(LOCK_RETRIES):
                    try:
                        self._apply(pending)
                        break
                    except IndexLockedError:
                        if attempt == LOCK_RETRIES - 1:
                            raise
                        time.sleep(0.5)
            except _JobFailed as failed:  # take the bad job out and write the others again
                self._finish(failed.job, error=failed.cause)
                pending = [(job, payload) for job, payload in pending if job is not failed.job]
                continue
            except Exception as exc:  # the commit itself failed: no job of the batch was written
                for job, _ in pending:
                    self._finish(job, error=exc)
                return
            for job, _ in pending:
                self._finish(job)
            return

    def _finish(self, job: Job, error: Exception | None = None) -> None:
        if error is None:
            self._update(job, state="succeeded")
            if self._on_commit:
                self._on_commit(job)
        else:
            self._update(job, state="failed", error=f"{type(error).__name__}: {error}")
        self._update(job, finished=True)
        with self._lock:
            self._queued_documents -= job.documents

    def _apply(self, batch: list[tuple[Job, list]]) -> None:
        """Every job of the batch in one writer, in order, then one commit."""
        spec = self._ingestor.embedder.spec
        record = EmbedderRecord(backend=spec.backend, model=spec.model, dim=spec.dim)
        with IndexWriter(self._index_dir, record, self._ingestor.chunker.describe(), __version__,
                         term_counter=sentence_term_counts) as writer:
            counts: list[tuple[Job, dict[str, int]]] = []
            for job, payload in batch:
                try:
                    if job.kind == "ingest":
                        summary = IngestSummary()
                        for article in payload:
                            self._ingestor.ingest_one(article, writer, summary)
                        counts.append((job, {"added": summary.added, "replaced": summary.replaced,
                                             "unchanged": summary.unchanged, "chunks": summary.chunks}))
                    else:
                        deleted = sum(1 for article_id in payload if writer.delete(article_id))
                        counts.append((job, {"deleted": deleted, "not_found": len(payload) - deleted}))
                except IndexLockedError:
                    raise
                except Exception as exc:
                    raise _JobFailed(job, exc) from exc
            if writer.pending or writer.never_committed:
                writer.commit()
                writer.merge()
        for job, numbers in counts:
            self._update(job, **numbers)

    def _update(self, job: Job, state: JobState | None = None, error: str | None = None, finished: bool = False,
                **counts: int) -> None:
        with self._lock:
            if state:
                job.state = state
            if error:
                job.errors.append(error)
            if finished:
                job.finished_at = dt.datetime.now(dt.timezone.utc)
            for name, value in counts.items():
                setattr(job, name, value)
