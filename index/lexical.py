"""BM25 over chunks (bm25s), with Indonesian stemming (Sastrawi) and stopwords.

Numbers and names pass through the stemmer unchanged ("2025", "kazakhstan"), which is
what makes the lexical side useful next to a multilingual embedder: an English question
still shares its names and numbers with an Indonesian article.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import numpy.typing as npt

_TOKEN = re.compile(r"(?u)\b\w+\b")
ENGLISH_STOPWORDS = frozenset(
    "a an and are as at be by for from has have how in is it its of on or that the this to was were what when "
    "where which who why will with did does do".split()
)


@lru_cache(maxsize=1)
def _sastrawi():
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory
    from Sastrawi.StopWordRemover.StopWordRemoverFactory import StopWordRemoverFactory

    stopwords = frozenset(StopWordRemoverFactory().get_stop_words()) | ENGLISH_STOPWORDS
    return StemmerFactory().create_stemmer(), stopwords


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    stemmer, _ = _sastrawi()
    return word if word.isdigit() else (stemmer.stem(word) or word)


def is_indonesian(word: str) -> bool:
    """Whether a lower-cased word is Indonesian: its root is in the stemmer's own dictionary (30,000 roots)."""
    stemmer, _ = _sastrawi()
    roots = stemmer.delegatedStemmer.get_dictionary()
    return roots.contains(word) or roots.contains(_stem(word))


def analyze(text: str) -> list[str]:
    """Lower-cased, stopword-free, stemmed tokens."""
    _, stopwords = _sastrawi()
    return [_stem(t) for t in _TOKEN.findall(text.lower()) if t not in stopwords and (len(t) > 1 or t.isdigit())]


class LexicalIndex:
    def __init__(self, retriever: bm25s.BM25 | None, ids: npt.NDArray[np.int64]) -> None:
        self._retriever = retriever
        self.ids = ids
        self._row_of = {int(i): row for row, i in enumerate(ids)}

    @classmethod
    def build(cls, ids: list[int], texts: list[str]) -> LexicalIndex:
        if not texts:
            return cls(None, np.zeros(0, dtype=np.int64))
        retriever = bm25s.BM25()
        retriever.index([analyze(t) or ["\u2205"] for t in texts], show_progress=False)
        return cls(retriever, np.asarray(ids, dtype=np.int64))

    @classmethod
    def from_documents(cls, documents) -> LexicalIndex:
        """From (chunk id, title, chunk text) rows: the headline is indexed with every chunk, as it is embedded."""
        rows = list(documents)
        return cls.build([r[0] for r in rows], [f"{title}\n{text}" if title else text for _, title, text in rows])

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / "ids.npy", self.ids)
        if self._retriever is not None:
            self._retriever.save(str(directory), show_progress=False)
        (directory / "kabar.json").write_text(json.dumps({"analyzer": "sastrawi+stopwords/v1"}), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        ids = np.load(directory / "ids.npy")
        retriever = bm25s.BM25.load(str(directory), show_progress=False, mmap=False) if len(ids) else None
        return cls(retriever, ids)

    def search(self, query: str, k: int, allowed: npt.NDArray[np.int64] | None = None) -> list[tuple[int, float]]:
        if self._retriever is None or k <= 0:
            return []
        vocabulary = self._retriever.vocab_dict
        tokens = [t for t in analyze(query) if t in vocabulary]
        if not tokens:
            return []
        mask = None
        if allowed is not None:
            mask = np.zeros(len(self.ids), dtype=np.float32)
            rows = [self._row_of[int(i)] for i in allowed if int(i) in self._row_of]
            if not rows:
                return []
            mask[rows] = 1.0
        k = min(k, len(self.ids))
        rows, scores = self._retriever.retrieve([tokens], k=k, show_progress=False, weight_mask=mask)
        return [(int(self.ids[r]), float(s)) for r, s in zip(rows[0], scores[0]) if s > 0]
