"""Request bodies: validated here so bad input is a 4xx with a message, never a 500."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rag.conversation import MAX_TURNS, Turn
from rag.ingest.validation import ARTICLE_ID_PATTERN, MAX_ID_CHARS
from rag.retrieve import Filters


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"question": "where is the 2025 summit?", "k": 5}]})
    question: str = Field(min_length=1, max_length=1000, description="The question, in any language.")
    k: int = Field(default=5, ge=1, le=50, description="How many passages to return.")
    mode: str = Field(default="default", description="Retrieval mode: default, hybrid, dense or bm25 "
                      "(default-no-time, default-no-dedup, default-no-mmr, default-no-reader switch a stage of "
                      "default off).")
    as_of: dt.date | None = Field(
        default=None, description="Resolve relative times ('next year', 'tahun lalu') against this date "
        "instead of the archive's newest article, for reproducible answers; 'the next summit' counts from "
        "the newest article on the summit published by this date.")
    published_from: dt.date | None = None
    published_to: dt.date | None = None
    source: list[str] | str | None = None
    generate: bool = Field(
        default=True, description="With a language model configured: also write the answer in the question's "
        "language and check its claims (false: the extractive answer only, no model call).")
    history: list[Turn] = Field(
        default_factory=list, max_length=MAX_TURNS,
        description="Earlier questions and answers of this conversation, oldest first: a follow-up such as "
        "'and who attended it?' is searched together with the question it refers to.")

    @model_validator(mode="after")
    def _ordered_dates(self) -> AskRequest:
        if self.published_from and self.published_to and self.published_from > self.published_to:
            raise ValueError("published_from is after published_to")
        return self

    def filters(self) -> Filters:
        sources = [self.source] if isinstance(self.source, str) else self.source
        return Filters(published_from=self.published_from, published_to=self.published_to, sources=sources)


class ErrorBody(BaseModel):
    detail: str | list


class Health(BaseModel):
    status: str
    articles: int
    chunks: int
    generation: int
    embedder: str


class DocumentUpdate(BaseModel):
    """An article's content. `text` is the article body; page boilerplate is removed on ingest."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, max_length=2000)
    text: str = Field(min_length=1, max_length=1_000_000)
    source: str | None = Field(default=None, max_length=300)
    url: str | None = Field(default=None, max_length=2000)
    author: str | None = Field(default=None, max_length=500)
    published: dt.date | None = None
    lang: str | None = Field(default=None, max_length=16)


class DocumentIn(DocumentUpdate):
    """One article to store, with its id."""

    id: str = Field(min_length=1, max_length=MAX_ID_CHARS, pattern=ARTICLE_ID_PATTERN)


class DocumentBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: list[DocumentIn] = Field(min_length=1, max_length=1000)


class DocumentSummary(BaseModel):
    id: str
    title: str | None
    source: str | None
    url: str | None
    author: str | None
    published: dt.date | None
    lang: str | None
    characters: int


class DocumentPage(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[DocumentSummary]


class Readiness(BaseModel):
    ready: bool
    detail: str
