"""Size-tiered merging of vector segments (as in Lucene, Cassandra, Milvus).

Every commit seals one small segment, so segments multiply; a question searches each of them.
A segment's tier is the order of magnitude of its size (in MERGE_FACTOR steps); a run of
MERGE_FACTOR neighbouring segments of one tier is merged into one segment of the next tier, so
every vector is rewritten about log(N) times in all, and a one-article commit never pays for the
archive. Segments cover consecutive id ranges and only neighbours merge, so a segment is
always "the live chunks with ids first_id..last_id": a merge reads them from the vector matrix,
leaves out deleted ones (and their tombstones go), and picks the index type for its new size.

A merge is one more commit: the new file is sealed first, then one transaction swaps the
segment rows. Killed midway, the old segments stay in force and the new file is a leftover.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from index.directory import IndexDirectory, crash_point
from index.records import SegmentRow
from index.store import DocumentStore
from index.vectors import VectorMatrix, build_segment

MERGE_FACTOR = 10
MAX_SEGMENTS = 40  # past this many, the cheapest neighbouring run is merged whatever its tiers


def tier(vectors: int) -> int:
    return int(math.log(max(vectors, 1), MERGE_FACTOR))


def plan(segments: list[SegmentRow], everything: bool = False) -> list[SegmentRow] | None:
    """The next run of neighbouring segments to merge, or None."""
    if everything:
        return segments if len(segments) > 1 else None
    run: list[SegmentRow] = []
    for segment in segments:
        if run and tier(segment.vectors) != tier(run[-1].vectors):
            run = []
        run.append(segment)
        if len(run) >= MERGE_FACTOR:
            return run
    if len(segments) > MAX_SEGMENTS:
        windows = [segments[i:i + MERGE_FACTOR] for i in range(len(segments) - MERGE_FACTOR + 1)]
        return min(windows, key=lambda w: sum(s.vectors for s in w))
    return None


def merge_segments(store: DocumentStore, directory: IndexDirectory, matrix: VectorMatrix, everything: bool,
                   record_commit: Callable[[], object]) -> list[str]:
    """Merge until the policy is satisfied; returns the names of the segments merged away."""
    merged: list[str] = []
    while True:
        segments = store.segments()
        if everything and len(segments) == 1 and store.tombstones_between(segments[0].first_id, segments[0].last_id):
            run = segments  # one segment, rewritten without its deleted vectors
        else:
            run = plan(segments, everything)
        if not run:
            return merged
        first_id, last_id = run[0].first_id, run[-1].last_id
        ids = np.asarray(store.chunk_ids_between(first_id, last_id), dtype=np.int64)
        reader = matrix.reader(store.last_ids()["chunks"])
        vectors = reader.get(ids) if len(ids) else np.zeros((0, matrix.dim), dtype=np.float32)
        number = int(store.get_meta("segment_seq") or 0) + 1
        name = f"seg-{number:08d}.faiss"
        kind = build_segment(directory.segments / name, ids, vectors)
        directory.sync_segments()
        crash_point("merge-segment-written")
        store.retire_segments([s.name for s in run], time.time())
        if len(ids):
            store.add_segment(SegmentRow(name=name, first_id=first_id, last_id=last_id, vectors=len(ids), kind=kind))
        else:
            (directory.segments / name).unlink()
        store.clear_tombstones(first_id, last_id)
        store.set_meta("segment_seq", str(number))
        record_commit()
        store.commit()
        crash_point("merge-committed")
        merged.extend(s.name for s in run)
        if everything and len(store.segments()) <= 1:
            return merged
