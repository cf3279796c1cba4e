"""The answer sentence chosen by a learned weighing of every signal, not by similarity alone.

Among the sentences of the top passages, the one most similar to the question is often a
sentence on the topic that does not hold the answer. What tells them apart is cheap to read: does
the sentence bring a number, a date, a name or a place the question asks for and does not already
say (`rag.answer_types`); how much of the question's rare vocabulary it and its passage hold; how
well its passage ranked. A linear model over those signals, fitted as a softmax over each
question's candidate sentences (a conditional logit: only differences between a question's own
sentences matter) on the public training questions of tydiqa_id and facqa by
`python -m eval.train_chooser`, weighs them. It costs a few milliseconds a question, so every
sentence of the top passages is scored; with the reader on, the reader's logit is added to the score.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from rag.answer_types import EVIDENCE, KINDS, Kind, asked_kind, offered

CHOOSER_FILE = "chooser.json"
SHIPPED_CHOOSER = resources.files("rag").joinpath("data", CHOOSER_FILE)
BASE_FEATURES = ("cosine", "bonus", "passage_score", "first_passage", "passage_rank", "overlap", "passage_overlap",
                 "novelty", "lead", "log_length", "overlap_unseen", "passage_overlap_unseen", "bigrams",
                 "cosine_rank", "overlap_rank", "bigrams_rank")
FEATURES: tuple[str, ...] = (BASE_FEATURES + tuple(f"offers_{e}" for e in EVIDENCE)
                             + tuple(f"{k}_offers_{e}" for k in KINDS for e in EVIDENCE))


@dataclass(frozen=True)
class SentenceSignals:
    """One candidate sentence as retrieval saw it."""

    text: str
    cosine: float
    bonus: float
    overlap: float
    passage_rank: int  # 1 for the best passage
    passage_score: float
    passage_overlap: float
    lead: bool  # the article's first sentence (often its headline)


_WORD = re.compile(r"\w+", re.UNICODE)


def _bigrams(text: str) -> set[tuple[str, str]]:
    words = _WORD.findall(text.lower())
    return set(zip(words, words[1:]))


def feature_matrix(question: str, sentences: list[SentenceSignals], unseen: float) -> npt.NDArray[np.float64]:
    """One row per sentence; the *_rank features say how a sentence stands among the question's candidates."""
    kind = asked_kind(question)
    asked = _bigrams(question)
    rows = [features(question, kind, s, unseen, asked) for s in sentences]
    matrix = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))
    for name, source in (("cosine_rank", "cosine"), ("overlap_rank", "overlap"), ("bigrams_rank", "bigrams")):
        column = matrix[:, FEATURES.index(source)]
        order = np.argsort(-column, kind="stable")
        ranks = np.empty(len(column))
        ranks[order] = np.arange(1, len(column) + 1)
        matrix[:, FEATURES.index(name)] = 1.0 / ranks
    return matrix


def features(question: str, kind: Kind, sentence: SentenceSignals, unseen: float,
             asked_bigrams: set[tuple[str, str]] | None = None) -> list[float]:
    found = offered(sentence.text, question)
    asked_bigrams = _bigrams(question) if asked_bigrams is None else asked_bigrams
    evidence = found.as_dict()
    values = {
        "cosine": sentence.cosine, "bonus": sentence.bonus, "passage_score": sentence.passage_score,
        "first_passage": float(sentence.passage_rank == 1), "passage_rank": 1.0 / sentence.passage_rank,
        "overlap": sentence.overlap, "passage_overlap": sentence.passage_overlap, "novelty": found.novelty,
        "lead": float(sentence.lead), "log_length": math.log1p(len(sentence.text)),
        "overlap_unseen": sentence.overlap * unseen, "passage_overlap_unseen": sentence.passage_overlap * unseen,
        "bigrams": len(asked_bigrams & _bigrams(sentence.text)) / len(asked_bigrams) if asked_bigrams else 0.0,
        "cosine_rank": 0.0, "overlap_rank": 0.0, "bigrams_rank": 0.0,
    }
    values.update({f"offers_{e}": evidence[e] for e in EVIDENCE})
    values.update({f"{k}_offers_{e}": evidence[e] * (kind == k) for k in KINDS for e in EVIDENCE})
    return [values[name] for name in FEATURES]


class ChooserWeights(BaseModel):
    """score = ((features − mean) / scale) · weights; fitted per embedder (cosines differ between embedders)."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    weights: list[float]
    fitted_on: str = ""
    metrics: dict = {}


class SentenceChooser:
    def __init__(self, weights: ChooserWeights) -> None:
        if list(weights.features) != list(FEATURES):
            raise ValueError("chooser weights were fitted on other features: rerun `python -m eval.train_chooser`")
        self.weights = weights
        self._mean = np.asarray(weights.mean, dtype=np.float64)
        self._scale = np.asarray(weights.scale, dtype=np.float64)
        self._w = np.asarray(weights.weights, dtype=np.float64)

    def scores(self, question: str, sentences: list[SentenceSignals], unseen: float) -> npt.NDArray[np.float64]:
        if not sentences:
            return np.zeros(0)
        matrix = feature_matrix(question, sentences, unseen)
        return ((matrix - self._mean) / self._scale) @ self._w


class ChooserLoadError(RuntimeError):
    """Named weights that cannot be used: said at start, never replaced by the rule in silence."""


def load_chooser(embedder_key: str, path: Path | None = None) -> SentenceChooser | None:
    """The weights at `path`, or the shipped ones; None when the shipped file has none for this embedder.

    The hand-set rule then chooses: the chooser's cosine weights mean nothing for another embedder.
    """
    where = str(path) if path is not None else f"rag/data/{CHOOSER_FILE}"
    if path is None and not SHIPPED_CHOOSER.is_file():
        return None  # none fitted yet (the training command's first run)
    try:
        text = (Path(path).expanduser().read_text(encoding="utf-8") if path is not None
                else SHIPPED_CHOOSER.read_text(encoding="utf-8"))
        fitted = json.loads(text)
        if not isinstance(fitted, dict):
            raise ValueError("not a JSON object of weights per embedder")
        if embedder_key not in fitted:
            if path is not None:
                raise ValueError(f"no weights for the embedder {embedder_key!r} (it has {', '.join(fitted) or 'none'})")
            return None
        weights = ChooserWeights.model_validate(fitted[embedder_key])
        if not len(weights.features) == len(weights.mean) == len(weights.scale) == len(weights.weights):
            raise ValueError("features, mean, scale and weights differ in length")
        return SentenceChooser(weights)
    except (OSError, ValueError) as exc:  # pydantic's ValidationError and JSONDecodeError are ValueErrors
        raise ChooserLoadError(f"cannot use the chooser weights {where}: {exc}") from exc
