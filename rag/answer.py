"""Extractive answers: the sentence that best answers the question, or an honest "no answer".

e5 cosines crowd into 0.75-0.87 whether or not a sentence answers, so the raw score
means little. What does mean something is how far the best sentence stands out from
the archive as a whole: its z-score against a fixed background sample of sentences.
A logistic curve over (best cosine, z-score), fitted on the public question sets by
`kabar calibrate`, turns that into a confidence in [0, 1].
"""

from __future__ import annotations

import json
import math
from importlib import resources

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from rag.retrieve import Candidate, ScoredSentence

CALIBRATION_FILE = "calibration.json"


class Calibration(BaseModel):
    """confidence = sigmoid(w_cosine * cosine + w_z * z + bias), per embedder."""

    w_cosine: float
    w_z: float
    bias: float
    fitted_on: str = ""

    def confidence(self, cosine: float, z: float) -> float:
        x = self.w_cosine * cosine + self.w_z * z + self.bias
        return 1.0 / (1.0 + math.exp(-max(min(x, 50.0), -50.0)))


def load_calibrations() -> dict[str, Calibration]:
    text = resources.files("rag").joinpath(CALIBRATION_FILE).read_text(encoding="utf-8")
    return {key: Calibration.model_validate(value) for key, value in json.loads(text).items()}


# Used when an embedder has no fitted curve: rank by z-score alone, centred at z = 3.
UNCALIBRATED = Calibration(w_cosine=0.0, w_z=2.0, bias=-6.0, fitted_on="default (uncalibrated)")


class AnswerChoice(BaseModel):
    article_id: str
    start: int
    end: int
    cosine: float
    z: float
    confidence: float


def background_z(score: float, query: npt.NDArray[np.float32], background: npt.NDArray[np.float32]) -> float:
    if len(background) < 2:
        return 0.0
    sims = background @ query.reshape(-1)
    std = float(sims.std()) or 1e-6
    return (score - float(sims.mean())) / std


def choose_answer(
    candidates: list[Candidate],
    query: npt.NDArray[np.float32],
    background: npt.NDArray[np.float32],
    calibration: Calibration,
    top_passages: int = 3,
) -> AnswerChoice | None:
    """The best-scoring sentence among the top passages, with a calibrated confidence."""
    best: tuple[float, ScoredSentence, Candidate] | None = None
    for candidate in candidates[:top_passages]:
        for sentence in candidate.sentences:
            # A small share of the passage score breaks ties towards the better context.
            value = sentence.score + 0.1 * candidate.score
            if best is None or value > best[0]:
                best = (value, sentence, candidate)
    if best is None:
        return None
    _, sentence, _ = best
    z = background_z(sentence.score, query, background)
    return AnswerChoice(
        article_id=sentence.row.article_id, start=sentence.row.start, end=sentence.row.end,
        cosine=sentence.score, z=z, confidence=calibration.confidence(sentence.score, z),
    )
