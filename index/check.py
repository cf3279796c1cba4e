"""`kabar check`: is an index whole, and if not, back to the last generation that is.

Checks the live generation end to end: CURRENT names a generation of this directory, the
manifest reads, SQLite passes its integrity check, both FAISS files load, and the ids agree
everywhere (store chunks = chunk vectors = BM25 rows, store sentences = sentence vectors).
`repair` takes the writer lock, removes a dead writer's leftovers and, when the live generation
is damaged, points CURRENT at the newest older generation that passes the same checks.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from index.directory import IndexCorruptError, IndexDirectory
from index.snapshot import Snapshot, SnapshotError


class CheckReport(BaseModel):
    index: str
    generation: str | None = None
    problems: list[str] = Field(default_factory=list)
    repaired: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def generation_problems(generation: Path) -> list[str]:
    """Everything wrong with one generation; empty when it is whole."""
    try:
        snapshot = Snapshot(generation)
    except (SnapshotError, FileNotFoundError) as exc:
        return [str(exc)]
    problems = []
    try:
        if verdict := snapshot.store.integrity_problem():
            problems.append(f"{generation / 'docs.sqlite'} fails SQLite's integrity check: {verdict}")
        chunk_ids = np.array(snapshot.store.chunk_ids(), dtype=np.int64)
        sentence_ids = np.array(snapshot.store.sentence_ids(), dtype=np.int64)
    except sqlite3.DatabaseError as exc:
        snapshot.close()
        return [f"{generation / 'docs.sqlite'} is damaged: {exc}"]
    for name, vectors, ids in (("chunks.faiss", snapshot.chunk_vectors, chunk_ids),
                               ("sentences.faiss", snapshot.sentence_vectors, sentence_ids)):
        stored = np.sort(vectors.ids())
        if not np.array_equal(stored, ids):
            problems.append(f"{generation / name} holds other ids than docs.sqlite "
                            f"({len(np.setdiff1d(ids, stored))} missing, {len(np.setdiff1d(stored, ids))} extra)")
    if not np.array_equal(np.sort(snapshot.lexical.ids), chunk_ids):
        problems.append(f"{generation / 'bm25'} holds other chunk ids than docs.sqlite")
    snapshot.close()
    return problems


def check_index(path: Path, repair: bool = False) -> CheckReport:
    directory = IndexDirectory(path)
    report = CheckReport(index=str(path))
    if not path.is_dir():
        report.problems.append(f"no index directory at {path}")
        return report
    try:
        live = directory.current_generation()
    except IndexCorruptError as exc:
        live = None
        report.problems.append(str(exc))
    else:
        if live is None and not directory.generations():
            report.problems.append(f"no index at {path}: run `kabar ingest PATH --index {path}` first")
            return report
    if live is not None:
        report.generation = live.name
        report.problems.extend(generation_problems(live))
    if not repair:
        return report
    lock = directory.lock()
    try:
        # Unpublished generations are only known to be leftovers when CURRENT itself reads.
        current_reads = live is not None
        report.repaired.extend(f"removed {name}" for name in directory.remove_leftovers(live, current_reads))
        if report.problems:
            for candidate in reversed(directory.generations()):
                if candidate == live or generation_problems(candidate):
                    continue
                directory.point_at(candidate)
                report.repaired.append(f"CURRENT now names {candidate.name}, the newest whole generation")
                report.generation = candidate.name
                report.problems = []
                break
            else:
                report.problems.append("no older generation passes the checks: restore the index from a backup "
                                       "or re-ingest the articles")
    finally:
        IndexDirectory.unlock(lock)
    return report
