"""BM25 over chunks, with Indonesian stemming (Sastrawi) and stopwords.

Numbers and names pass through the stemmer unchanged ("2025", "kazakhstan"), which is
what makes the lexical side useful next to a multilingual embedder: an English question
still shares its names and numbers with an Indonesian article.
"""

from __future__ import annotations

import re
from functools import lru_cache

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


@lru_cache(maxsize=500_000)
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
    """BM25 over a list of texts held in memory (bm25s): mining hard negatives for the reader's training.

    The archive's own lexical index is `FtsLexical`, below: bm25s can only be rebuilt, not updated.
    """

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


def fts_token(word: str) -> str:
    """A word as one FTS5 token, whatever its characters.

    SQLite's tokenizer splits and folds some characters Python's \\w keeps ("á", "x²"), and a word it
    splits becomes a phrase query, which the index (detail=column) cannot answer. Words that are
    not plain ASCII letters and digits are therefore stored and looked up hex-encoded.
    """
    return word if word.isascii() and word.isalnum() else "u" + word.encode("utf-8").hex()


def indexed_terms(title: str | None, text: str) -> str:
    """What the lexical index stores for a chunk: its headline and text, analysed (the headline is
    indexed with every chunk, as it is embedded)."""
    return " ".join(fts_token(w) for w in analyze(f"{title}\n{text}" if title else text))


class FtsLexical:
    """BM25 over the store's FTS5 table: updated in the same transaction as the documents, never rebuilt.

    SQLite's own tokenizer only splits the words that `analyze` (Sastrawi stemming, stopwords)
    already produced in Python, so the index ranks the same words bm25s did, incrementally.
    """

    def __init__(self, store) -> None:
        self.store = store

    def search(self, query: str, k: int, allowed: npt.NDArray[np.int64] | None = None) -> list[tuple[int, float]]:
        if k <= 0 or (allowed is not None and len(allowed) == 0):
            return []
        words = list(dict.fromkeys(analyze(query)))
        if not words:
            return []
        match = " OR ".join(f'"{fts_token(w)}"' for w in words)
        if allowed is None:
            return self.store.search_terms(match, k)
        # A filter (dates, sources) keeps a subset: read deeper until k of it are found or nothing is left.
        keep = set(int(i) for i in allowed)
        limit = max(4 * k, 100)
        while True:
            hits = self.store.search_terms(match, limit)
            kept = [(i, s) for i, s in hits if i in keep]
            if len(kept) >= k or len(hits) < limit:
                return kept[:k]
            limit *= 4
