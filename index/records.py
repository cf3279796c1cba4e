"""The index's own record types: what it stores and returns. The layers above build on these."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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


# Chunk and sentence rows are read by the hundred for every question, from the index's own database:
# plain slotted dataclasses, built without validation (a pydantic model cost ~10 µs each).
@dataclass(frozen=True, slots=True)
class ChunkRow:
    id: int
    article_id: str
    ordinal: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class SentenceRow:
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
