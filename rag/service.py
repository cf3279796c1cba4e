"""The question-answering service the CLI, the API and the evaluator all use.

It owns the embedder and the current index snapshot, and swaps in a newer snapshot
when an ingest publishes one, so a long-running server answers from the last
committed index without a restart.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from index import wal
from index.directory import IndexCorruptError, IndexDirectory, IndexOutdatedError
from index.manifest import EmbedderMismatchError, EmbedderRecord
from index.snapshot import CommitWatcher, Snapshot, SnapshotError, recorded_embedder
from rag.answer import (
    UNCALIBRATED,
    AnswerChoice,
    Calibration,
    Judging,
    choose_answer,
    choose_answer_with_reader,
    load_calibrations,
    reference_vectors,
)
from rag.chooser import load_chooser
from rag.conversation import Turn, search_text
from rag.embed.base import Embedder
from rag.embed.factory import load_embedder
from rag.lexical import TermStatistics, tokens
from rag.generate.client import LLMError
from rag.models import (
    Answer, AnswerSpan, Article, ArticleRef, AskResult, Citation, GenerationPiece, Passage, SearchResult,
)
from rag.passage_order import reader_order
from rag.place_names import with_archive_names
from rag.retrieve import Candidate, Context, Filters, Pipeline, retrieve, score_sentences
from rag.timeframe import question_timeframe, years_in
from rag.settings import Settings
from rag.text import sanitize


class QuestionError(ValueError):
    """The question itself is unusable (empty, too long, bad k): the caller's mistake."""


class IndexUnavailableError(RuntimeError):
    """No whole generation can be served right now; the message names the damaged file and the fix."""


class ConfigurationError(RuntimeError):
    """The settings ask for something the shipped files cannot give (an error at start, never a silent fallback)."""


RETRY_SECONDS = 5.0  # a generation that failed to open is tried again after this long, or when CURRENT changes
log = logging.getLogger("kabar.service")
WARM_UP_QUESTION = "Di mana KTT berikutnya akan digelar?"


ANSWER_PASSAGES = 3  # the answer sentence is sought in this many top passages
# "The next summit" is dated by the newest of the articles that speak of the summit: the untimed search's best
# few articles, those scoring within this share of the best one (an unrelated newer story scores far below).
EVENT_ARTICLES = 3
EVENT_SCORE_SHARE = 0.85
NO_ANSWER = "No passage in the archive answers this question with enough confidence."
EMPTY_INDEX = "The archive is empty."
NOTHING_MATCHES = "No article in the archive matches the filters (dates or source)."


class Kabar:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.directory = IndexDirectory(settings.index_dir)
        self._lock = threading.Lock()
        self.index_problem: str | None = None
        self._failed: tuple[int | None, float] | None = None
        self._retry_at = 0.0
        # A server may start on an empty index and fill it through the documents API, or on a
        # damaged or outdated one: it then starts unready (503 with the reason) and serves once repaired.
        self._snapshot: Snapshot | None = None
        self._commits = CommitWatcher(settings.index_dir)
        recorded = None
        try:
            if self.directory.format() is not None:
                recorded = recorded_embedder(self.directory.path)
                self._snapshot = Snapshot(self.directory.path)
        except (IndexCorruptError, IndexOutdatedError, SnapshotError, sqlite3.DatabaseError) as exc:
            self.index_problem = str(exc)
            log.error("index problem at start: %s", exc)
            self._failed, self._retry_at = (None, self._docs_stamp()), time.monotonic() + RETRY_SECONDS
        self.embedder = embedder or self._embedder_for(recorded)
        if self._snapshot is not None:
            self._check_embedder(self._snapshot)
        self._calibrations = load_calibrations()
        self._reranker = None
        # Loaded at start, not on first question: a broken reader file fails loudly and at once.
        self.reader = load_reader(settings)
        self.chooser = load_chooser(self.embedder.spec.key, settings.chooser)
        self.answer_head = load_head(settings, self.reader, self.chooser)
        self._check_reader_curve()
        self.reference_vectors = reference_vectors(self.embedder)
        self.generator = self._generator() if settings.llm_url else None

    def _generator(self):
        from rag.generate.claims import ClaimChecker
        from rag.generate.client import ChatClient
        from rag.generate.generator import Generator

        s = self.settings
        client = ChatClient(url=s.llm_url, model=s.llm_model,
                            api_key=s.llm_api_key.get_secret_value() if s.llm_api_key else None,
                            timeout_seconds=s.llm_timeout_seconds, retries=s.llm_retries,
                            max_concurrency=s.llm_max_concurrency, max_tokens=s.llm_max_tokens)
        checker = ClaimChecker(self.embedder.encode_passages, self.reference_vectors, s.claim_min_z)
        return Generator(client, checker, passages=s.llm_passages)

    # -- lifecycle ------------------------------------------------------------------------
    def _embedder_for(self, recorded: EmbedderRecord | None) -> Embedder:
        if recorded is None:
            return load_embedder(self.settings.embedder or "e5", self.settings.model, self.settings.cache_dir,
                                 self.settings.device)
        backend = self.settings.embedder or recorded.backend
        model = self.settings.model if self.settings.embedder else recorded.model
        if self.settings.embedder and self.settings.embedder != recorded.backend:
            raise EmbedderMismatchError(self._mismatch(recorded.backend, recorded.model, backend, model or ""))
        return load_embedder(backend, model, self.settings.cache_dir, self.settings.device)

    def _check_embedder(self, snapshot: Snapshot) -> None:
        recorded = snapshot.manifest.embedder
        spec = self.embedder.spec
        if (spec.backend, spec.model, spec.dim) != (recorded.backend, recorded.model, recorded.dim):
            raise EmbedderMismatchError(self._mismatch(recorded.backend, recorded.model, spec.backend, spec.model))

    def _mismatch(self, built_backend: str, built_model: str, backend: str, model: str) -> str:
        return (
            f"index {self.settings.index_dir} was built with {built_backend}:{built_model} and cannot be "
            f"queried with {backend}:{model}; unset KABAR_EMBEDDER/KABAR_MODEL or re-ingest with the new embedder"
        )

    @property
    def snapshot(self) -> Snapshot:
        """The newest commit (checked on each call: one small query).

        A newer commit that cannot be opened (a damaged FORMAT, segment or vector file, a
        truncated database) is not served: the snapshot already held keeps answering and the
        problem is kept in `index_problem` for /readyz and /metrics. With nothing held, it raises.
        """
        for attempt in range(3):
            try:
                version = self._commits.version()
            except IndexCorruptError as exc:
                return self._keep_serving(str(exc))
            except sqlite3.DatabaseError as exc:
                return self._keep_serving(f"{self.directory.docs} is damaged ({exc}); "
                                          f"run `kabar check --index {self.directory.path}`")
            loaded = self._snapshot
            if version is None or (loaded is not None and version == loaded.version):
                if loaded is not None or version is None:
                    self.index_problem = None
                break
            with self._lock:
                if self._snapshot is not None and version == self._snapshot.version:
                    break
                if self._failed == (version, self._docs_stamp()) and time.monotonic() < self._retry_at:
                    return self._keep_serving(self.index_problem or f"commit {version} cannot be opened")
                try:
                    fresh = Snapshot(self.directory.path)
                except FileNotFoundError:
                    # A merge retired a segment file while we opened the commit that named it.
                    if attempt == 2:
                        raise
                    continue
                except (SnapshotError, sqlite3.DatabaseError) as exc:
                    self._failed, self._retry_at = (version, self._docs_stamp()), time.monotonic() + RETRY_SECONDS
                    return self._keep_serving(str(exc))
                self._check_embedder(fresh)
                self._snapshot = fresh
                self.index_problem = None
                break
        if self._snapshot is None:
            try:
                self.directory.require()  # raises IndexNotFoundError with what to run
            except (IndexOutdatedError, IndexCorruptError) as exc:
                raise IndexUnavailableError(str(exc)) from None
        return self._snapshot

    def settle_log(self, over_bytes: int) -> bool:
        """Empty the documents database's log once it holds more than `over_bytes` (index/wal.py says why a
        server that always holds a snapshot must): copy the log back, reopen the same commit so that the held
        snapshot reads the database alone, then truncate. Waits for nothing; what a query or a commit still
        needs is left for a later call. True when the log was emptied."""
        docs = self.directory.docs
        if wal.log_bytes(docs) <= over_bytes or not wal.copy_back(docs):
            return False
        with self._lock:
            if self._snapshot is None:
                return False
            try:
                fresh = Snapshot(self.directory.path)
                self._check_embedder(fresh)
            except (SnapshotError, FileNotFoundError, sqlite3.DatabaseError, EmbedderMismatchError) as exc:
                log.warning("log not settled: the commit could not be reopened (%s)", exc)
                return False
            self._snapshot = fresh  # the old snapshot's read transaction ends with its last query
        return wal.truncate(docs)

    def _docs_stamp(self) -> float:
        try:
            return self.directory.docs.stat().st_mtime
        except OSError:
            return 0.0

    def _keep_serving(self, problem: str) -> Snapshot:
        if problem != self.index_problem:
            log.error("index problem: %s", problem)
        self.index_problem = problem
        if self._snapshot is None:
            raise IndexUnavailableError(problem)
        return self._snapshot

    def forget_snapshot(self, problem: str) -> None:
        """A query found the held generation damaged (e.g. its database file was truncated under it):
        drop it, so the next request opens the files afresh, and a restored file serves again."""
        with self._lock:
            # Not closed here: a query in another thread may still be reading it; it goes with its last user.
            self._snapshot = None
            self._failed, self._retry_at = None, 0.0
            self.index_problem = problem

    @property
    def ready(self) -> bool:
        try:
            self.snapshot
        except (FileNotFoundError, IndexUnavailableError):
            return False
        return True

    @property
    def calibration(self) -> Calibration:
        return self._calibrations.get(self.embedder.spec.key, UNCALIBRATED)

    def calibration_for(self, mode: str) -> Calibration:
        """With the reader reading, the curve fitted on its logits; without, the similarity-only curve."""
        if self._reads(mode) and self.settings.reader_confidence:
            return self._calibrations[self.calibration_key(mode)]  # there is one: checked at start
        return self.calibration

    def _check_reader_curve(self) -> None:
        """Asking for the reader's curve and getting the similarity curve's refusals would be a silent fallback."""
        if not (self.settings.reader_confidence and self.reader is not None):
            return
        key = self.calibration_key("default")
        if key not in self._calibrations:
            raise ConfigurationError(
                f"KABAR_READER_CONFIDENCE=true, but rag/calibration.json has no curve for {key}: fit one with "
                "`python -m eval.calibrate ... --write` (README, Answer confidence), or turn it off")

    def calibration_key(self, mode: str) -> str:
        return f"{self.embedder.spec.key}+{self.reader.name}" if self._reads(mode) else self.embedder.spec.key

    def _reads(self, mode: str) -> bool:
        return self.reader is not None and "reader" in Pipeline.parse(mode).stages

    # -- queries --------------------------------------------------------------------------
    def validate(self, question: str, k: int, mode: str) -> str:
        question = sanitize(question).strip()
        if not question:
            raise QuestionError("question is empty")
        # "?!?" or a row of emoji would be searched as nothing and answered with arbitrary passages.
        if not any(char.isalnum() for char in question):
            raise QuestionError("question has no words: write it with letters or digits")
        if len(question) > self.settings.max_question_chars:
            raise QuestionError(f"question is longer than {self.settings.max_question_chars} characters")
        if not 1 <= k <= self.settings.max_k:
            raise QuestionError(f"k must be between 1 and {self.settings.max_k}")
        try:
            Pipeline.parse(mode)
        except ValueError as exc:
            raise QuestionError(str(exc)) from None
        return question

    def search(self, question: str, k: int = 5, mode: str = "default", filters: Filters | None = None,
               as_of: dt.date | None = None) -> SearchResult:
        question = self.validate(question, k, mode)
        snapshot = self.snapshot
        timings: dict[str, float] = {}
        with self._damage_guard(snapshot):
            as_of = as_of or self.archive_date(snapshot)
            as_of = self._present_for(snapshot, question, mode, filters, as_of, timings)
            _, named = self._search_texts(question, mode, as_of)
            candidates = self._retrieve(snapshot, named, k, mode, filters, timings, as_of)[0]
            return SearchResult(question=question, passages=self._passages(snapshot, candidates), timings_ms=timings,
                                searched_for=named if named != question else None)

    def warm_up(self) -> float | None:
        """Ask one question before anyone else does, so that the first asker after a start does not pay for
        the embedder's first call, the indexes' pages, the term statistics and the reader's first pass (on
        the sample articles the first question took ~0.8 s, the next ones ~0.2 s). Milliseconds it took, or
        None without an archive to ask. It never stops a start: a failure here is logged, and the question
        that would have failed fails again, with its own error, when someone asks."""
        if not self.ready:
            return None
        started = time.perf_counter()
        try:
            # "The next summit": both searches (without the time stage to date the event, then with it) and
            # the reader are taken, as the slowest questions take them.
            self.ask(WARM_UP_QUESTION, generate=False)
        except Exception as exc:  # noqa: BLE001 -- whatever it is, the real question will report it
            log.warning("warm-up question failed: %s", exc)
            return None
        return (time.perf_counter() - started) * 1000

    def ask(self, question: str, k: int = 5, mode: str = "default", filters: Filters | None = None,
            history: list[Turn] | None = None, as_of: dt.date | None = None, generate: bool = True) -> AskResult:
        *_, result = self.ask_steps(question, k, mode, filters, history, as_of, generate=generate, stream=False)
        return result

    def ask_steps(self, question: str, k: int = 5, mode: str = "default", filters: Filters | None = None,
                  history: list[Turn] | None = None, as_of: dt.date | None = None, generate: bool = True,
                  stream: bool = True) -> Iterator[SearchResult | AskResult | GenerationPiece]:
        """Yields the ranked passages as soon as retrieval is done, then the extractive answer, then (with a
        language model configured, `generate`, and an answer found) the pieces of the generated answer as it
        is written (`stream`) and the answer again with `generated` (or `llm_error`) filled in.

        The chat widget streams these steps: a reader sees the sources while the answer is chosen.
        Validation happens before the first step, so a bad question raises before anything is sent.
        """
        started = time.perf_counter()
        question = self.validate(question, k, mode)
        snapshot = self.snapshot
        steps = self._ask_steps(snapshot, question, k, mode, filters, history, as_of, started)
        if generate and self.generator is not None:
            steps = self._with_generation(steps, snapshot, question, stream)
        return self._guarded_steps(snapshot, steps)

    def _with_generation(self, steps, snapshot: Snapshot, question: str, stream: bool):
        """Kabar's own "no answer" stands: the model is asked only when the archive answers."""
        for step in steps:
            yield step
            if not isinstance(step, AskResult) or step.answer is None:
                continue
            tick = time.perf_counter()
            try:
                if stream:
                    generated = None
                    for piece in self.generator.stream(question, step.passages, snapshot):
                        if isinstance(piece, str):
                            yield GenerationPiece(text=piece)
                        else:
                            generated = piece
                else:
                    generated = self.generator.generate(question, step.passages, snapshot)
            except LLMError as exc:
                log.warning("language model failed: %s", exc)
                yield step.model_copy(update={"llm_error": str(exc)})
                continue
            timings = {**step.timings_ms, "generate": _ms(tick), "total": step.timings_ms["total"] + _ms(tick)}
            yield step.model_copy(update={"generated": generated, "timings_ms": timings})

    def _guarded_steps(self, snapshot: Snapshot, steps):
        with self._damage_guard(snapshot):
            yield from steps

    @contextlib.contextmanager
    def _damage_guard(self, snapshot: Snapshot):
        """A database error mid-query means the generation's files changed or broke under us."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            problem = (f"{snapshot.directory.docs} is damaged ({exc}); "
                       f"run `kabar check --index {self.directory.path} --repair`")
            self.forget_snapshot(problem)
            raise IndexUnavailableError(problem) from None

    def _ask_steps(self, snapshot, question, k, mode, filters, history, as_of, started):
        timings: dict[str, float] = {}
        with_topic = search_text(question, history)
        follow_up = with_topic != question
        as_of = self._present_for(snapshot, with_topic, mode, filters, as_of or self.archive_date(snapshot),
                                  timings)
        searched, named = self._search_texts(with_topic, mode, as_of)
        candidates, query = self._retrieve(snapshot, named, k, mode, filters, timings, as_of)
        # One read of the cited articles serves the passages and the answer.
        articles = snapshot.store.get_articles([c.chunk.article_id for c in candidates])
        passages = self._passages(snapshot, candidates, articles)
        searched_for = named if named != question else None
        # Word overlap is measured against the follow-up itself, or against the question with its years resolved.
        answered = question if follow_up else searched
        yield SearchResult(question=question, passages=passages, timings_ms=dict(timings), searched_for=searched_for)

        tick = time.perf_counter()
        answer_candidates, answer_query = self._answer_candidates(question, searched, query, candidates)
        said = {turn.answer.strip() for turn in history or [] if turn.answer}
        choice = self.answer_choice(snapshot, answered, answer_query, answer_candidates, articles, avoid=said,
                                    mode=mode, asked=question)
        answer, reason = None, NO_ANSWER
        if not candidates:
            reason = NOTHING_MATCHES if filters is not None and filters.active() else EMPTY_INDEX
        if choice is not None and choice.confidence >= self.settings.min_answer_confidence:
            article = articles[choice.article_id]
            span = None
            if choice.span_start is not None and choice.span_end is not None:
                span = AnswerSpan(text=article.text[choice.span_start:choice.span_end],
                                  start=choice.span_start, end=choice.span_end)
            answer = Answer(
                text=article.text[choice.start:choice.end],
                citation=_citation(article, choice.start, choice.end),
                confidence=round(choice.confidence, 4),
                span=span,
            )
            reason = None
        if self.settings.reader_rerank and choice is not None and choice.passage_values:
            # The passages read, best first where the reader found an answer; the rest keep their rank.
            read = len(choice.passage_values)
            order = reader_order(choice.passage_values, [c.score for c in candidates[:read]],
                                 self.settings.reader_rerank_score_weight, self.settings.reader_rerank_floor)
            passages = [passages[i] for i in order] + passages[read:]
            passages = [p.model_copy(update={"rank": rank}) for rank, p in enumerate(passages, start=1)]
        timings["answer"] = _ms(tick)
        timings["total"] = _ms(started)
        yield AskResult(question=question, answer=answer, no_answer_reason=reason, passages=passages,
                        timings_ms=timings, searched_for=searched_for,
                        confidence=round(choice.confidence, 4) if choice is not None else None)

    def _answer_candidates(self, question: str, searched: str, query, candidates: list[Candidate]):
        if searched == question:
            return candidates, query
        # What was searched is not what was asked (the topic came from the conversation, or years
        # were added): the sentence is scored against both, so "how many cities does it connect?"
        # finds the number and "the next summit" still weighs the question's own words.
        mixed = query + self.embedder.encode_queries([question])[0]
        answer_query = mixed / max(float(np.linalg.norm(mixed)), 1e-9)
        return [Candidate(chunk=c.chunk, score=c.score, signals=c.signals) for c in candidates], answer_query

    def _first_retrieval(self, question: str, k: int, mode: str):
        """Retrieval as `ask` does it for a question that opens a conversation (what the trainers learn from)."""
        question = self.validate(question, k, mode)
        snapshot = self.snapshot
        as_of = self._present_for(snapshot, question, mode, None, self.archive_date(snapshot))
        searched, named = self._search_texts(question, mode, as_of)
        candidates, query = self._retrieve(snapshot, named, k, mode, None, {}, as_of)
        return question, snapshot, searched, candidates, query

    def passages_read(self, question: str, k: int = 10, mode: str = "default") -> list[Candidate]:
        """The passages a first question's answer is chosen from, best first: what the reader reads.

        The reader's training can mine its negatives here, so that it learns to tell apart the passages it
        will be shown, not only a lexical near miss from another article.
        """
        _, _, _, candidates, _ = self._first_retrieval(question, k, mode)
        return candidates[:self.settings.reader_passages]

    def considered(self, question: str, k: int = 10, mode: str = "default") -> AnswerChoice | None:
        """The answer `ask` would choose for a first question, with every sentence it weighed.

        What `python -m eval.train_chooser` learns from: the same retrieval, the same candidates.
        """
        return self.passages_and_choice(question, k, mode)[1]

    def passages_and_choice(self, question: str, k: int = 10,
                            mode: str = "default") -> tuple[list[Candidate], AnswerChoice | None]:
        """A first question's passages in retrieval's order, with the answer `ask` would choose among them.

        What `python -m eval.tune_reader_order` fits on: the reader's value of each passage it read beside
        retrieval's scores, before the reader reorders them.
        """
        question, snapshot, searched, candidates, query = self._first_retrieval(question, k, mode)
        answer_candidates, answer_query = self._answer_candidates(question, searched, query, candidates)
        choice = self.answer_choice(snapshot, searched, answer_query, answer_candidates, mode=mode,
                                    asked=question)
        return candidates, choice

    def answer_choice(self, snapshot: Snapshot, question: str, query, candidates: list[Candidate],
                      articles: dict[str, Article] | None = None, avoid: set[str] | None = None,
                      mode: str = "default", asked: str | None = None):
        """The answer sentence and the features behind its confidence (the evaluator reads these too).

        Every mode answers the same way: sentences of the top passages are scored here if retrieval
        (any mode but `default`) did not already score them. With the reader on (`default` with a
        reader), the reader reads the top passages and picks the sentence and its short answer.
        `asked` is what the reader reads as the question: the asker's own words.
        """
        reads = self._reads(mode)
        top = candidates[:self.settings.reader_passages if reads else ANSWER_PASSAGES]
        score_sentences(snapshot, query, top)
        terms = self._term_statistics(snapshot)
        question_tokens = tokens(question)
        # The archive's names for the places the question names in another language count as its words when
        # overlap is measured and when the chooser asks whether a sentence names something new; how foreign
        # the question is (`unseen`, the reader's trust) stays a property of the asker's own words.
        named = self._with_archive_names(question, mode)
        named_tokens = tokens(named)
        chooser_question = self._with_archive_names(asked or question, mode)
        if articles is None:
            articles = snapshot.store.get_articles([c.chunk.article_id for c in top])
        judging = self._judging(snapshot, terms, question, question_tokens, top) if named != question else None

        if avoid:
            # Never answer a follow-up with the answer the reader already has.
            for candidate in top:
                candidate.sentences = [
                    s for s in candidate.sentences
                    if articles[s.row.article_id].text[s.row.start:s.row.end].strip() not in avoid
                ]

        chooser = self.chooser if "chooser" in Pipeline.parse(mode).stages else None
        if reads:
            return choose_answer_with_reader(
                top, query, self.reference_vectors, self.calibration_for(mode),
                overlap=lambda text: terms.overlap(named_tokens, text), articles=articles, reader=self.reader,
                question=asked or question, chooser_question=chooser_question,
                cosine_weight=self.settings.reader_cosine_weight,
                top_passages=len(top), unseen=terms.unseen(question_tokens),
                similarity_calibration=self.calibration, chooser=chooser,
                chooser_weight=self.settings.reader_chooser_weight,
                reader_confidence=self.settings.reader_confidence,
                answer_head=self.answer_head if chooser is not None else None, judging=judging)

        def text_of(article_id: str, start: int, end: int) -> str:
            article = articles[article_id]
            if start == 0 and article.title:
                return f"{article.title}\n{article.text[start:end]}"
            return article.text[start:end]

        return choose_answer(top, query, self.reference_vectors, self.calibration,
                             overlap=lambda text: terms.overlap(named_tokens, text), text_of=text_of,
                             top_passages=ANSWER_PASSAGES, unseen=terms.unseen(question_tokens),
                             chooser=chooser, question=chooser_question, judging=judging)

    def _judging(self, snapshot: Snapshot, terms: TermStatistics, question: str, question_tokens: list[str],
                 top: list[Candidate]) -> Judging:
        """Whether to answer a question searched with place names is judged on its own words (rag.answer.Judging)."""
        query = self.embedder.encode_queries([question])[0]
        ids = [s.row.id for candidate in top for s in candidate.sentences]
        cosines = (snapshot.sentence_vectors.vectors_for(ids) @ query.reshape(-1)).tolist() if ids else []
        return Judging(query=query, cosines=dict(zip(ids, cosines)),
                       overlap=lambda text: terms.overlap(question_tokens, text))

    @staticmethod
    def _term_statistics(snapshot: Snapshot) -> TermStatistics:
        terms = snapshot.derived.get("terms")
        if terms is None:
            if snapshot.store.term_counts_complete():
                terms = TermStatistics.from_store(snapshot.manifest.sentences, snapshot.store.term_frequencies)
            else:  # an index written before the writer kept word counts: counted once, here
                terms = TermStatistics(snapshot.store.sentence_texts())
            snapshot.derived["terms"] = terms
        return terms

    def article(self, article_id: str) -> Article | None:
        snapshot = self.snapshot
        with self._damage_guard(snapshot):
            return snapshot.store.get_article(article_id)

    @staticmethod
    def archive_date(snapshot: Snapshot) -> dt.date:
        """The archive's present: its newest article's date (today for an archive with no dates).

        "The next summit" asked of an archive means the next one after what the archive last
        reported, not after today: an archive whose newest story is from December 2024 answers
        "where is the next summit?" with the one it announced, not with one in today's year.
        For a newsroom archive that gets today's news, the two are the same day.
        """
        newest = snapshot.derived.get("newest_date")
        if newest is None:
            newest = snapshot.derived["newest_date"] = snapshot.store.newest_published() or dt.date.today()
        return min(newest, dt.date.today())

    def _present_for(self, snapshot: Snapshot, text: str, mode: str, filters: Filters | None, as_of: dt.date,
                     timings: dict[str, float] | None = None) -> dt.date:
        """The date "next" and "last" in `text` count from: when the articles on its event last spoke.

        A newsroom archive gets today's news, so its newest story says nothing about when the summit was last
        reported: "the next summit" asked of it means the next one after what the archive's summit articles
        announced, not one in today's year. So a question that asks for the next or the last event without a
        year is first searched without the time stage, and the newest publication date (up to `as_of`, the
        asker's present) among the best articles found is its present. Questions with a year or a relative
        year ("tahun lalu": the asker's last year) keep `as_of`, as do archives whose articles carry no dates.
        """
        if "time" not in Pipeline.parse(mode).stages:
            return as_of
        timeframe = question_timeframe(text, as_of)
        if timeframe is None or timeframe.years:
            return as_of
        tick = time.perf_counter()
        untimed, _ = self._retrieve(snapshot, self._with_archive_names(text, mode), EVENT_ARTICLES,
                                    f"{mode}-no-time", filters, {}, as_of)
        present = None
        if untimed:
            best = untimed[0].score
            floor = best - (1 - EVENT_SCORE_SHARE) * abs(best)
            speaking = [c.chunk.article_id for c in untimed if c.score >= floor]
            dates = [a.published for a in snapshot.store.get_articles(speaking).values()
                     if a.published is not None and a.published <= as_of]
            present = max(dates, default=None)
        if timings is not None:
            timings["event_date"] = _ms(tick)
        return present or as_of

    @staticmethod
    def _with_resolved_years(text: str, mode: str, as_of: dt.date | None) -> str:
        """"last year" asked in 2024 is searched as "last year 2023": the articles write years out.

        "The next summit" names no year; the next event after `as_of` most likely falls in its
        year or the one after, so both are added. Only in modes with the time stage.
        """
        if "time" not in Pipeline.parse(mode).stages:
            return text
        timeframe = question_timeframe(text, as_of or dt.date.today())
        if timeframe is None:
            return text
        years = set(timeframe.years) - years_in(text, None)
        if timeframe.after is not None:
            years |= {timeframe.after, timeframe.after + 1}
        return f"{text} {' '.join(str(y) for y in sorted(years))}" if years else text

    def _search_texts(self, question: str, mode: str, as_of: dt.date) -> tuple[str, str]:
        """The question with its years resolved, and that with the archive's place names too: what is searched.

        The names go into the vector as well as into BM25 and the overlap: e5 matches "China Tiongkok" to a
        passage saying "Tiongkok" better than "China" alone (on the seeds, the names in the word signals alone
        changed nothing).
        """
        searched = self._with_resolved_years(question, mode, as_of)
        return searched, self._with_archive_names(searched, mode)

    @staticmethod
    def _with_archive_names(text: str, mode: str) -> str:
        """"China" is also "Tiongkok" (rag/place_names.py), in modes with the names stage."""
        if "names" not in Pipeline.parse(mode).stages:
            return text
        return with_archive_names(text)

    def _retrieve(self, snapshot, question, k, mode, filters, timings, as_of=None):
        tick = time.perf_counter()
        query = self.embedder.encode_queries([question])[0]
        timings["embed"] = _ms(tick)
        tick = time.perf_counter()
        context = Context(
            timeframe=question_timeframe(question, as_of or self.archive_date(snapshot)),
            duplicates=snapshot.store,
            mmr_lambda=self.settings.mmr_lambda,
            rerank=self.reranker.scorer(snapshot, question) if self.reranker and mode.startswith("default") else None,
            overlap=self._overlap_with(snapshot, question),
        )
        candidates = retrieve(snapshot, query, question, k=k, pool=self.settings.candidate_pool, mode=mode,
                              filters=filters, fusion=self.settings.fusion(), context=context)
        timings["retrieve"] = _ms(tick)
        return candidates, query

    def _overlap_with(self, snapshot: Snapshot, question: str):
        terms, question_tokens = self._term_statistics(snapshot), tokens(question)
        return lambda text: terms.overlap(question_tokens, text)

    @property
    def reranker(self):
        """The CrossEncoder named in the settings, loaded on first use (most deployments have none)."""
        if self.settings.reranker and self._reranker is None:
            from rag.rerank import CrossEncoderReranker

            with self._lock:
                if self._reranker is None:
                    self._reranker = CrossEncoderReranker(self.settings.reranker)
        return self._reranker

    @staticmethod
    def _passages(snapshot: Snapshot, candidates: list[Candidate],
                  articles: dict[str, Article] | None = None) -> list[Passage]:
        if articles is None:
            articles = snapshot.store.get_articles([c.chunk.article_id for c in candidates])
        others = {m for c in candidates for m in c.also_reported_by}
        copies = snapshot.store.get_articles(sorted(others)) if others else {}
        passages = []
        for rank, candidate in enumerate(candidates, start=1):
            article = articles[candidate.chunk.article_id]
            citation = _citation(article, candidate.chunk.start, candidate.chunk.end)
            scores = {name: round(value, 4) for name, value in candidate.signals.items()}
            if candidate.best_sentence:
                scores["best_sentence"] = round(candidate.best_sentence.score, 4)
            also = [ArticleRef(article_id=a.id, title=a.title, source=a.source, url=a.url, published=a.published)
                    for a in (copies.get(m) for m in candidate.also_reported_by) if a is not None]
            passages.append(Passage(rank=rank, score=round(candidate.score, 4), text=citation.cited_text,
                                    citation=citation, scores=scores, also_reported_by=also))
        return passages


def reader_directory(settings: Settings) -> Path | None:
    """The folder of the reader the settings name ('deep' or 'fast': shipped in the package), None when off."""
    choice = settings.reader.strip()
    if choice.lower() == "off":
        return None
    from rag.reader.read import reader_folder

    return reader_folder(choice)


def load_reader(settings: Settings):
    """The reader the settings name, or None when it is off. A named reader that cannot load is an error.

    Readers are shared within a process (keyed by folder, weights' mtime, precision and device): the
    evaluator and tests open many services over one model.
    """
    directory = reader_directory(settings)
    if directory is None:
        return None
    from rag.reader.read import WEIGHTS, Reader

    try:
        stamp = (directory / WEIGHTS).stat().st_mtime_ns
    except OSError:
        stamp = 0
    device = reader_device(settings)
    bf16 = reads_bf16(settings)
    key = (str(directory.resolve()), stamp, settings.reader_int8, bf16, device)
    with _READERS_LOCK:
        if key not in _READERS:
            _READERS[key] = Reader(directory, threads=settings.threads, int8=settings.reader_int8, bf16=bf16,
                                   device=device)
        return _READERS[key]


def reader_device(settings: Settings) -> str:
    """The torch device the reader reads on: what `reader_device` means on this machine (`rag.reader.read`)."""
    from rag.reader.read import resolve_device

    return resolve_device(settings.reader_device, settings.reader_int8)


def reads_bf16(settings: Settings) -> bool:
    """Whether the reader's encoder reads in bf16: what `reader_precision` means on its device (int8 first).

    One answer for the loader and for whatever records how readings were made (`eval.train_answer_head`), so that
    readings kept on a bf16 CPU are not taken for fp32 ones on another."""
    from rag.reader.read import resolve_bf16

    return resolve_bf16(settings.reader_precision, lambda: reader_device(settings), settings.reader_int8)


def load_head(settings: Settings, reader, chooser):
    """The answer head beside the reader's weights, for the chooser in use (None without reader, chooser or head)."""
    if reader is None or chooser is None or not settings.reader_head:
        return None
    from rag.reader.head import chooser_digest, load_answer_head

    return load_answer_head(reader.directory, reader.config.get("sha256", ""), chooser_digest(chooser.weights))


_READERS: dict[tuple, object] = {}
_READERS_LOCK = threading.Lock()


def _citation(article: Article, start: int, end: int) -> Citation:
    return Citation(
        article_id=article.id, title=article.title, source=article.source, url=article.url,
        published=article.published, start=start, end=end, cited_text=article.text[start:end],
    )


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)

