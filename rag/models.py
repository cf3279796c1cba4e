"""The objects users see: articles, chunks, citations, passages and answers.

Offsets are always character offsets into `Article.text`, the cleaned body, so
`article.text[start:end] == cited_text` can be checked by anyone holding the article.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from index.records import Article  # noqa: F401  (the index owns the article record; re-exported)


class Span(BaseModel):
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Chunk(Span):
    article_id: str
    ordinal: int
    text: str


class Citation(BaseModel):
    article_id: str
    title: str | None
    source: str | None
    url: str | None
    published: dt.date | None
    start: int
    end: int
    cited_text: str


class ArticleRef(BaseModel):
    article_id: str
    title: str | None
    source: str | None
    url: str | None
    published: dt.date | None


class Passage(BaseModel):
    rank: int
    score: float
    text: str
    citation: Citation
    scores: dict[str, float] = Field(default_factory=dict, description="Per-signal scores, for debugging.")
    also_reported_by: list[ArticleRef] = Field(
        default_factory=list, description="Near-duplicate copies of this article (the same story elsewhere).")


class AnswerSpan(BaseModel):
    """The short answer (a name, a number, a place) inside the answer sentence: `article.text[start:end] == text`."""

    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Answer(BaseModel):
    text: str
    citation: Citation
    confidence: float = Field(ge=0.0, le=1.0)
    span: AnswerSpan | None = Field(
        default=None, description="The short answer inside the sentence, when the reader found one.")


class AskResult(BaseModel):
    question: str
    answer: Answer | None
    no_answer_reason: str | None
    passages: list[Passage]
    timings_ms: dict[str, float]
    searched_for: str | None = Field(
        default=None, description="What was searched, when it differs from the question (a follow-up read with "
        "the question it refers to, or a relative time resolved to years).")
    confidence: float | None = Field(
        default=None, description="Calibrated confidence of the best answer sentence, also when it was too low "
        "to answer (then `answer` is null).")


class SearchResult(BaseModel):
    question: str
    passages: list[Passage]
    timings_ms: dict[str, float]
    searched_for: str | None = None
