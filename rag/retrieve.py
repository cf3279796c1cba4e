"""From a question to ranked chunks, in four modes.

- `bm25`: lexical only (Indonesian stemming and stopwords);
- `dense`: the chunk vectors only, exact search — what every framework does by default;
- `hybrid`: both, fused by reciprocal rank (weights configurable);
- `default`: the hybrid pool, then each candidate is rescored from four signals: its cosine, its
  best sentence's cosine (a chunk holding one sentence that answers the question beats a chunk
  vaguely about the topic), its BM25 score relative to the question's best, and how much of the
  question's rare vocabulary (names, numbers) it contains; then a bonus for passages about the time
  the question asks for, near-duplicate articles collapsed into one result ("also reported by"),
  and MMR so the top passages are not copies of one paragraph.

Each stage of `default` can be switched off for measurement: `default-no-time`, `default-no-names`,
`default-no-dedup`, `default-no-mmr`, `default-no-chooser`, `default-no-reader` (suffixes combine:
`default-no-time-no-mmr`). `names` searches a question that names countries or regions in another
language with the archive's names for them too (rag/place_names.py).
The chooser and reader stages are the answer's (rag/answer.py, rag/chooser.py): the learned weighing that
picks the answer sentence, and the trained reader that reads the top passages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from index.protocol import ArchiveSnapshot as Snapshot
from index.records import ChunkRow, SentenceRow
from rag.models import Article
from rag.timeframe import TimeFrame, years_in

MODES = ("default", "hybrid", "dense", "bm25")
STAGES = ("time", "names", "dedup", "mmr", "chooser", "reader")
TIME_BONUS = 0.02  # about the gap between the best and the fifth passage of a typical question
MMR_POOL = 3  # MMR reorders the best k × this many candidates
COPY_SIMILARITY = 0.98  # a passage this close to one already chosen is a copy: it goes last
_SEARCHES = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kabar-vector-search")


@dataclass(frozen=True)
class Pipeline:
    base: str
    stages: frozenset[str] = frozenset(STAGES)

    @classmethod
    def parse(cls, mode: str) -> Pipeline:
        base, *switches = mode.split("-no-")
        if base not in MODES or (switches and base != "default") or any(s not in STAGES for s in switches):
            raise ValueError(
                f"unknown mode {mode!r}; choose one of {', '.join(MODES)}, or default without stages "
                f"(default-no-{'/-no-'.join(STAGES)})"
            )
        stages = frozenset(STAGES) - set(switches) if base == "default" else frozenset()
        return cls(base=base, stages=stages)


@dataclass
class Filters:
    published_from: dt.date | None = None
    published_to: dt.date | None = None
    sources: list[str] | None = None

    def active(self) -> bool:
        return bool(self.published_from or self.published_to or self.sources)


@dataclass
class Fusion:
    """How the two rankings are combined.

    `hybrid` fuses by reciprocal rank: score = Σ weight / (k + rank). `default` rescores the fused
    pool: (1 − s)·cosine + s·best-sentence cosine + b·BM25/best BM25 + o·rare-word overlap. Ranks
    throw away how far apart two candidates are; the scores keep it, and on every public set the
    scores won (`python -m eval.tune_fusion` searches b, s and o; the defaults are its choice).
    """

    k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    sentence_weight: float = 0.5
    bm25_weight: float = 0.02
    overlap_weight: float = 0.04


@dataclass
class ScoredSentence:
    row: SentenceRow
    score: float  # cosine with the question: what the answer's confidence is calibrated on
    bonus: float = 0.0  # preference that is not similarity (the asked-for time)


@dataclass
class Candidate:
    chunk: ChunkRow
    score: float
    signals: dict[str, float] = field(default_factory=dict)
    sentences: list[ScoredSentence] = field(default_factory=list)
    also_reported_by: list[str] = field(default_factory=list)  # near-duplicate articles folded into this one

    @property
    def best_sentence(self) -> ScoredSentence | None:
        return max(self.sentences, key=lambda s: s.score, default=None)


class DuplicateGroups(Protocol):
    def canonical_of(self, article_ids: list[str]) -> dict[str, str]: ...

    def group_members(self, canonical_ids: list[str], limit: int | None = None) -> dict[str, list[str]]: ...


ALSO_REPORTED_LIMIT = 10


@dataclass
class Context:
    """What the default pipeline knows besides the question: the time asked about, duplicate groups."""

    timeframe: TimeFrame | None = None
    # Near-duplicate groups, looked up for the candidates only (the store's canonical_of / group_members).
    duplicates: DuplicateGroups | None = None
    mmr_lambda: float = 0.75
    rerank: Callable[[list[Candidate]], list[float]] | None = None  # e.g. a CrossEncoder: scores per candidate
    overlap: Callable[[str], float] | None = None  # share of the question's rare words a text contains


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
    context: Context | None = None,
) -> list[Candidate]:
    pipeline = Pipeline.parse(mode)
    fusion = fusion or Fusion()
    context = context or Context()
    allowed = None
    if filters and filters.active():
        allowed = np.asarray(
            snapshot.store.chunk_ids_matching(filters.published_from, filters.published_to, filters.sources),
            dtype=np.int64,
        )
    base = pipeline.base
    depth = k if base in ("dense", "bm25") else max(k, pool)
    if base in ("hybrid", "default"):
        # The two searches are independent and FAISS lets go of the GIL: on a large archive the vector
        # search (tens of ms) runs on a second core while BM25 runs here.
        pending = _SEARCHES.submit(snapshot.chunk_vectors.search, query, depth, allowed)
        lexical = snapshot.lexical.search(question, depth, allowed)
        dense = pending.result()
    else:
        dense = snapshot.chunk_vectors.search(query, depth, allowed) if base == "dense" else []
        lexical = snapshot.lexical.search(question, depth, allowed) if base == "bm25" else []

    if base == "dense":
        ranked = [(i, {"dense": s}, s) for i, s in dense]
    elif base == "bm25":
        ranked = [(i, {"bm25": s}, s) for i, s in lexical]
    else:
        ranked = _fuse(dense, lexical, fusion)
    rows = snapshot.store.chunks([i for i, _, _ in ranked])
    candidates = [Candidate(chunk=rows[i], score=score, signals=signals) for i, signals, score in ranked if i in rows]
    if base != "default":
        return candidates[:k]

    _fill_dense_scores(snapshot, query, candidates)
    score_sentences(snapshot, query, candidates)
    # One read of the pool's articles serves the overlap and the time stage.
    articles = snapshot.store.get_articles(list({c.chunk.article_id: None for c in candidates}))
    _fill_overlap(articles, candidates, context.overlap)
    top_bm25 = max((c.signals.get("bm25", 0.0) for c in candidates), default=0.0) or 1.0
    for candidate in candidates:
        best = candidate.best_sentence
        candidate.score = (
            (1 - fusion.sentence_weight) * candidate.signals["dense"]
            + fusion.sentence_weight * (best.score if best else 0.0)
            + fusion.bm25_weight * candidate.signals.get("bm25", 0.0) / top_bm25
            + fusion.overlap_weight * candidate.signals.get("overlap", 0.0)
        )
    if context.rerank is not None:
        for candidate, score in zip(candidates, context.rerank(candidates)):
            candidate.signals["reranker"] = score
            candidate.score = score
    if "time" in pipeline.stages and context.timeframe is not None:
        _prefer_time(articles, candidates, context)
    candidates.sort(key=lambda c: c.score, reverse=True)
    if "dedup" in pipeline.stages and context.duplicates is not None:
        candidates = _collapse_duplicates(candidates, context.duplicates)
    if "mmr" in pipeline.stages and len(candidates) > 1:
        candidates = _diversify(snapshot, candidates[: k * MMR_POOL], k, context.mmr_lambda)
    return candidates[:k]


def _prefer_time(articles: dict[str, Article], candidates: list[Candidate], context: Context) -> None:
    """Passages and sentences whose events fall in the asked-for time move up a little.

    Only when the time tells candidates apart: in an archive of one year's news every passage
    "matches 2005", and a bonus for all of them would only add noise.
    """
    matches: list[tuple[Candidate, list[ScoredSentence]]] = []
    for candidate in candidates:
        article = articles[candidate.chunk.article_id]
        reference, text = article.published, article.text
        sentences = [s for s in candidate.sentences
                     if context.timeframe.matches(years_in(text[s.row.start:s.row.end], reference))]
        by_date = bool(context.timeframe.years) and reference is not None and reference.year in context.timeframe.years
        if sentences or by_date:  # a sentence about that time, or a report from that year
            matches.append((candidate, sentences))
    if not matches or len(matches) > len(candidates) / 2:
        return
    for candidate, sentences in matches:
        candidate.score += TIME_BONUS
        candidate.signals["time"] = 1.0
        for sentence in sentences:
            sentence.bonus = TIME_BONUS


def _collapse_duplicates(candidates: list[Candidate], duplicates: DuplicateGroups) -> list[Candidate]:
    """One result per group of near-duplicate articles, at the rank of its best passage.

    The canonical (first published) article's passage stands for the group when it is in the
    pool; the others are listed as also reporting the story, at most ALSO_REPORTED_LIMIT of them
    (a wire story re-posted by a thousand sites must not cost a question a thousand rows).
    """
    canonical_of = duplicates.canonical_of([c.chunk.article_id for c in candidates])
    if not canonical_of:
        return candidates
    groups: dict[str, list[Candidate]] = {}
    order: list[str] = []
    for candidate in candidates:
        key = canonical_of.get(candidate.chunk.article_id, candidate.chunk.article_id)
        if key not in groups:
            order.append(key)
        groups.setdefault(key, []).append(candidate)
    members_of = duplicates.group_members(list(dict.fromkeys(canonical_of.values())), limit=ALSO_REPORTED_LIMIT + 1)
    collapsed = []
    for key in order:
        group = groups[key]
        chosen = next((c for c in group if c.chunk.article_id == key), group[0])
        chosen.score = max(chosen.score, group[0].score)
        others = sorted(m for m in members_of.get(key, []) if m != chosen.chunk.article_id)[:ALSO_REPORTED_LIMIT]
        # Every passage of the chosen article stays and names the other outlets; their copies go.
        kept = [c for c in group if c.chunk.article_id == chosen.chunk.article_id]
        for candidate in kept:
            candidate.also_reported_by = others
        collapsed.extend(kept)
    collapsed.sort(key=lambda c: c.score, reverse=True)
    return collapsed


def _diversify(snapshot: Snapshot, candidates: list[Candidate], k: int, weight: float) -> list[Candidate]:
    """Maximal marginal relevance: each next passage is relevant and unlike those already chosen.

    Relevance is rescaled to [0, 1] within the pool, because e5 scores crowd into a narrow band and
    would otherwise be swamped by the similarity term.
    """
    vectors = snapshot.chunk_vectors.vectors_for([c.chunk.id for c in candidates])
    scores = np.array([c.score for c in candidates])
    spread = float(scores.max() - scores.min()) or 1.0
    relevance = (scores - scores.min()) / spread
    similarity = vectors @ vectors.T
    chosen: list[int] = [0]
    remaining = list(range(1, len(candidates)))
    while remaining and len(chosen) < k:
        redundancy = similarity[np.ix_(remaining, chosen)].max(axis=1)
        values = weight * relevance[remaining] - (1 - weight) * redundancy - (redundancy >= COPY_SIMILARITY) * 10.0
        pick = remaining[int(np.argmax(values))]
        chosen.append(pick)
        remaining.remove(pick)
    return [candidates[i] for i in chosen] + [candidates[i] for i in remaining]


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


def _fill_overlap(articles: dict[str, Article], candidates: list[Candidate],
                  overlap: Callable[[str], float] | None) -> None:
    """The question's rare words found in each passage (headline included, as it was indexed)."""
    if overlap is None:
        return
    for candidate in candidates:
        article, chunk = articles[candidate.chunk.article_id], candidate.chunk
        text = article.text[chunk.start:chunk.end]
        if chunk.start == 0 and article.title:
            text = f"{article.title}\n{text}"
        candidate.signals["overlap"] = overlap(text)


def score_sentences(snapshot: Snapshot, query: npt.NDArray[np.float32], candidates: list[Candidate]) -> None:
    """Cosine of the question with every stored sentence of each candidate chunk.

    A sentence cut by the chunk edge still counts: its vector covers the whole sentence.
    """
    pending = [c for c in candidates if not c.sentences]
    if not pending:
        return
    members = snapshot.store.sentences_within([(c.chunk.article_id, c.chunk.start, c.chunk.end) for c in pending])
    unique = list(dict.fromkeys(r.id for rows in members for r in rows))
    if not unique:
        return
    scores = dict(zip(unique, (snapshot.sentence_vectors.vectors_for(unique) @ query.reshape(-1)).tolist()))
    for candidate, rows in zip(pending, members):
        candidate.sentences = [ScoredSentence(row=r, score=scores[r.id]) for r in rows]
