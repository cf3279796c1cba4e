"""Splitting cleaned articles into retrievable chunks that know where they came from.

langchain's splitter decides where to cut (paragraphs, then sentences, then words);
we locate each piece ourselves, searching forward from the previous chunk, because
`add_start_index` uses `str.find` from a guessed position and can point at an earlier
copy of a repeated line.
"""

from __future__ import annotations

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.models import Article, Chunk
from rag.text import SENTENCE_BOUNDARY


class Chunker:
    def __init__(self, chunk_size: int = 600, chunk_overlap: int = 100) -> None:
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self._splitter = RecursiveCharacterTextSplitter(
            separators=[r"\n\s*\n", r"\n", SENTENCE_BOUNDARY, r"(?<=[;:,])\s+", r"\s+", ""],
            is_separator_regex=True,
            keep_separator="end",
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            strip_whitespace=True,
        )

    def describe(self) -> dict[str, int | str]:
        return {"splitter": "langchain RecursiveCharacterTextSplitter", "size": self.chunk_size,
                "overlap": self.chunk_overlap}

    def split(self, article: Article) -> list[Chunk]:
        chunks: list[Chunk] = []
        search_from = 0
        for piece in self._splitter.split_text(article.text):
            start = article.text.find(piece, search_from)
            if start < 0:
                # The splitter re-joins pieces with a single space; fall back to the exact
                # span between the first and last word so the invariant still holds.
                start, piece = _locate_loosely(article.text, piece, search_from)
            end = start + len(piece)
            chunks.append(Chunk(article_id=article.id, ordinal=len(chunks), start=start, end=end, text=piece))
            search_from = start + 1
        return chunks


def _locate_loosely(text: str, piece: str, search_from: int) -> tuple[int, str]:
    words = piece.split()
    start = text.find(words[0], search_from)
    if start < 0:
        raise ValueError(f"chunk not found in article text: {piece[:60]!r}")
    cursor = start
    for word in words:
        cursor = text.index(word, cursor) + len(word)
    return start, text[start:cursor]
