"""Word overlap that survives a change of language: names and numbers.

An English question about an Indonesian article shares few words with it, but it
shares the ones that matter most: "Tajikistan", "Japarov", "2025". Weighted by how
rare each word is in the archive, that overlap helps pick the answer sentence and is
a strong sign of a question the archive does not cover (nothing in it names "umrah").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable

from index.lexical import is_indonesian

_WORD = re.compile(r"\w+", re.UNICODE)
_APOSTROPHES = re.compile(r"[’'`]")

STOPWORDS = frozenset(
    """
    the a an and or of to in on at by for with from as is are was were be been being this that these those it its
    what which who whom whose when where why how did does do done will would can could should shall may might
    has have had not no yes into about after before over under than then there their they them he she his her
    we our you your i me my mine also just only more most other some any such very said says say
    yang dan di ke dari pada untuk dengan dalam adalah ini itu atau oleh karena akan telah sudah juga tidak
    apa siapa mana kapan mengapa kenapa bagaimana berapa apakah manakah dimana kah lah pun para sebagai bahwa
    tersebut ada bisa dapat hari tahun kata mereka kami kita dia ia
    """.split()
)


def tokens(text: str) -> list[str]:
    text = _APOSTROPHES.sub("", text.lower())
    return [t for t in _WORD.findall(text) if (len(t) >= 3 or t.isdigit()) and t not in STOPWORDS]


def sentence_term_counts(text: str, sentences: list[tuple[int, int]]) -> dict[str, int]:
    """For each word, how many of the article's sentences contain it: what the store adds up at ingest."""
    counts: Counter[str] = Counter()
    for start, end in sentences:
        counts.update(set(tokens(text[start:end])))
    return dict(counts)


class _StoredFrequencies(dict):
    """Sentence frequencies read from the store word by word, as questions need them, and kept."""

    def __init__(self, lookup: Callable[[list[str]], dict[str, int]]) -> None:
        super().__init__()
        self._lookup = lookup

    def get(self, token: str, default=None):
        if token not in self:
            self[token] = self._lookup([token]).get(token, 0)
        return super().get(token, default)


class TermStatistics:
    """Document frequencies over a set of texts (an archive's sentences)."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.df: Counter[str] = Counter()
        self.n = 0
        self._weights_cache: dict[tuple[str, ...], list[tuple[str, float]]] = {}
        for text in texts:
            self.n += 1
            self.df.update(set(tokens(text)))

    @classmethod
    def from_store(cls, sentences: int, lookup: Callable[[list[str]], dict[str, int]]) -> TermStatistics:
        """Statistics kept up to date by the index writer: nothing is recounted when an archive changes."""
        statistics = cls(())
        statistics.n = sentences
        statistics.df = _StoredFrequencies(lookup)
        return statistics

    def idf(self, token: str) -> float:
        return math.log((self.n + 1) / (self.df.get(token, 0) + 0.5))

    def overlap(self, question_tokens: list[str], text: str) -> float:
        """Share of the question's (idf-weighted) words that `text` contains, in [0, 1]."""
        if not question_tokens:
            return 0.0
        # Asked for every candidate passage and sentence of a question: the text's distinct words are
        # enough (a question word is never a stopword or too short, so `tokens`' filter changes nothing
        # for whole words), and the question's weights are looked up once per question.
        words = set(_WORD.findall(_APOSTROPHES.sub("", text.lower())))
        prefixes = None
        total = matched = 0.0
        for token, weight in self._weights(question_tokens):
            total += weight
            if token in words:
                matched += weight
            elif len(token) >= 5:
                if prefixes is None:
                    prefixes = {w[:5] for w in words if len(w) >= 5 and w not in STOPWORDS}
                if token[:5] in prefixes:
                    matched += weight
        return matched / total if total else 0.0

    def _weights(self, question_tokens: list[str]) -> list[tuple[str, float]]:
        key = tuple(question_tokens)
        weights = self._weights_cache.get(key)
        if weights is None:
            weights = [(token, self.idf(token)) for token in dict.fromkeys(question_tokens)]
            if len(self._weights_cache) >= 1024:
                self._weights_cache.clear()
            self._weights_cache[key] = weights
        return weights

    def unseen(self, question_tokens: list[str]) -> float:
        """Share of the question's (idf-weighted) words that are neither in the archive nor Indonesian, in [0, 1].

        It tells the two reasons for a low overlap apart. An English question about Indonesian
        news shares only its names with the archive, and its other words are foreign to it;
        an Indonesian question about a story the archive never ran uses Indonesian words but finds
        them in no passage. The dictionary keeps this true of a two-article archive, where most
        Indonesian words have not been seen yet. The answer's confidence weighs the overlap by this.
        """
        weights = {token: self.idf(token) for token in dict.fromkeys(question_tokens)}
        total = sum(weights.values())
        missing = sum(weight for token, weight in weights.items()
                      if not self.df.get(token) and not token.isdigit() and not is_indonesian(token))
        return missing / total if total else 0.0
