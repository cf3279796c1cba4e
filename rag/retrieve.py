"""From a question to ranked chunks, in four modes.

- `bm25`: lexical only (Indonesian stemming and stopwords);
- `dense`: the chunk vectors only, exact search — what every framework does by default;
- `hybrid`: both, fused by reciprocal rank (weights configurable);
- `default`: the hybrid pool, then each candidate is rescored by its best sentence: a chunk
  holding one sentence that answers the question beats a chunk vaguely about the topic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from index.snapshot import Snapshot
from index.store import ChunkRow, SentenceRow

MODES = ("default", "hybrid", "dense", "bm25")


@dataclass
class Filters:
    published_from: dt.date | None = None
    published_to: dt.date | None = None
    sources: list[str] | None = None

    def active(self) -> bool:
        return bool(self.published_from or self.published_to or self.sources)


@dataclass
class Fusion:
    """Reciprocal-rank fusion: score = Σ weight / (k + rank)."""

    k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    sentence_weight: float = 0.5


@dataclass
class ScoredSentence:
    row: SentenceRow
    score: float


@dataclass
class Candidate:
    chunk: ChunkRow
    score: float
    signals: dict[str, float] = field(default_factory=dict)
    sentences: list[ScoredSentence] = field(default_factory=list)

    @property
    def best_sentence(self) -> ScoredSentence | None:
        return max(self.sentences, key=lambda s: s.score, default=None)


def retrieve(
    snapshot: Snapshot,
    query: npt.NDArray[np.float32],
    question: str,
    *,
    k: int,
    pool: int,
    mode: str = "default",
    filters: Filters | None = None,
    fusion: Fusion | None = None,
) -> list[Candidate]:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    fusion = fusion or Fusion()
    allowed = None
    if filters and filters.active():
        allowed = np.asarray(
            snapshot.store.chunk_ids_matching(filters.published_from, filters.published_to, filters.sources),
            dtype=np.int64,
        )
    depth = k if mode in ("dense", "bm25") else max(k, pool)
    dense = snapshot.chunk_vectors.search(query, depth, allowed) if mode != "bm25" else []
    lexical = snapshot.lexical.search(question, depth, allowed) if mode != "dense" else []

    if mode == "dense":
        ranked = [(i, {"dense": s}, s) for i, s in dense]
    elif mode == "bm25":
        ranked = [(i, {"bm25": s}, s) for i, s in lexical]
    else:
        ranked = _fuse(dense, lexical, fusion)
    rows = snapshot.store.chunks([i for i, _, _ in ranked])
    candidates = [Candidate(chunk=rows[i], score=score, signals=signals) for i, signals, score in ranked if i in rows]
    if mode != "default":
        return candidates[:k]

    _fill_dense_scores(snapshot, query, candidates)
    score_sentences(snapshot, query, candidates)
    for candidate in candidates:
        best = candidate.best_sentence
        candidate.score = (1 - fusion.sentence_weight) * candidate.signals["dense"] + fusion.sentence_weight * (
            best.score if best else 0.0
        ) + candidate.signals["rrf"]
    candidates.sort(key=lambda c: c.score, reverse=True)
    return candidates[:k]


def _fuse(
    dense: list[tuple[int, float]], lexical: list[tuple[int, float]], fusion: Fusion
) -> list[tuple[int, dict[str, float], float]]:
    signals: dict[int, dict[str, float]] = {}
    for weight, name, hits in ((fusion.dense_weight, "dense", dense), (fusion.lexical_weight, "bm25", lexical)):
        for rank, (chunk_id, score) in enumerate(hits, start=1):
            entry = signals.setdefault(chunk_id, {"rrf": 0.0})
            entry[name] = score
            entry["rrf"] += weight / (fusion.k + rank)
    ranked = sorted(signals.items(), key=lambda item: item[1]["rrf"], reverse=True)
    return [(chunk_id, entry, entry["rrf"]) for chunk_id, entry in ranked]


def _fill_dense_scores(snapshot: Snapshot, query: npt.NDArray[np.float32], candidates: list[Candidate]) -> None:
    """Chunks found only lexically get their cosine too, so every candidate is scored alike."""
    missing = [c for c in candidates if "dense" not in c.signals]
    if missing:
        vectors = snapshot.chunk_vectors.vectors_for([c.chunk.id for c in missing])
        for candidate, score in zip(missing, vectors @ query.reshape(-1)):
            candidate.signals["dense"] = float(score)


def score_sentences(snapshot: Snapshot, query: npt.NDArray[np.float32], candidates: list[Candidate]) -> None:
    """Cosine of the question with every stored sentence of each candidate chunk.

    A sentence cut by the chunk edge still counts: its vector covers the whole sentence.
    """
    pending = [c for c in candidates if not c.sentences]
    if not pending:
        return
    by_article = snapshot.store.sentences_of([c.chunk.article_id for c in pending])
    members = [
        [r for r in by_article.get(c.chunk.article_id, []) if r.start < c.chunk.end and r.end > c.chunk.start]
        for c in pending
    ]
    unique = list(dict.fromkeys(r.id for rows in members for r in rows))
    if not unique:
        return
    scores = dict(zip(unique, (snapshot.sentence_vectors.vectors_for(unique) @ query.reshape(-1)).tolist()))
    for candidate, rows in zip(pending, members):
        candidate.sentences = [ScoredSentence(row=r, score=scores[r.id]) for r in rows]
