"""`kabar check`: is an index whole, and if not, what can be rebuilt from what it still holds.

Checks end to end: FORMAT reads, SQLite passes its integrity check, the newest commit opens,
the kept counts match the rows, every live chunk has exactly one vector in exactly one
segment (tombstones aside), the lexical index has one row per chunk, and the vector matrices
hold a row for every committed id.

`repair` takes the writer lock, removes a dead writer's leftovers, and rebuilds what is derived:
a missing or damaged segment from the vector matrix, the lexical index from the stored text,
the counts from the rows, FORMAT from a database that holds a manifest. What is not derived
(a damaged database, vector rows that are gone) it reports with what to do instead.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from index.directory import IndexCorruptError, IndexDirectory, IndexOutdatedError
from index.lexical import LEXICAL_DIR, LexicalIndex, analysed
from index.manifest import Manifest
from index.records import SegmentRow
from index.snapshot import Snapshot, SnapshotError
from index.store import DocumentStore
from index.writer import remove_leftovers
from index.vectors import Segment, VectorMatrix, build_segment


class CheckReport(BaseModel):
    index: str
    generation: str | None = None  # the commit that was checked ("commit 12")
    problems: list[str] = Field(default_factory=list)
    repaired: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def index_problems(path: Path) -> tuple[list[str], str | None]:
    """Everything wrong with the index, and the commit checked; no problems when it is whole."""
    directory = IndexDirectory(path)
    try:
        snapshot = Snapshot(path)
    except (SnapshotError, FileNotFoundError, IndexCorruptError, IndexOutdatedError) as exc:
        return [str(exc)], None
    except sqlite3.DatabaseError as exc:
        return [f"{directory.docs} is damaged: {exc}"], None
    problems: list[str] = []
    store = snapshot.store
    try:
        if verdict := store.integrity_problem():
            problems.append(f"{directory.docs} fails SQLite's integrity check: {verdict}")
        counts = store.counts()
        kept = store.stored_counts()
        if counts != {k: kept.get(k) for k in counts}:
            problems.append(f"{directory.docs} keeps counts {kept} where its rows number {counts}")
        chunk_ids = np.array(store.chunk_ids(), dtype=np.int64)
        lexical = LexicalIndex(directory.path / LEXICAL_DIR, readonly=True)
        held = lexical.commit_number()
        if held is None or store.lexical_log_after(held):
            problems.append(f"{directory.path / LEXICAL_DIR} lacks the changes of commits after {held}")
        elif not np.array_equal(np.array(lexical.ids(), dtype=np.int64), chunk_ids):
            problems.append(f"{directory.path / LEXICAL_DIR} holds other chunk ids than {directory.docs}")
        tombstones = np.array(store.tombstones(), dtype=np.int64)
    except sqlite3.DatabaseError as exc:
        snapshot.close()
        return [f"{directory.docs} is damaged: {exc}"], snapshot.label
    held = [segment.ids() for segment in snapshot.chunk_vectors.segments]
    everything = np.concatenate(held) if held else np.zeros(0, dtype=np.int64)
    if len(np.unique(everything)) != len(everything):
        problems.append(f"{directory.segments} holds some chunk vectors twice")
    live = np.setdiff1d(everything, tombstones)
    missing, extra = np.setdiff1d(chunk_ids, live), np.setdiff1d(live, chunk_ids)
    if len(missing) or len(extra):
        problems.append(f"{directory.segments} holds other chunk ids than {directory.docs} "
                        f"({len(missing)} missing, {len(extra)} extra)")
    snapshot.close()
    return problems, snapshot.label


def check_index(path: Path, repair: bool = False) -> CheckReport:
    directory = IndexDirectory(path)
    report = CheckReport(index=str(path))
    if not path.is_dir():
        report.problems.append(f"no index directory at {path}")
        return report
    try:
        found = directory.format()
    except IndexCorruptError as exc:
        found = 2 if directory.docs.is_file() else None
        report.problems.append(str(exc))
        if not repair:
            return report
    if found is None and not report.problems:
        report.problems.append(f"no index at {path}: run `kabar ingest PATH --index {path}` first")
        return report
    if found == 1:
        report.problems.append(f"index {path} is in the older format 1: run `kabar migrate --index {path}`")
        return report
    if not report.problems:
        report.problems, report.generation = index_problems(path)
    if not repair:
        return report
    lock = directory.lock()
    try:
        report.repaired.extend(_repair(directory))
    finally:
        IndexDirectory.unlock(lock)
    report.problems, report.generation = index_problems(path)
    return report


def _repair(directory: IndexDirectory) -> list[str]:
    done: list[str] = []
    try:
        store = DocumentStore.open_writable(directory.docs)
    except sqlite3.DatabaseError as exc:
        return [f"cannot open {directory.docs} ({exc}): restore it from a backup or re-ingest the articles"]
    try:
        if store.integrity_problem():
            return [f"{directory.docs} is damaged beyond what can be rebuilt: restore it from a backup or "
                    "re-ingest the articles"]
        raw = store.get_meta("manifest")
        if raw is None:
            return ["the database names no embedder (it was never committed): re-ingest the articles"]
        manifest = Manifest.model_validate_json(raw)
        dim = manifest.embedder.dim
        last = store.last_ids()
        matrix = VectorMatrix(directory.vector_file("chunks"), dim)
        done.extend(remove_leftovers(directory, store, dim))
        for name in ("chunks", "sentences"):
            one = VectorMatrix(directory.vector_file(name), dim)
            if one.rows_on_disk() < last[name]:
                return done + [f"{one.path} lacks vectors of committed {name}: re-ingest the articles "
                               "(`kabar ingest` them again into a new --index)"]
        reader = matrix.reader(last["chunks"])
        for row in store.segments():
            try:
                Segment.load(directory.segments, row)
                continue
            except (RuntimeError, OSError):
                pass
            ids = np.asarray(store.chunk_ids_between(row.first_id, row.last_id), dtype=np.int64)
            kind = build_segment(directory.segments / row.name, ids, reader.get(ids))
            store.retire_segments([row.name], time.time())
            store.forget_retired([row.name])
            store.add_segment(SegmentRow(name=row.name, first_id=row.first_id, last_id=row.last_id,
                                         vectors=len(ids), kind=kind))
            store.clear_tombstones(row.first_id, row.last_id)
            done.append(f"rebuilt {row.name} from the vector matrix ({len(ids)} vectors)")
        counts = store.counts()
        if store.stored_counts() != counts or (manifest.articles, manifest.chunks, manifest.sentences) != (
                counts["articles"], counts["chunks"], counts["sentences"]):
            store.set_counts(counts)
            store.set_meta("manifest", manifest.model_copy(update=counts).model_dump_json())
            done.append(f"counts set from the rows: {counts}")
        store.commit()
        lexical = LexicalIndex(directory.path / LEXICAL_DIR)
        held = lexical.commit_number()
        if held is None or store.lexical_log_after(held) or lexical.ids() != store.chunk_ids():
            lexical.rebuild(analysed(store.chunk_documents()), store.commit_number())
            store.prune_lexical_log(store.commit_number())
            store.commit()
            done.append("rebuilt the lexical index from the stored text")
    finally:
        store.close()
    try:
        directory.format()
    except IndexCorruptError:
        directory.mark_format()
        done.append("FORMAT rewritten")
    return done
