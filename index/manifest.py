"""What an index is: which embedder and chunking built it, and how much is in it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from pydantic import BaseModel, Field

FORMAT_VERSION = 1


class EmbedderMismatchError(ValueError):
    """Vectors from two different embedders must never meet in one index."""


class EmbedderRecord(BaseModel):
    backend: str
    model: str
    dim: int


class Manifest(BaseModel):
    format_version: int = FORMAT_VERSION
    generation: int
    embedder: EmbedderRecord
    chunking: dict[str, int | str]
    articles: int = 0
    chunks: int = 0
    sentences: int = 0
    created_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    kabar_version: str = ""

    def write(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=2), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Manifest:
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
