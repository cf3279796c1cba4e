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


class ClaimSupport(BaseModel):
    """The article characters that support a claim: `article.text[start:end] == cited_text`."""

    article_id: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    cited_text: str


class GeneratedClaim(BaseModel):
    text: str = Field(description="One sentence of the generated answer, without its [n] markers.")
    citations: list[int] = Field(description="The passage numbers it cites (1 = the first passage).")
    supported: bool = Field(description="Whether a sentence of a cited passage says it (names, numbers, meaning).")
    reason: str | None = Field(default=None, description="Why it is not supported.")
    support: ClaimSupport | None = None


class Generated(BaseModel):
    """An answer written by a language model in the asker's language; only supported claims are facts."""

    text: str
    lang: str = Field(description="The question's language, which the model was asked to write in.")
    model: str
    claims: list[GeneratedClaim]
    supported_share: float = Field(ge=0.0, le=1.0)
    latency_ms: float
    tokens_in: int = 0
    tokens_out: int = 0


class AskResult(BaseModel):
    question: str
    answer: Answer | None
    no_answer_reason: str | None
    passages: list[Passage]
    timings_ms: dict[str, float]
    searched_for: str | None = Field(
        default=None, description="What was searched, when it differs from the question (a follow-up read with "
        "the question it refers to, a relative time resolved to years, or the archive's names for the countries "
        "and regions the question names in another language).")
    confidence: float | None = Field(
        default=None, description="Calibrated confidence of the best answer sentence, also when it was too low "
        "to answer (then `answer` is null).")
    generated: Generated | None = Field(
        default=None, description="With a language model configured (KABAR_LLM_URL) and an answer found: the "
        "answer written in the question's language, each claim checked against what it cites.")
    llm_error: str | None = Field(
        default=None, description="Why there is no `generated` although a language model is configured (down, "
        "slow, rate-limited, nonsense); the extractive answer stands.")


class GenerationPiece(BaseModel):
    """A piece of the generated answer as the model writes it (streaming only; unchecked until the end)."""

    text: str


class SearchResult(BaseModel):
    question: str
    passages: list[Passage]
    timings_ms: dict[str, float]
    searched_for: str | None = Field(default=None, description="What was searched, when it differs from the question.")
