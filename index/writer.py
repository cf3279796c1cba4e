"""Changing an index: replace or delete articles, then commit; a commit costs what it adds.

One SQLite transaction per commit carries the documents, word statistics, duplicate groups,
tombstones, the new segment's name and the lexical changes' log; the new vectors are appended
to the float16 matrices and sealed into one small segment file before that transaction commits.
Then the lexical index (tantivy) takes the same changes. Nothing already in the archive is
copied or rebuilt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from index import duplicates
from index.directory import IndexDirectory, IndexOutdatedError, crash_point
from index.lexical import LEXICAL_DIR, LexicalIndex, analysed, indexed_terms
from index.manifest import EmbedderMismatchError, EmbedderRecord, Manifest
from index.merge import merge_segments
from index.records import Article, SegmentRow
from index.store import DocumentStore
from index.vectors import VectorMatrix, build_segment

# (article text, sentence spans) -> {word: number of the article's sentences that contain it}
TermCounter = Callable[[str, list[tuple[int, int]]], dict[str, int]]

log = logging.getLogger("kabar.index")

# A segment file replaced by a merge stays this long: a reader may be opening it right now.
RETIRED_GRACE_SECONDS = 60.0


class IndexWriter:
    """The only way to change an index. Holds the directory's lock from open to close.

    Anything not committed when the process dies is simply never seen: the next writer cuts
    the vector rows and removes the segment files that no committed transaction names.
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
            if self.directory.format() == 1:
                raise IndexOutdatedError(
                    f"index {path} was written by an older Kabar (format 1); run `kabar migrate --index {path}` "
                    "once to convert it, then write to it again")
            self.store = DocumentStore.open_writable(self.directory.docs)
            raw = self.store.get_meta("manifest")
            if raw is not None:
                recorded = Manifest.model_validate_json(raw).embedder
                if (recorded.backend, recorded.model) != (embedder.backend, embedder.model):
                    raise EmbedderMismatchError(
                        f"index {path} was built with {recorded.backend}:{recorded.model}; cannot add vectors "
                        f"from {embedder.backend}:{embedder.model}. Use the same embedder or a new --index."
                    )
            self.embedder = embedder
            self.chunking = chunking
            self.version = version
            self.chunk_matrix = VectorMatrix(self.directory.vector_file("chunks"), embedder.dim)
            self.sentence_matrix = VectorMatrix(self.directory.vector_file("sentences"), embedder.dim)
            self.removed_leftovers = self._remove_leftovers()
            self.lexical = LexicalIndex(self.directory.path / LEXICAL_DIR)
            self._catch_up_lexical()
            self._start()
        except BaseException:
            if hasattr(self, "store"):
                self.store.close()
            IndexDirectory.unlock(self._lock_fd)
            raise

    def _remove_leftovers(self) -> list[str]:
        removed = remove_leftovers(self.directory, self.store, self.embedder.dim)
        self._delete_retired(time.time() - RETIRED_GRACE_SECONDS)
        return removed

    def _catch_up_lexical(self) -> None:
        """Apply what a writer that died after its SQLite commit did not get to apply to the lexical index."""
        committed = self._lexical_held = self.store.commit_number()
        if committed == 0:
            return
        held = self.lexical.commit_number()
        if held is None:  # never built (an index migrated or repaired without it): from the stored text
            self.lexical.rebuild(analysed(self.store.chunk_documents()), committed)
            return
        final = dict(self.store.lexical_log_after(held))  # a chunk's last operation is the one that counts
        if not final:
            return
        added = list(analysed(self.store.chunk_documents_for([i for i, op in final.items() if op == "add"])))
        self.lexical.apply(added, [i for i, op in final.items() if op == "delete"], committed)

    def _delete_retired(self, before: float) -> None:
        names = self.store.retired_before(before)
        for name in names:
            (self.directory.segments / name).unlink(missing_ok=True)
        if names:
            self.store.forget_retired(names)
            self.store.commit()

    def _start(self) -> None:
        self.counts = self.store.stored_counts()
        self.pending = 0
        self._new_chunks: dict[int, npt.NDArray[np.float32]] = {}
        self._words_added: dict[int, str] = {}
        self._words_deleted: list[int] = []
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
        if len(chunk_vectors) != len(chunk_spans) or len(sentence_vectors) != len(sentence_spans):
            raise ValueError(f"article {article.id}: one vector per chunk and per sentence is needed")
        self.delete(article.id)
        self.store.put_article(article, content_hash)
        if self.term_counter is not None:
            self.store.add_term_counts(self.term_counter(article.text, sentence_spans))
        else:
            self.store.reset_term_counts()  # counts can no longer be trusted; the next counting writer redoes them
        chunk_ids = []
        for ordinal, (start, end) in enumerate(chunk_spans):
            chunk_id = self.store.add_chunk(article.id, ordinal, start, end)
            self._words_added[chunk_id] = indexed_terms(article.title, article.text[start:end])
            chunk_ids.append(chunk_id)
        self.store.log_lexical(self.store.commit_number() + 1, chunk_ids, "add")
        sentence_ids = [self.store.add_sentence(article.id, s, e) for s, e in sentence_spans]
        _write_rows(self.chunk_matrix, chunk_ids, chunk_vectors)
        _write_rows(self.sentence_matrix, sentence_ids, sentence_vectors)
        for chunk_id, vector in zip(chunk_ids, np.asarray(chunk_vectors, dtype=np.float32)):
            self._new_chunks[chunk_id] = vector
        duplicates.add_article(self.store, article.id, article.text)
        self.counts["articles"] += 1
        self.counts["chunks"] += len(chunk_ids)
        self.counts["sentences"] += len(sentence_ids)
        self.pending += 1

    def delete(self, article_id: str) -> bool:
        if self.term_counter is None:
            self.store.reset_term_counts()
        elif (old := self.store.article_sentences(article_id)) is not None:
            self.store.add_term_counts(self.term_counter(*old), sign=-1)
        existed = self.store.content_hash(article_id) is not None
        if existed:
            duplicates.remove_article(self.store, article_id)
        chunk_ids, sentence_ids = self.store.delete_article(article_id)
        sealed = [i for i in chunk_ids if self._new_chunks.pop(i, None) is None]
        self.store.add_tombstones(sealed)
        for chunk_id in chunk_ids:
            if self._words_added.pop(chunk_id, None) is None:
                self._words_deleted.append(chunk_id)
        self.store.log_lexical(self.store.commit_number() + 1, chunk_ids, "delete")
        if existed:
            self.counts["articles"] -= 1
            self.counts["chunks"] -= len(chunk_ids)
            self.counts["sentences"] -= len(sentence_ids)
            self.pending += 1
        return existed

    def commit(self) -> Manifest:
        """Make everything so far visible and durable at once: one SQLite commit."""
        self.chunk_matrix.sync()
        self.sentence_matrix.sync()
        crash_point("vectors-written")
        if self._new_chunks:
            ids = np.fromiter(self._new_chunks, dtype=np.int64)
            vectors = np.stack(list(self._new_chunks.values()))
            number = int(self.store.get_meta("segment_seq") or 0) + 1
            name = f"seg-{number:08d}.faiss"
            kind = build_segment(self.directory.segments / name, ids, vectors)
            self.directory.sync_segments()
            crash_point("segment-written")
            self.store.add_segment(SegmentRow(name=name, first_id=int(ids.min()), last_id=int(ids.max()),
                                              vectors=len(ids), kind=kind))
            self.store.set_meta("segment_seq", str(number))
        self.store.prune_lexical_log(self._lexical_held)  # what the lexical index already holds
        manifest = self._record_commit()
        self.store.commit()
        crash_point("store-committed")
        # The commit is made; the lexical index follows (a failure here is caught up by the next writer).
        try:
            self.lexical.apply(list(self._words_added.items()), self._words_deleted, manifest.generation)
            self._lexical_held = manifest.generation
        except (OSError, ValueError, RuntimeError) as exc:
            log.error("commit %s is saved, but the lexical index could not take it (%s); the next writer "
                      "or `kabar check --repair` applies it", manifest.generation, exc)
        crash_point("lexical-applied")
        if self.directory.format() is None:
            self.directory.write_embedder(self.embedder.model_dump_json())
            self.directory.mark_format()
        self._new_chunks = {}
        self._words_added, self._words_deleted = {}, []
        self.pending = 0
        return manifest

    @property
    def never_committed(self) -> bool:
        """A new index: its first commit creates it, even with nothing in it."""
        return self.store.commit_number() == 0

    def _record_commit(self) -> Manifest:
        number = self.store.commit_number() + 1
        manifest = Manifest(
            generation=number, embedder=self.embedder, chunking=self.chunking, kabar_version=self.version,
            articles=self.counts["articles"], chunks=self.counts["chunks"], sentences=self.counts["sentences"],
        )
        self.store.set_meta("manifest", manifest.model_dump_json())
        self.store.set_meta("commit", str(number))
        self.store.set_counts(self.counts)
        return manifest

    def merge(self, everything: bool = False) -> list[str]:
        """Merge segments by the size-tiered policy (or all into one); returns the merged files' names.

        Run after a commit (an ingest ends with one); committed work only.
        """
        if self._new_chunks or self.pending:
            raise RuntimeError("commit before merging")
        merged = merge_segments(self.store, self.directory, self.chunk_matrix, everything, self._record_commit)
        self._delete_retired(time.time() - RETIRED_GRACE_SECONDS)
        return merged

    def close(self) -> None:
        """Release the lock; uncommitted work is discarded (its vector rows are cut by the next writer)."""
        try:
            self.store.rollback()
            self.store.close()
        finally:
            IndexDirectory.unlock(self._lock_fd)

    def __enter__(self) -> IndexWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _write_rows(matrix: VectorMatrix, ids: list[int], vectors: npt.NDArray[np.float32]) -> None:
    """Ids of one article are consecutive (one writer, AUTOINCREMENT); written as one block."""
    if not ids:
        return
    if ids[-1] - ids[0] + 1 != len(ids):
        for one, vector in zip(ids, vectors):
            matrix.write(one, np.asarray(vector).reshape(1, -1))
        return
    matrix.write(ids[0], vectors)


def remove_leftovers(directory: IndexDirectory, store: DocumentStore, dim: int) -> list[str]:
    """Under the writer lock, what a dead writer left: vector rows past the last commit, segment files no
    commit names (sealed, then the power went). None of it was acknowledged."""
    removed = []
    last = store.last_ids()
    for name in ("chunks", "sentences"):
        matrix = VectorMatrix(directory.vector_file(name), dim)
        if matrix.truncate(last[name]):
            removed.append(f"cut uncommitted rows from {matrix.path.name}")
    known = {row.name for row in store.segments()} | set(store.retired_before(float("inf")))
    if directory.segments.is_dir():
        for item in directory.segments.iterdir():
            if item.name not in known:
                item.unlink()
                removed.append(f"removed {item.name} (no commit names it)")
    return removed
