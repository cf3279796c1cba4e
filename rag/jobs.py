"""Background ingest and delete jobs for a running server.

One worker thread applies jobs in order, each through an `IndexWriter` (so each job is
one atomic commit); queries keep being answered from the last committed generation
and see the new one as soon as it is published. Job records live in memory, bounded:
what is durable is the index itself, and a job reports `succeeded` only after commit.
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
from rag.ingest.pipeline import Ingestor
from rag.models import Article

JobState = Literal["queued", "running", "succeeded", "failed"]
KEEP_JOBS = 1000
LOCK_RETRIES = 20


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
    def __init__(self, ingestor: Ingestor, index_dir: Path, on_commit: Callable[[Job], None] | None = None) -> None:
        self._ingestor = ingestor
        self._index_dir = index_dir
        self._on_commit = on_commit
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

    def _submit(self, job: Job, payload: list) -> Job:
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP_JOBS:
                self._jobs.popitem(last=False)
        self._queue.put((job, payload))
        return job.model_copy()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            job, payload = item
            self._update(job, state="running")
            try:
                for attempt in range(LOCK_RETRIES):
                    try:
                        self._apply(job, payload)
                        break
                    except IndexLockedError:
                        if attempt == LOCK_RETRIES - 1:
                            raise
                        time.sleep(0.5)
                self._update(job, state="succeeded")
                if self._on_commit:
                    self._on_commit(job)
            except Exception as exc:  # a failed job is reported, never kills the worker
                self._update(job, state="failed", error=f"{type(exc).__name__}: {exc}")
            finally:
                self._update(job, finished=True)

    def _apply(self, job: Job, payload: list) -> None:
        if job.kind == "ingest":
            summary = self._ingestor.ingest_articles(iter(payload), self._index_dir, progress=False)
            self._update(job, added=summary.added, replaced=summary.replaced, unchanged=summary.unchanged,
                         chunks=summary.chunks)
            return
        spec = self._ingestor.embedder.spec
        record = EmbedderRecord(backend=spec.backend, model=spec.model, dim=spec.dim)
        with IndexWriter(self._index_dir, record, self._ingestor.chunker.describe()) as writer:
            deleted = sum(1 for article_id in payload if writer.delete(article_id))
            if deleted:
                writer.commit()
        self._update(job, deleted=deleted, not_found=len(payload) - deleted)

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
