"""BM25 over chunks, with Indonesian stemming (Sastrawi) and stopwords.

Numbers and names pass through the stemmer unchanged ("2025", "kazakhstan"), which is
what makes the lexical side useful next to a multilingual embedder: an English question
still shares its names and numbers with an Indonesian article.
"""

from __future__ import annotations

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


class MemoryBM25:
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


def analysed(chunks):
    """(chunk id, analysed terms) from the store's (chunk id, title, text) rows: what the lexical index holds."""
    return ((chunk_id, indexed_terms(title, text)) for chunk_id, title, text in chunks)


LEXICAL_DIR = "lexical"
MARKER_ID = 0  # chunk ids start at 1: this document carries the number of the commit the index holds


def _schema():
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    builder.add_integer_field("commit", stored=True)
    # Words arrive analysed (Sastrawi stems, stopwords gone, fts_token-safe): splitting on spaces is all that is left.
    builder.add_text_field("terms", stored=False, tokenizer_name="whitespace", index_option="freq")
    return builder.build()


class LexicalIndex:
    """BM25 over chunks in tantivy (Lucene's design in Rust: segments, deletes, merges, block-max WAND).

    The documents' truth is SQLite; this index is derived from it and may lag it by the commit being
    applied: the writer commits SQLite first, then applies the same changes here and records the
    commit number in a marker document, atomically with them. Changes not yet applied stay in the
    store's `lexical_log`, so a writer that died in between is caught up by the next one (and by
    `kabar check --repair`). A reader filters hits through its own snapshot, so a lag never shows a
    chunk the snapshot does not have.

    Why not SQLite FTS5 (tried first): its bm25() ranks every document that holds a query word, at
    ~15 µs each; a question with "tahun" took 338 ms over 38 k chunks, where tantivy takes 0.9 ms.
    """

    def __init__(self, directory: Path, readonly: bool = False) -> None:
        """A writer's (creates the folder) or, `readonly`, a reader's (the folder must hold an index)."""
        import tantivy

        self.directory = Path(directory)
        self._schema = _schema()
        if readonly:
            if not self.exists(self.directory):
                raise FileNotFoundError(f"no lexical index at {self.directory}")
            self._index = tantivy.Index.open(str(self.directory))
        else:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._index = tantivy.Index(self._schema, path=str(self.directory), reuse=True)

    @classmethod
    def exists(cls, directory: Path) -> bool:
        return (Path(directory) / "meta.json").exists()

    def searcher(self):
        self._index.reload()
        return self._index.searcher()

    def commit_number(self) -> int | None:
        """The commit whose changes the index holds; None for an index that never recorded one."""
        import tantivy

        searcher = self.searcher()
        hits = searcher.search(tantivy.Query.term_query(self._schema, "id", MARKER_ID), 1).hits
        if not hits:
            return None
        return int(searcher.doc(hits[0][1])["commit"][0])

    def documents(self) -> int:
        """Chunks held (the marker aside)."""
        searcher = self.searcher()
        return searcher.num_docs - (1 if self.commit_number() is not None else 0)

    def ids(self) -> list[int]:
        import tantivy

        searcher = self.searcher()
        hits = searcher.search(tantivy.Query.all_query(), max(searcher.num_docs, 1)).hits
        return sorted(i for i in (int(searcher.doc(a)["id"][0]) for _, a in hits) if i != MARKER_ID)

    def apply(self, added: list[tuple[int, str]], deleted: list[int], commit: int) -> None:
        """Deletes, then additions, then the marker, in one tantivy commit (all or nothing)."""
        import tantivy

        writer = self._index.writer(heap_size=32_000_000, num_threads=1)
        try:
            for chunk_id in deleted:
                writer.delete_documents_by_term("id", chunk_id)
            for chunk_id, terms in added:
                writer.delete_documents_by_term("id", chunk_id)
                writer.add_document(tantivy.Document(id=chunk_id, terms=terms))
            writer.delete_documents_by_term("id", MARKER_ID)
            writer.add_document(tantivy.Document(id=MARKER_ID, commit=commit, terms=""))
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise

    def rebuild(self, documents, commit: int) -> None:
        """From (chunk id, analysed terms) rows: `kabar migrate`, `kabar check --repair`, a lost index."""
        import tantivy

        writer = self._index.writer(heap_size=64_000_000, num_threads=1)
        writer.delete_all_documents()
        for chunk_id, terms in documents:
            writer.add_document(tantivy.Document(id=chunk_id, terms=terms))
        writer.add_document(tantivy.Document(id=MARKER_ID, commit=commit, terms=""))
        writer.commit()
        writer.wait_merging_threads()


class ArchiveLexical:
    """What a snapshot searches: tantivy's BM25, hits limited to the chunks the snapshot holds."""

    def __init__(self, index: LexicalIndex, known) -> None:
        self._schema = index._schema
        self._searcher = index.searcher()
        self._known = known  # chunk ids -> the rows of those the snapshot holds

    def search(self, query: str, k: int, allowed: npt.NDArray[np.int64] | None = None) -> list[tuple[int, float]]:
        import tantivy

        if k <= 0 or (allowed is not None and len(allowed) == 0):
            return []
        words = list(dict.fromkeys(fts_token(w) for w in analyze(query)))
        if not words:
            return []
        query_ = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "terms", w)) for w in words])
        keep = set(int(i) for i in allowed) if allowed is not None else None
        limit = k if keep is None else max(4 * k, 100)
        while True:
            hits = self._searcher.search(query_, limit + 1).hits
            found = [(int(self._searcher.doc(address)["id"][0]), float(score)) for score, address in hits]
            found = [(i, s) for i, s in found if i != MARKER_ID and (keep is None or i in keep)]
            present = self._known([i for i, _ in found])
            found = [(i, s) for i, s in found if i in present]
            if len(found) >= k or len(hits) <= limit:
                return found[:k]
            limit *= 4
