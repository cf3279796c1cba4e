"""Extractive answers: the sentence that best answers the question, or an honest "no answer".

e5 cosines crowd into 0.75-0.87 whether or not a sentence answers, so the raw score
means little on its own. Three signals together do: the best sentence's cosine, how far
it stands out from ordinary prose (its z-score against the question's similarity to a
fixed set of reference sentences, the same for every archive, so a curve fitted on one
archive holds for another, even a two-article one whose every sentence is on topic),
and how much of the question's rare vocabulary (names, numbers) its passage contains. The
fourth says how far that overlap can be trusted: the share of the question's words that are
neither in the archive nor Indonesian, high for a question asked in another language (its words
are missing from every passage, not just from this one). A logistic curve over the four,
fitted on public question sets by `python -m eval.calibrate`, turns them into a confidence in [0, 1].
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from rag.chooser import SentenceChooser, SentenceSignals
from rag.retrieve import Candidate, ScoredSentence

CALIBRATION_FILE = "calibration.json"
# How much a sentence's share of the question's rare words adds to its cosine when
# choosing the answer; cosines of different sentences differ by hundredths.
LEXICAL_WEIGHT = 0.08
PASSAGE_WEIGHT = 0.1


class Calibration(BaseModel):
    """confidence = sigmoid(w·features + bias), per embedder (and per reader, when one reads).

    The reader's two logits (its answer sentence, and whether the best of the passages it read answers at
    all) enter the same curve as the similarity signals; a curve fitted without a reader leaves their weights 0.
    """

    w_cosine: float
    w_z: float
    w_lexical: float = 0.0
    w_unseen: float = 0.0
    w_reader: float = 0.0
    w_reader_passage: float = 0.0
    bias: float
    fitted_on: str = ""

    def confidence(self, features: AnswerFeatures) -> float:
        x = (self.w_cosine * features.cosine + self.w_z * features.z + self.w_lexical * features.lexical
             + self.w_unseen * features.unseen + self.w_reader * features.reader
             + self.w_reader_passage * features.reader_passage + self.bias)
        return 1.0 / (1.0 + math.exp(-max(min(x, 50.0), -50.0)))


def reference_vectors(embedder) -> npt.NDArray[np.float32]:
    """The reference sentences' vectors: shipped for the default embedder, embedded once for any other.

    The shipped file saves a fresh install from embedding 400 sentences at first start.
    """
    import hashlib
    import io

    name = f"reference-{hashlib.sha256(embedder.spec.key.encode()).hexdigest()[:16]}.npy"
    shipped = resources.files("rag").joinpath("data", name)
    if shipped.is_file():
        vectors = np.load(io.BytesIO(shipped.read_bytes())).astype(np.float32)
        if vectors.shape == (len(load_reference_sentences()), embedder.spec.dim):
            return vectors
    return embedder.encode_passages(load_reference_sentences())


def load_reference_sentences() -> list[str]:
    text = resources.files("rag").joinpath("data", "reference_sentences.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


def load_calibrations() -> dict[str, Calibration]:
    text = resources.files("rag").joinpath(CALIBRATION_FILE).read_text(encoding="utf-8")
    return {key: Calibration.model_validate(value) for key, value in json.loads(text).items()}


# For an embedder with no fitted curve: z-score and word overlap, centred on typical values.
UNCALIBRATED = Calibration(w_cosine=0.0, w_z=1.5, w_lexical=6.0, bias=-6.0, fitted_on="default (uncalibrated)")


class AnswerFeatures(BaseModel):
    cosine: float
    z: float
    lexical: float
    unseen: float = 0.0
    reader: float = 0.0
    reader_passage: float = 0.0

    def vector(self) -> list[float]:
        return [self.cosine, self.z, self.lexical, self.unseen, self.reader, self.reader_passage]


class AnswerChoice(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    article_id: str
    start: int
    end: int
    features: AnswerFeatures
    confidence: float
    # The reader's short answer inside the sentence, as article offsets.
    span_start: int | None = None
    span_end: int | None = None
    # Per passage read, in rank order: the best sentence value the reader gave it (for re-ranking).
    passage_values: list[float] = []
    # Every sentence that was weighed, as the chooser saw it (what `python -m eval.train_chooser` learns from).
    considered: list[SentenceSignals] = []
    reader_logits: list[float | None] = []  # parallel to `considered`, when the reader read them
    # Also parallel to `considered`: the reader's passage logit and sentence vector (what the answer head reads).
    reader_passage_logits: list[float | None] = []
    reader_vectors: list[Any] = []
    # Also parallel: the reader's best short-answer logit (start + end) inside the sentence (NO_SPAN_LOGIT: none).
    reader_span_scores: list[float | None] = []


def background_z(score: float, query: npt.NDArray[np.float32], background: npt.NDArray[np.float32]) -> float:
    if len(background) < 2:
        return 0.0
    sims = background @ query.reshape(-1)
    std = float(sims.std()) or 1e-6
    return (score - float(sims.mean())) / std


@dataclass(frozen=True)
class Judging:
    """What "does the archive answer?" is judged against when the sentences were scored against something else.

    A question searched with the archive's place names ("… China Tiongkok") scores sentences about China
    higher, which helps choose among them; but the confidence curve was fitted on the asker's own words, and
    judged on the named vector it answered questions the archive does not answer ("How many people died in
    the stabbing in China?" of two articles about China). So the judged sentence's cosine, z-score and word
    overlap are read against the question as asked (with its years resolved), and names change which
    sentence answers, never whether the archive answers.
    """

    query: npt.NDArray[np.float32]
    cosines: dict[int, float]  # sentence row id → cosine with `query`
    overlap: Callable[[str], float]


def judged_features(signals: SentenceSignals, sentence: ScoredSentence, passage_text: Callable[[], str],
                    query: npt.NDArray[np.float32], background: npt.NDArray[np.float32], unseen: float,
                    judging: Judging | None, **reader: float) -> AnswerFeatures:
    """The confidence curve's inputs for the judged sentence; `passage_text` is read only when judging asks."""
    if judging is None:
        cosine, lexical = sentence.score, max(signals.passage_overlap, signals.overlap)
    else:
        query = judging.query
        cosine = judging.cosines.get(sentence.row.id, sentence.score)
        lexical = max(judging.overlap(passage_text()), judging.overlap(signals.text))
    return AnswerFeatures(cosine=cosine, z=background_z(cosine, query, background), lexical=lexical, unseen=unseen,
                          **reader)


def sentence_signals(
    candidates: list[Candidate],
    overlap: Callable[[str], float],
    text_of: Callable[[str, int, int], str],
    top_passages: int = 3,
) -> list[tuple[SentenceSignals, ScoredSentence]]:
    """Every sentence of the top passages, with what retrieval knows of it and of its passage."""
    found = []
    for rank, candidate in enumerate(candidates[:top_passages], start=1):
        chunk = candidate.chunk
        passage_overlap = overlap(text_of(chunk.article_id, chunk.start, chunk.end))
        for sentence in candidate.sentences:
            row = sentence.row
            text = text_of(row.article_id, row.start, row.end)
            found.append((SentenceSignals(text=text, cosine=sentence.score, bonus=sentence.bonus,
                                          overlap=overlap(text), passage_rank=rank, passage_score=candidate.score,
                                          passage_overlap=passage_overlap, lead=row.start == 0), sentence))
    return found


def choose_answer(
    candidates: list[Candidate],
    query: npt.NDArray[np.float32],
    background: npt.NDArray[np.float32],
    calibration: Calibration,
    overlap: Callable[[str], float],
    text_of: Callable[[str, int, int], str],
    top_passages: int = 3,
    unseen: float = 0.0,
    chooser: SentenceChooser | None = None,
    question: str = "",
    judging: Judging | None = None,
) -> AnswerChoice | None:
    """The best sentence among the top passages, with the features behind its confidence.

    `overlap(text)` is the question's rare-word overlap with a text; `text_of(article, start, end)`
    reads the archive; `unseen` is the share of the question's words neither in the archive nor Indonesian.
    With a `chooser`, its learned weighing picks the sentence; without, the hand-set rule (cosine, time
    bonus, a tenth of the passage score, rare-word overlap) that it replaced.
    """
    found = sentence_signals(candidates, overlap, text_of, top_passages)
    if not found:
        return None
    rule = [hand_rule(signals) for signals, _ in found]
    values = chooser.scores(question, [signals for signals, _ in found], unseen).tolist() if chooser else rule
    # Whether the archive answers at all is judged on the rule's sentence, the one the confidence curve was
    # fitted on: the chooser often prefers a less similar sentence that holds the asked-for name or number,
    # and judging by that sentence's lower cosine refused English questions the archive does answer.
    judged_signals, judged = found[max(range(len(found)), key=rule.__getitem__)]
    _, sentence = found[max(range(len(found)), key=values.__getitem__)]
    chunk = candidates[judged_signals.passage_rank - 1].chunk
    features = judged_features(judged_signals, judged, lambda: text_of(chunk.article_id, chunk.start, chunk.end),
                               query, background, unseen, judging)
    return AnswerChoice(article_id=sentence.row.article_id, start=sentence.row.start, end=sentence.row.end,
                        features=features, confidence=calibration.confidence(features),
                        considered=[signals for signals, _ in found])


def hand_rule(signals: SentenceSignals) -> float:
    return signals.cosine + signals.bonus + PASSAGE_WEIGHT * signals.passage_score + LEXICAL_WEIGHT * signals.overlap


# A question-sentence cosine is multiplied by this before it is added to the reader's logit:
# cosines of different sentences differ by hundredths, logits by units.
COSINE_SCALE = 20.0
MIN_READER_TRUST = 0.5


def indonesian_trust(unseen: float) -> float:
    """How far a question is Indonesian or the archive's own words (1 − unseen), 0 below one half: what a
    model fitted on Indonesian questions only is trusted with."""
    return 1.0 - unseen if 1.0 - unseen >= MIN_READER_TRUST else 0.0


def reader_trust(reader, unseen: float) -> float:
    """The reader's say on a question: full for a reader measured on questions in other languages
    (`reads_any_language`, from its config), otherwise `indonesian_trust`. Serving and the answer head's
    fitting both weigh readings by it."""
    return 1.0 if getattr(reader, "reads_any_language", False) else indonesian_trust(unseen)


def choose_answer_with_reader(
    candidates: list[Candidate],
    query: npt.NDArray[np.float32],
    background: npt.NDArray[np.float32],
    calibration: Calibration,
    overlap: Callable[[str], float],
    articles: dict,
    reader,
    question: str,
    cosine_weight: float,
    top_passages: int = 3,
    unseen: float = 0.0,
    similarity_calibration: Calibration | None = None,
    chooser: SentenceChooser | None = None,
    chooser_weight: float = 1.0,
    reader_confidence: bool = False,
    answer_head=None,
    chooser_question: str | None = None,
    judging: Judging | None = None,
) -> AnswerChoice | None:
    """The sentence the reader rates highest (its logit, weighed by how Indonesian the question is), plus
    what is known without reading: the chooser's score × `chooser_weight`, or without a chooser the hand-set
    rule's value × 20 × `cosine_weight`.

    The reader reads each top passage once, headline and all; a sentence cut by the chunk edge is
    read as far as the chunk goes. Its short answer comes from the span head, inside that sentence.
    `reader_confidence`: the confidence comes from `calibration` (the curve fitted on the similarity signals and
    the reader's logits), blended by trust with the similarity curve; otherwise from the similarity curve alone,
    exactly as without a reader.
    `answer_head` (with a chooser): what reading adds is the head's score over the reader's sentence vector,
    logit and passage logit (rag/reader/head.py), not the logit alone.
    `chooser_question`: the question as the chooser reads it (with the archive's place names), when not `question`.
    `judging`: what whether to answer is judged against, when not what the sentences were scored against.
    """
    from rag.reader.head import NO_SPAN_LOGIT
    from rag.reader.read import Passage as ReadPassage

    top = candidates[:top_passages]

    found = sentence_signals(top, overlap, lambda a, start, end: _with_title(articles[a], start, end), top_passages)
    passages, rows = [], []
    for candidate in top:
        chunk = candidate.chunk
        article = articles[chunk.article_id]
        text = article.text[chunk.start:chunk.end]
        kept = [s for s in candidate.sentences if s.row.end > chunk.start and s.row.start < chunk.end]
        spans = [(max(s.row.start, chunk.start) - chunk.start, min(s.row.end, chunk.end) - chunk.start) for s in kept]
        passages.append(ReadPassage(title=article.title, text=text, sentences=spans))
        rows.append(kept)
    readings = reader.read(question, passages)
    # Whether the archive answers is asked of every passage read, not only of the chosen sentence's: on tydiqa's
    # public training questions the best passage logit of the top 3 told unanswerable questions apart at AUC .80,
    # the top passage's at .78 (the mean-pooled passage head; the first-token one never learned).
    best_passage = max((reading.passage_logit for reading in readings), default=0.0)
    # id(sentence) -> logit, span (start, end, logit), passage logit, sentence vector, span logit
    read: dict[int, tuple[float, tuple[int, int, float] | None, float, np.ndarray, float]] = {}
    for reading, kept in zip(readings, rows):
        for sentence, logit, span, vector in zip(kept, reading.sentence_logits, reading.spans, reading.vectors):
            if logit is not None:
                read[id(sentence)] = (logit, span, reading.passage_logit, vector,
                                      span[2] if span else NO_SPAN_LOGIT)
    if chooser is not None and found:
        known = (chooser_weight * chooser.scores(chooser_question or question, [signals for signals, _ in found],
                                                 unseen)).tolist()
    else:
        known = [cosine_weight * COSINE_SCALE * hand_rule(signals) for signals, _ in found]
    # The readers learned from Indonesian questions (a quarter code-switched into English). One measured on
    # questions in English, Chinese and Russian (`reads_any_language`; the deep reader: 25 answer sentences
    # gained and 5 lost of 358 translated dev questions) has its say on every question. Another has it as far
    # as the question's words are Indonesian or the archive's own (1 − unseen), none for a question mostly in
    # another language (the six-layer reader gained 16 and lost 15 there, Russian 2 / 9), and what is known
    # without reading decides the rest.
    trust = reader_trust(reader, unseen)
    reading_adds: dict[int, float] = {key: values[0] for key, values in read.items()}
    if answer_head is not None and chooser is not None and read:
        keys = list(read)
        added = answer_head.scores(
            [read[key][0] for key in keys], [read[key][2] for key in keys], np.stack([read[key][3] for key in keys]),
            span_scores=[read[key][4] for key in keys])
        reading_adds = dict(zip(keys, added.tolist()))
    best = None
    passage_values: dict[int, float] = {}
    for number, ((signals, sentence), value_known) in enumerate(zip(found, known)):
        if id(sentence) not in read:
            continue
        logit, span, *_ = read[id(sentence)]
        value = trust * reading_adds[id(sentence)] + value_known
        rank = signals.passage_rank
        passage_values[rank] = max(passage_values.get(rank, -math.inf), value)
        if best is None or value > best[0]:
            best = (value, top[rank - 1], sentence, logit, span)
    if best is None:
        return None
    _, candidate, sentence, logit, span = best
    chunk = candidate.chunk
    row = sentence.row
    # Whether to answer is judged on the sentence the similarity curve was fitted on (the rule's), as without a
    # reader: judged on the reader's choice, belebele's answerable questions were refused .165 (EN) / .285 (ID) of
    # the time instead of .104 / .211. The reader's curve reads the same features plus the reader's logit for
    # its choice and its best passage logit (docs/quality-experiments.md, session (f)).
    judged_signals, judged = max(found, key=lambda pair: hand_rule(pair[0]))
    judged_chunk = top[judged_signals.passage_rank - 1].chunk
    features = judged_features(
        judged_signals, judged,
        lambda: _with_title(articles[judged_chunk.article_id], judged_chunk.start, judged_chunk.end),
        query, background, unseen, judging, reader=logit, reader_passage=best_passage)
    span_start = span_end = None
    # Short answers only where the reader is trusted: a wrong headline misleads more than none. The deep
    # reader's were as often right for translated English questions as for Indonesian ones (facqa .60 / .59).
    if span is not None and trust >= MIN_READER_TRUST:
        span_start, span_end = chunk.start + span[0], chunk.start + span[1]
        # The span lies inside the read part of the sentence; keep it inside the cited sentence too.
        span_start, span_end = max(span_start, row.start), min(span_end, row.end)
        if span_end <= span_start:
            span_start = span_end = None
    # The reader's curve was fitted on Indonesian questions; for the rest of a question, the
    # similarity curve (fitted on questions in several languages) speaks, in the same proportion.
    if reader_confidence:
        curve_trust = indonesian_trust(unseen)
        confidence = curve_trust * calibration.confidence(features)
        if curve_trust < 1.0:
            confidence += (1.0 - curve_trust) * (similarity_calibration or calibration).confidence(features)
    else:
        confidence = (similarity_calibration or calibration).confidence(features)
    return AnswerChoice(article_id=row.article_id, start=row.start, end=row.end, features=features,
                        confidence=confidence, span_start=span_start, span_end=span_end,
                        passage_values=[passage_values.get(rank, -math.inf) for rank in range(1, len(top) + 1)],
                        considered=[signals for signals, _ in found],
                        reader_logits=[read[id(sentence)][0] if id(sentence) in read else None
                                       for _, sentence in found],
                        reader_passage_logits=[read[id(sentence)][2] if id(sentence) in read else None
                                               for _, sentence in found],
                        reader_vectors=[read[id(sentence)][3] if id(sentence) in read else None
                                        for _, sentence in found],
                        reader_span_scores=[read[id(sentence)][4] if id(sentence) in read else None
                                            for _, sentence in found])


def _with_title(article, start: int, end: int) -> str:
    text = article.text[start:end]
    return f"{article.title}\n{text}" if start == 0 and article.title else text
