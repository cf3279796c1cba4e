"""The document store: articles, chunk spans and sentence spans in SQLite.

Chunks and sentences are stored as (start, end) into the article text, never as copies,
so a citation's text is by construction `article.text[start:end]`.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from pydantic import BaseModel

from rag.models import Article

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT, text TEXT NOT NULL, source TEXT, url TEXT, author TEXT,
    published TEXT, lang TEXT,
    content_hash TEXT NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_published ON articles(published);
CREATE INDEX IF NOT EXISTS articles_source ON articles(source);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE TABLE IF NOT EXISTS sentences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sentences_article ON sentences(article_id);
CREATE TABLE IF NOT EXISTS signatures (
    article_id TEXT PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    minhash BLOB
);
CREATE TABLE IF NOT EXISTS duplicates (
    article_id TEXT PRIMARY KEY,
    canonical_id TEXT NOT NULL
);
-- Sentence frequencies of words, kept up to date article by article (the words are the caller's:
-- the store does not tokenize). `meta.terms` = 'complete' once every stored article is counted.
CREATE TABLE IF NOT EXISTS term_df (
    term TEXT PRIMARY KEY,
    df INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


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


class DocumentStore:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._db.row_factory = sqlite3.Row

    @classmethod
    def open_readonly(cls, path: Path) -> DocumentStore:
        connection = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        return cls(connection)

    @classmethod
    def open_writable(cls, path: Path) -> DocumentStore:
        connection = sqlite3.connect(path, check_same_thread=False)
        connection.execute("PRAGMA foreign_keys=ON")
        connection.executescript(SCHEMA)
        return cls(connection)

    def close(self) -> None:
        self._db.close()

    def commit(self) -> None:
        self._db.commit()

    # -- articles -------------------------------------------------------------------------
    def content_hash(self, article_id: str) -> str | None:
        row = self._db.execute("SELECT content_hash FROM articles WHERE id = ?", (article_id,)).fetchone()
        return row["content_hash"] if row else None

    def get_article(self, article_id: str) -> Article | None:
        row = self._db.execute("SELECT * FROM articles WHERE id = ?", (article_id,)).fetchone()
        return _article(row) if row else None

    def get_articles(self, article_ids: list[str]) -> dict[str, Article]:
        found: dict[str, Article] = {}
        unique = list(dict.fromkeys(article_ids))
        for offset in range(0, len(unique), 500):
            batch = unique[offset:offset + 500]
            marks = ",".join("?" * len(batch))
            for row in self._db.execute(f"SELECT * FROM articles WHERE id IN ({marks})", batch):
                found[row["id"]] = _article(row)
        return found

    def iter_articles(self) -> list[Article]:
        return [_article(row) for row in self._db.execute("SELECT * FROM articles ORDER BY id")]

    def put_article(self, article: Article, content_hash: str) -> None:
        self._db.execute(
            "INSERT INTO articles (id, title, text, source, url, author, published, lang, content_hash, ingested_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article.id, article.title, article.text, article.source, article.url, article.author,
                article.published.isoformat() if article.published else None, article.lang, content_hash,
                dt.datetime.now(dt.timezone.utc).isoformat(),
            ),
        )

    def delete_article(self, article_id: str) -> tuple[list[int], list[int]]:
        """Remove an article; returns the chunk and sentence ids whose vectors must go too."""
        chunk_ids = [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE article_id = ?", (article_id,))]
        sentence_ids = [r[0] for r in self._db.execute("SELECT id FROM sentences WHERE article_id = ?", (article_id,))]
        self._db.execute("DELETE FROM chunks WHERE article_id = ?", (article_id,))
        self._db.execute("DELETE FROM sentences WHERE article_id = ?", (article_id,))
        self._db.execute("DELETE FROM articles WHERE id = ?", (article_id,))
        return chunk_ids, sentence_ids

    # -- word statistics -------------------------------------------------------------------
    def add_term_counts(self, counts: dict[str, int], sign: int = 1) -> None:
        """Add (sign 1) or remove (sign -1) an article's per-word sentence counts."""
        if not counts:
            return
        self._db.executemany(
            "INSERT INTO term_df (term, df) VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + excluded.df",
            [(term, sign * n) for term, n in counts.items()])
        if sign < 0:
            self._db.execute("DELETE FROM term_df WHERE df <= 0")

    def term_counts_complete(self) -> bool:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'terms'").fetchone()
        except sqlite3.OperationalError:  # a generation written before the table existed
            return False
        return bool(row and row[0] == "complete")

    def mark_term_counts_complete(self) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('terms', 'complete')")

    def reset_term_counts(self) -> None:
        self._db.execute("DELETE FROM term_df")
        self._db.execute("DELETE FROM meta WHERE key = 'terms'")

    def term_frequencies(self, terms: list[str]) -> dict[str, int]:
        """How many stored sentences contain each of `terms` (absent words are left out)."""
        found: dict[str, int] = {}
        unique = list(dict.fromkeys(terms))
        for first in range(0, len(unique), 500):
            batch = unique[first:first + 500]
            marks = ",".join("?" * len(batch))
            found.update(self._db.execute(f"SELECT term, df FROM term_df WHERE term IN ({marks})", batch).fetchall())
        return found

    def article_sentences(self, article_id: str) -> tuple[str, list[tuple[int, int]]] | None:
        """An article's text and sentence spans (what its word counts were made from), or None."""
        row = self._db.execute("SELECT text FROM articles WHERE id = ?", (article_id,)).fetchone()
        if row is None:
            return None
        spans = [(r[0], r[1]) for r in self._db.execute(
            'SELECT start, "end" FROM sentences WHERE article_id = ? ORDER BY id', (article_id,))]
        return row[0], spans

    def integrity_problem(self) -> str | None:
        """SQLite's own integrity check: None when the file is whole."""
        verdict = self._db.execute("PRAGMA integrity_check").fetchone()[0]
        return None if verdict == "ok" else verdict

    def chunk_ids(self) -> list[int]:
        return [r[0] for r in self._db.execute("SELECT id FROM chunks ORDER BY id")]

    def sentence_ids(self) -> list[int]:
        return [r[0] for r in self._db.execute("SELECT id FROM sentences ORDER BY id")]

    def article_ids(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT id FROM articles")]

    # -- near-duplicates (see index/duplicates.py) ----------------------------------------
    def unsigned_articles(self) -> list[tuple[str, str]]:
        """(id, text) of the articles whose MinHash signature has not been computed yet."""
        return [(r[0], r[1]) for r in self._db.execute(
            "SELECT id, text FROM articles WHERE id NOT IN (SELECT article_id FROM signatures)")]

    def put_signature(self, article_id: str, minhash: bytes | None) -> None:
        self._db.execute("INSERT OR REPLACE INTO signatures (article_id, minhash) VALUES (?, ?)", (article_id, minhash))

    def signed_articles(self) -> list[tuple[str, bytes, int, str | None]]:
        """(id, signature, text length, published) of every article long enough to compare."""
        return [(r[0], r[1], r[2], r[3]) for r in self._db.execute(
            "SELECT a.id, s.minhash, length(a.text), a.published FROM signatures s "
            "JOIN articles a ON a.id = s.article_id WHERE s.minhash IS NOT NULL")]

    def replace_duplicates(self, canonical_of: dict[str, str]) -> None:
        self._db.execute("DELETE FROM duplicates")
        self._db.executemany("INSERT INTO duplicates (article_id, canonical_id) VALUES (?, ?)",
                             list(canonical_of.items()))

    def canonical_map(self) -> dict[str, str]:
        """article id → canonical id for articles in a duplicate group; empty for indexes built before groups."""
        try:
            return {r[0]: r[1] for r in self._db.execute("SELECT article_id, canonical_id FROM duplicates")}
        except sqlite3.OperationalError:
            return {}

    # -- spans ----------------------------------------------------------------------------
    def add_chunk(self, article_id: str, ordinal: int, start: int, end: int) -> int:
        cursor = self._db.execute(
            'INSERT INTO chunks (article_id, ordinal, start, "end") VALUES (?, ?, ?, ?)',
            (article_id, ordinal, start, end),
        )
        return int(cursor.lastrowid)

    def add_sentence(self, article_id: str, start: int, end: int) -> int:
        cursor = self._db.execute(
            'INSERT INTO sentences (article_id, start, "end") VALUES (?, ?, ?)', (article_id, start, end)
        )
        return int(cursor.lastrowid)

    def chunks(self, chunk_ids: list[int]) -> dict[int, ChunkRow]:
        return self._rows("chunks", chunk_ids, ChunkRow)

    def sentences_of(self, article_ids: list[str]) -> dict[str, list[SentenceRow]]:
        """All sentences of these articles, in reading order (one query for a whole candidate list)."""
        found: dict[str, list[SentenceRow]] = {}
        unique = list(dict.fromkeys(article_ids))
        for offset in range(0, len(unique), 500):
            batch = unique[offset:offset + 500]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(f"SELECT * FROM sentences WHERE article_id IN ({marks}) ORDER BY start", batch)
            for row in rows:
                found.setdefault(row["article_id"], []).append(SentenceRow(**dict(row)))
        return found

    def chunk_ids_matching(
        self, published_from: dt.date | None, published_to: dt.date | None, sources: list[str] | None
    ) -> list[int]:
        """Chunk ids of articles passing the filters (run before the vector search, inside it)."""
        clauses, params = _filter_clauses(published_from, published_to, sources)
        sql = "SELECT chunks.id FROM chunks JOIN articles ON articles.id = chunks.article_id"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return [r[0] for r in self._db.execute(sql, params)]

    def list_articles(
        self, published_from: dt.date | None, published_to: dt.date | None, sources: list[str] | None,
        offset: int, limit: int,
    ) -> tuple[int, list[Article]]:
        """One page of articles (newest first) and how many pass the filters in all."""
        clauses, params = _filter_clauses(published_from, published_to, sources)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        total = self._db.execute(f"SELECT COUNT(*) FROM articles{where}", params).fetchone()[0]
        rows = self._db.execute(
            f"SELECT * FROM articles{where} ORDER BY published DESC, id LIMIT ? OFFSET ?", [*params, limit, offset]
        )
        return total, [_article(row) for row in rows]

    def newest_published(self):
        """The newest publication date in the archive, or None when no article has one."""
        row = self._db.execute("SELECT MAX(published) FROM articles").fetchone()
        value = row[0] if row else None
        if value is None:
            return None
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])

    def counts(self) -> dict[str, int]:
        return {
            table: self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("articles", "chunks", "sentences")
        }

    def sentence_texts(self):
        """Every stored sentence's text, for archive-wide word statistics."""
        rows = self._db.execute(
            'SELECT articles.text, sentences.start, sentences."end" FROM sentences '
            "JOIN articles ON articles.id = sentences.article_id"
        )
        for text, start, end in rows:
            yield text[start:end]

    def chunk_documents(self):
        """(chunk id, article title, chunk text) for every chunk: the lexical index's input."""
        rows = self._db.execute(
            'SELECT chunks.id, articles.title, articles.text, chunks.start, chunks."end" FROM chunks '
            "JOIN articles ON articles.id = chunks.article_id ORDER BY chunks.id"
        )
        for chunk_id, title, text, start, end in rows:
            yield chunk_id, title, text[start:end]

    def all_chunks(self) -> list[ChunkRow]:
        return [ChunkRow(**dict(row)) for row in self._db.execute("SELECT * FROM chunks ORDER BY id")]

    def backup_to(self, path: Path) -> None:
        target = sqlite3.connect(path)
        with target:
            self._db.backup(target)
        target.close()

    def _rows(self, table: str, ids: list[int], model: type[BaseModel]) -> dict:
        found = {}
        for offset in range(0, len(ids), 500):
            batch = [int(i) for i in ids[offset:offset + 500]]
            marks = ",".join("?" * len(batch))
            for row in self._db.execute(f"SELECT * FROM {table} WHERE id IN ({marks})", batch):
                found[row["id"]] = model(**dict(row))
        return found


def _article(row: sqlite3.Row) -> Article:
    return Article(
        id=row["id"], title=row["title"], text=row["text"], source=row["source"], url=row["url"],
        author=row["author"], published=dt.date.fromisoformat(row["published"]) if row["published"] else None,
        lang=row["lang"],
    )


def _filter_clauses(
    published_from: dt.date | None, published_to: dt.date | None, sources: list[str] | None
) -> tuple[list[str], list[str]]:
    clauses: list[str] = []
    params: list[str] = []
    if published_from:
        clauses.append("articles.published >= ?")
        params.append(published_from.isoformat())
    if published_to:
        clauses.append("articles.published <= ?")
        params.append(published_to.isoformat())
    if sources:
        clauses.append(f"lower(articles.source) IN ({','.join('?' * len(sources))})")
        params.extend(s.lower() for s in sources)
    return clauses, params
