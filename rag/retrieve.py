"""From a question vector to ranked chunks.

`dense` is what every framework does: the chunk vectors, nothing else. `default`
also looks inside each candidate chunk at its sentences: a chunk that holds one
sentence answering the question beats a chunk that is vaguely about the topic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from index.snapshot import Snapshot
from index.store import ChunkRow, SentenceRow

MODES = ("dense", "default")


@dataclass
class Filters:
    published_from: dt.date | None = None
    published_to: dt.date | None = None
    sources: list[str] | None = None

    def active(self) -> bool:
        return bool(self.published_from or self.published_to or self.sources)


@dataclass
class ScoredSentence:
    row: SentenceRow
    score: float


@dataclass
class Candidate:
    chunk: ChunkRow
    dense: float
    score: float = 0.0
    sentences: list[ScoredSentence] = field(default_factory=list)

    @property
    def best_sentence(self) -> ScoredSentence | None:
        return max(self.sentences, key=lambda s: s.score, default=None)


def retrieve(
    snapshot: Snapshot,
    query: npt.NDArray[np.float32],
    *,
    k: int,
    pool: int,
    mode: str = "default",
    filters: Filters | None = None,
    sentence_weight: float = 0.5,
) -> list[Candidate]:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    allowed = None
    if filters and filters.active():
        allowed = np.asarray(
            snapshot.store.chunk_ids_matching(filters.published_from, filters.published_to, filters.sources),
            dtype=np.int64,
        )
    hits = snapshot.chunk_vectors.search(query, max(k, pool) if mode != "dense" else k, allowed)
    rows = snapshot.store.chunks([chunk_id for chunk_id, _ in hits])
    candidates = [Candidate(chunk=rows[i], dense=s, score=s) for i, s in hits if i in rows]
    if mode == "dense":
        return candidates[:k]
    score_sentences(snapshot, query, candidates)
    for candidate in candidates:
        best = candidate.best_sentence
        candidate.score = (1 - sentence_weight) * candidate.dense + sentence_weight * (best.score if best else 0.0)
    candidates.sort(key=lambda c: c.score, reverse=True)
    return candidates[:k]


def score_sentences(snapshot: Snapshot, query: npt.NDArray[np.float32], candidates: list[Candidate]) -> None:
    """Cosine of the question with every stored sentence of each candidate chunk."""
    for candidate in candidates:
        chunk = candidate.chunk
        rows = snapshot.store.sentences_in(chunk.article_id, chunk.start, chunk.end)
        # A sentence cut by the chunk edge still counts: its vector covers the whole sentence.
        if not rows:
            continue
        vectors = snapshot.sentence_vectors.vectors_for([r.id for r in rows])
        scores = vectors @ query.reshape(-1)
        candidate.sentences = [ScoredSentence(row=r, score=float(s)) for r, s in zip(rows, scores)]
