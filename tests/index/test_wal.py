"""A server holds a snapshot at all times, and the documents database's log still gets emptied."""

from __future__ import annotations

import random

from index import Snapshot, wal
from rag.chunk import Chunker
from rag.embed.hashing import HashingEmbedder
from rag.ingest.pipeline import Ingestor
from rag.models import Article

WORDS = "gempa banjir pemilu pasar harga beras kereta bandara hujan panen sekolah rumah sakit jalan tol".split()


def commit_articles(index_dir, first: int, count: int) -> None:
    rng = random.Random(first)
    articles = [Article(id=f"a{n}", title=f"Berita {n}",
                        text=" ".join(f"{' '.join(rng.choices(WORDS, k=12))} nomor {n}-{s}." for s in range(40)))
                for n in range(first, first + count)]
    Ingestor(HashingEmbedder(), Chunker(400, 40)).ingest_articles(iter(articles), index_dir, progress=False)


def test_a_held_snapshot_keeps_the_log_from_starting_over_until_it_is_reopened_on_a_copied_back_log(tmp_path):
    commit_articles(tmp_path, 0, 5)
    docs = tmp_path / "docs.sqlite"
    held = Snapshot.open(tmp_path)
    for batch in range(1, 6):  # other processes commit while the server answers from `held`, then follows them
        commit_articles(tmp_path, batch * 20, 20)
        held = Snapshot.open(tmp_path)
    grown = wal.log_bytes(docs)
    assert grown > 1_000_000
    assert not wal.truncate(docs)  # the held snapshot still reads from the log

    assert wal.copy_back(docs)
    held = Snapshot.open(tmp_path)  # the same commit, now read from the database alone; the old one closes
    assert wal.truncate(docs) and wal.log_bytes(docs) == 0
    assert held.manifest.articles == 105 and held.store.get_article("a110").title == "Berita 110"

    commit_articles(tmp_path, 500, 3)  # the log starts over from its beginning, and commits go on
    assert 0 < wal.log_bytes(docs) < grown
    assert Snapshot.open(tmp_path).manifest.articles == 108
