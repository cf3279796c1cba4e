"""The document store: one SQLite database in WAL mode, changed in place, one transaction per commit.

Chunks and sentences are stored as (start, end) into the article text, never as copies,
so a citation's text is by construction `article.text[start:end]`.

Besides the documents it holds everything that must change in the same transaction as they
do, so that a commit is one SQLite commit and a crash leaves all of it old or all of it new:
the lexical index (FTS5 over analysed words), the list of sealed vector segments and the
tombstones of deleted chunks, the near-duplicate LSH buckets and groups, the word statistics
and the counts. Readers pin a consistent view with a read transaction (WAL lets them read
while the one writer writes); nothing is copied per commit.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import json

from index.records import Article, ChunkRow, SegmentRow, SentenceRow


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

# Added by index format 2 (an older docs.sqlite gets them from `kabar migrate`).
SCHEMA_2 = """
-- Lexical changes of each commit, until the lexical index (tantivy, index/lexical.py) holds them.
CREATE TABLE IF NOT EXISTS lexical_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    commit_no INTEGER NOT NULL, chunk_id INTEGER NOT NULL, op TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS segments (
    name TEXT PRIMARY KEY,
    first_id INTEGER NOT NULL, last_id INTEGER NOT NULL,
    vectors INTEGER NOT NULL, kind TEXT NOT NULL
);
-- Chunks deleted since the segment holding their vector was sealed: skipped at search time,
-- dropped for good when the segment is merged.
CREATE TABLE IF NOT EXISTS tombstones (chunk_id INTEGER PRIMARY KEY);
-- Segment files replaced by a merge: deleted a little later, once no reader can still be opening them.
CREATE TABLE IF NOT EXISTS retired (name TEXT PRIMARY KEY, retired_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS lsh_bands (
    band INTEGER NOT NULL, key INTEGER NOT NULL, article_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lsh_bands_key ON lsh_bands(band, key);
CREATE INDEX IF NOT EXISTS lsh_bands_article ON lsh_bands(article_id);
CREATE INDEX IF NOT EXISTS duplicates_canonical ON duplicates(canonical_id);
"""


class DocumentStore:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._db.row_factory = sqlite3.Row

    @classmethod
    def open_readonly(cls, path: Path) -> DocumentStore:
        if not path.is_file():
            raise FileNotFoundError(f"no document store at {path}")
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None)
        return cls(connection)

    @classmethod
    def open_writable(cls, path: Path) -> DocumentStore:
        connection = sqlite3.connect(path, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk when it returns (an acknowledged article survives a power cut).
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.executescript(SCHEMA + SCHEMA_2)
        return cls(connection)

    def pin(self) -> None:
        """Start a read transaction: every later read sees the database as of now, whatever commits meanwhile."""
        self._db.execute("BEGIN")
        self._db.execute("SELECT value FROM meta WHERE key = 'commit'").fetchone()

    def close(self) -> None:
        self._db.close()

    def __del__(self) -> None:
        # A snapshot's store goes with its last user (a query may outlive the service's switch to a newer
        # snapshot), and its read transaction must go with it: Python's sqlite3 connection sits in a reference
        # cycle with its own statement cache, so without this it stayed open until the cyclic collector ran,
        # holding the log back (index/wal.py) and, four of them, every reader slot SQLite has.
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()

    def commit(self) -> None:
        self._db.commit()

    def rollback(self) -> None:
        self._db.rollback()

    # -- what the index is ----------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def commit_number(self) -> int:
        return int(self.get_meta("commit") or 0)

    def stored_counts(self) -> dict[str, int]:
        """The counts kept beside the rows (O(1); `counts()` counts the rows themselves)."""
        raw = self.get_meta("counts")
        return json.loads(raw) if raw else {"articles": 0, "chunks": 0, "sentences": 0}

    def set_counts(self, counts: dict[str, int]) -> None:
        self.set_meta("counts", json.dumps(counts, sort_keys=True))

    def last_ids(self) -> dict[str, int]:
        """The highest chunk and sentence id ever committed (ids are never reused: AUTOINCREMENT)."""
        found = {"chunks": 0, "sentences": 0}
        for name, seq in self._db.execute("SELECT name, seq FROM sqlite_sequence WHERE name IN ('chunks', 'sentences')"):
            found[name] = int(seq)
        return found

    # -- vector segments ---------------------------------------------------------------------
    def segments(self) -> list[SegmentRow]:
        return [SegmentRow(**dict(r)) for r in self._db.execute("SELECT * FROM segments ORDER BY first_id")]

    def add_segment(self, segment: SegmentRow) -> None:
        self._db.execute("INSERT INTO segments (name, first_id, last_id, vectors, kind) VALUES (?, ?, ?, ?, ?)",
                         (segment.name, segment.first_id, segment.last_id, segment.vectors, segment.kind))

    def retire_segments(self, names: list[str], when: float) -> None:
        self._db.executemany("DELETE FROM segments WHERE name = ?", [(n,) for n in names])
        self._db.executemany("INSERT OR REPLACE INTO retired (name, retired_at) VALUES (?, ?)", [(n, when) for n in names])

    def retired_before(self, when: float) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT name FROM retired WHERE retired_at < ?", (when,))]

    def forget_retired(self, names: list[str]) -> None:
        self._db.executemany("DELETE FROM retired WHERE name = ?", [(n,) for n in names])

    def add_tombstones(self, chunk_ids: list[int]) -> None:
        self._db.executemany("INSERT OR IGNORE INTO tombstones (chunk_id) VALUES (?)", [(i,) for i in chunk_ids])

    def tombstones(self) -> list[int]:
        return [r[0] for r in self._db.execute("SELECT chunk_id FROM tombstones ORDER BY chunk_id")]

    def tombstones_between(self, first_id: int, last_id: int) -> int:
        return self._db.execute("SELECT COUNT(*) FROM tombstones WHERE chunk_id BETWEEN ? AND ?",
                                (first_id, last_id)).fetchone()[0]

    def clear_tombstones(self, first_id: int, last_id: int) -> None:
        self._db.execute("DELETE FROM tombstones WHERE chunk_id BETWEEN ? AND ?", (first_id, last_id))

    def chunk_ids_between(self, first_id: int, last_id: int) -> list[int]:
        return [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE id BETWEEN ? AND ? ORDER BY id",
                                               (first_id, last_id))]

    # -- the lexical index's log (index/lexical.py) ------------------------------------------
    def log_lexical(self, commit_no: int, chunk_ids: list[int], op: str) -> None:
        self._db.executemany("INSERT INTO lexical_log (commit_no, chunk_id, op) VALUES (?, ?, ?)",
                             [(commit_no, i, op) for i in chunk_ids])

    def lexical_log_after(self, commit_no: int) -> list[tuple[int, str]]:
        """(chunk id, "add" or "delete") of the commits after `commit_no`, in order."""
        return [(r[0], r[1]) for r in self._db.execute(
            "SELECT chunk_id, op FROM lexical_log WHERE commit_no > ? ORDER BY seq", (commit_no,))]

    def prune_lexical_log(self, upto: int) -> None:
        self._db.execute("DELETE FROM lexical_log WHERE commit_no <= ?", (upto,))

    def chunk_documents_for(self, chunk_ids: list[int]):
        """(chunk id, article title, chunk text) of these chunks, those that still exist."""
        for batch in _batches(sorted(set(chunk_ids))):
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(
                'SELECT chunks.id, articles.title, articles.text, chunks.start, chunks."end" FROM chunks '
                f"JOIN articles ON articles.id = chunks.article_id WHERE chunks.id IN ({marks})", batch)
            for chunk_id, title, text, start, end in rows:
                yield chunk_id, title, text[start:end]

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
        """Remove an article with its words; returns the chunk and sentence ids whose vectors must go too."""
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
    def put_signature(self, article_id: str, minhash: bytes | None) -> None:
        self._db.execute("INSERT OR REPLACE INTO signatures (article_id, minhash) VALUES (?, ?)", (article_id, minhash))

    def signatures_of(self, article_ids: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for batch in _batches(list(dict.fromkeys(article_ids))):
            marks = ",".join("?" * len(batch))
            found.update((r[0], r[1]) for r in self._db.execute(
                f"SELECT article_id, minhash FROM signatures WHERE article_id IN ({marks}) AND minhash IS NOT NULL",
                batch))
        return found

    def signed_articles(self) -> list[tuple[str, bytes]]:
        """(id, signature) of every article long enough to compare (for `kabar migrate`)."""
        return [(r[0], r[1]) for r in self._db.execute(
            "SELECT article_id, minhash FROM signatures WHERE minhash IS NOT NULL")]

    def put_bands(self, article_id: str, keys: list[int]) -> None:
        self._db.executemany("INSERT INTO lsh_bands (band, key, article_id) VALUES (?, ?, ?)",
                             [(band, key, article_id) for band, key in enumerate(keys)])

    def band_neighbours(self, keys: list[int], limit: int) -> list[str]:
        """Articles sharing at least one LSH bucket with these band keys (at most `limit`)."""
        found: dict[str, None] = {}
        for band, key in enumerate(keys):
            for (article_id,) in self._db.execute(
                    "SELECT article_id FROM lsh_bands WHERE band = ? AND key = ? LIMIT ?", (band, key, limit)):
                found[article_id] = None
            if len(found) >= limit:
                break
        return list(found)

    def remove_bands(self, article_id: str) -> None:
        self._db.execute("DELETE FROM lsh_bands WHERE article_id = ?", (article_id,))
        self._db.execute("DELETE FROM signatures WHERE article_id = ?", (article_id,))

    def canonical_of(self, article_ids: list[str]) -> dict[str, str]:
        """article id → canonical id, for those of `article_ids` that belong to a duplicate group."""
        found: dict[str, str] = {}
        for batch in _batches(list(dict.fromkeys(article_ids))):
            marks = ",".join("?" * len(batch))
            found.update((r[0], r[1]) for r in self._db.execute(
                f"SELECT article_id, canonical_id FROM duplicates WHERE article_id IN ({marks})", batch))
        return found

    def group_members(self, canonical_ids: list[str], limit: int | None = None) -> dict[str, list[str]]:
        """The members of these groups (the canonical included), at most `limit` per group, oldest first."""
        found: dict[str, list[str]] = {}
        for canonical in dict.fromkeys(canonical_ids):
            sql = ("SELECT d.article_id FROM duplicates d JOIN articles a ON a.id = d.article_id "
                   "WHERE d.canonical_id = ? ORDER BY coalesce(a.published, '9999-12-31'), length(a.text) DESC, a.id")
            params: list = [canonical]
            if limit is not None:
                sql += " LIMIT ?"
                params.append(limit)
            found[canonical] = [r[0] for r in self._db.execute(sql, params)]
        return found

    def set_group(self, members: list[str], canonical_id: str) -> None:
        self._db.executemany("INSERT OR REPLACE INTO duplicates (article_id, canonical_id) VALUES (?, ?)",
                             [(m, canonical_id) for m in members])

    def leave_group(self, article_id: str) -> None:
        self._db.execute("DELETE FROM duplicates WHERE article_id = ?", (article_id,))

    def article_order(self, article_ids: list[str]) -> dict[str, tuple[str, int, str]]:
        """(published or far future, -length, id): the canonical of a group is the smallest."""
        found = {}
        for batch in _batches(list(dict.fromkeys(article_ids))):
            marks = ",".join("?" * len(batch))
            for r in self._db.execute(
                    f"SELECT id, coalesce(published, '9999-12-31'), length(text) FROM articles WHERE id IN ({marks})",
                    batch):
                found[r[0]] = (r[1], -int(r[2]), r[0])
        return found

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

    def sentences_within(self, spans: list[tuple[str, int, int]]) -> list[list[SentenceRow]]:
        """For each (article id, start, end) span (a chunk, a cited passage), the sentences it touches, in
        reading order.

        A question's candidates touch a few sentences each; loading all sentences of their articles
        (hundreds, for long news articles) cost more than everything else the answer does.
        """
        return [[SentenceRow(*row) for row in self._db.execute(
                    'SELECT id, article_id, start, "end" FROM sentences WHERE article_id = ? AND start < ? '
                    'AND "end" > ? ORDER BY start', (article_id, end, start))]
                for article_id, start, end in spans]

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

    def _rows(self, table: str, ids: list[int], model) -> dict:
        found = {}
        for offset in range(0, len(ids), 500):
            batch = [int(i) for i in ids[offset:offset + 500]]
            marks = ",".join("?" * len(batch))
            for row in self._db.execute(f"SELECT * FROM {table} WHERE id IN ({marks})", batch):
                found[row["id"]] = model(**dict(row))
        return found


def _batches(items: list, size: int = 500):
    for first in range(0, len(items), size):
        yield items[first:first + size]


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
