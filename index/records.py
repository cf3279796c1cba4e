"""The index's own record types: what it stores and returns. The layers above build on these."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class Article(BaseModel):
    id: str
    title: str | None = None
    text: str
    source: str | None = None
    url: str | None = None
    author: str | None = None
    published: dt.date | None = None
    lang: str | None = None


class ChunkRow(BaseModel):
    id: int
    article_id: str
    ordinal: int
    start: int
    end: int


class SentenceRow(BaseModel):
    id: int
    article_id: str
    start: int
    end: int


class SegmentRow(BaseModel):
    """One sealed FAISS file of chunk vectors: the chunks with ids first_id..last_id that were alive when it was written."""

    name: str
    first_id: int
    last_id: int
    vectors: int
    kind: str  # "flat" or "ivf-sq8"
