"""The index directory: replace, delete, lock, and survive a kill mid-ingest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index import IndexLockedError, Snapshot
from index.manifest import EmbedderMismatchError, EmbedderRecord
from index.writer import IndexWriter
from rag.chunk import Chunker
from rag.embed.hashing import HashingEmbedder
from rag.ingest.pipeline import Ingestor
from rag.models import Article

ROOT = Path(__file__).resolve().parents[2]


def ingest(index_dir: Path, articles: list[Article]):
    return Ingestor(HashingEmbedder(), Chunker(200, 20)).ingest_articles(iter(articles), index_dir, progress=False)


def article(article_id: str, text: str, **fields) -> Article:
    return Article(id=article_id, text=text, **fields)


def test_unchanged_articles_are_skipped_and_changed_ones_replaced(tmp_path):
    first = ingest(tmp_path, [article("a", "Gempa di Palu. Warga mengungsi."), article("b", "Banjir di Jakarta.")])
    assert (first.added, first.unchanged) == (2, 0)
    again = ingest(tmp_path, [article("a", "Gempa di Palu. Warga mengungsi."), article("b", "Banjir besar di Jakarta.")])
    assert (again.added, again.replaced, again.unchanged) == (0, 1, 1)
    snapshot = Snapshot.open(tmp_path)
    assert snapshot.store.get_article("b").text == "Banjir besar di Jakarta."
    assert snapshot.manifest.articles == 2
    assert len(snapshot.chunk_vectors) == snapshot.manifest.chunks == len(snapshot.store.all_chunks())


def test_deleted_articles_leave_no_vectors_and_k_results_still_come_back(tmp_path):
    ingest(tmp_path, [article(f"n{i}", f"Berita nomor {i} tentang pemilu di kota {i}.") for i in range(20)])
    record = Snapshot.open(tmp_path).manifest.embedder
    with IndexWriter(tmp_path, record, Chunker(200, 20).describe()) as writer:
        for i in range(0, 20, 2):
            assert writer.delete(f"n{i}")
        writer.commit()
    snapshot = Snapshot.open(tmp_path)
    query = HashingEmbedder().encode_queries(["berita pemilu"])[0]
    hits = snapshot.chunk_vectors.search(query, 10)
    assert len(hits) == 10
    ids = {snapshot.store.chunks([i])[i].article_id for i, _ in hits}
    assert all(int(a[1:]) % 2 == 1 for a in ids)


def test_filters_run_inside_the_vector_search(tmp_path):
    import datetime as dt

    ingest(tmp_path, [
        article(f"x{i}", f"Berita pemilu nomor {i}.", source="Kompas.com" if i < 15 else "Antara",
                published=dt.date(2024, 1, 1) + dt.timedelta(days=i))
        for i in range(20)
    ])
    snapshot = Snapshot.open(tmp_path)
    allowed = snapshot.store.chunk_ids_matching(None, None, ["antara"])
    assert len(allowed) == 5
    query = HashingEmbedder().encode_queries(["pemilu"])[0]
    import numpy as np

    hits = snapshot.chunk_vectors.search(query, 5, np.array(allowed))
    assert len(hits) == 5 and {i for i, _ in hits} == set(allowed)
    dated = snapshot.store.chunk_ids_matching(dt.date(2024, 1, 3), dt.date(2024, 1, 4), None)
    assert len(dated) == 2


def test_a_second_writer_gets_a_clear_lock_error(tmp_path):
    record = EmbedderRecord(backend="hashing", model="words+bigrams/256", dim=256)
    with IndexWriter(tmp_path, record, {}):
        with pytest.raises(IndexLockedError, match="being written by another process"):
            IndexWriter(tmp_path, record, {})


def test_vectors_from_another_embedder_are_refused(tmp_path):
    ingest(tmp_path, [article("a", "Teks.")])
    other = EmbedderRecord(backend="e5", model="multilingual-e5-small-q4/original", dim=384)
    with pytest.raises(EmbedderMismatchError, match="was built with hashing"):
        IndexWriter(tmp_path, other, {})


def test_a_missing_index_says_how_to_build_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="kabar ingest"):
        Snapshot.open(tmp_path / "nothing")


KILLED_INGEST = """
import sys, time
from pathlib import Path
from rag.chunk import Chunker
from rag.embed.hashing import HashingEmbedder
from rag.ingest.pipeline import Ingestor
from rag.models import Article

def articles():
    for i in range(100000):
        print(i, flush=True)
        yield Article(id=f"k{i}", text=f"Artikel kedua nomor {i}. " * 40)

# After each commit, acknowledge how many articles it holds: those must survive any kill.
Ingestor(HashingEmbedder(), Chunker(200, 20), checkpoint_seconds=0.05).ingest_articles(
    articles(), Path(sys.argv[1]), progress=False,
    on_commit=lambda summary: print(f"ack {summary.added + summary.unchanged}", flush=True))
"""


KILLS = 10


def test_sigkill_mid_ingest_leaves_a_readable_index(tmp_path):
    ingest(tmp_path, [article("base", "Artikel pertama yang sudah tersimpan.")])
    largest = 0
    for attempt in range(KILLS):
        process = subprocess.Popen([sys.executable, "-c", KILLED_INGEST, str(tmp_path)], cwd=ROOT,
                                   stdout=subprocess.PIPE, text=True)
        # Kill at a different point each time: after 5, 25, 45, ... articles were read.
        target = 5 + 20 * attempt
        acknowledged = 0
        for line in process.stdout:
            if line.startswith("ack "):
                acknowledged = int(line.split()[1])
            elif int(line) >= target:
                break
        time.sleep(0.01 * attempt)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        snapshot = Snapshot.open(tmp_path)
        stored = {a.id for a in snapshot.store.iter_articles()}
        # Exactly a committed prefix: everything acknowledged, nothing half-written.
        committed = len(stored) - 1
        assert committed >= acknowledged, (committed, acknowledged)
        assert stored == {"base"} | {f"k{i}" for i in range(committed)}
        counts = snapshot.store.counts()
        assert counts["articles"] == snapshot.manifest.articles
        assert len(snapshot.chunk_vectors) == counts["chunks"] == snapshot.manifest.chunks
        # Every stored sentence has its vector row (rows past the last commit were cut off).
        assert len(snapshot.sentence_vectors.get(snapshot.store.sentence_ids())) == counts["sentences"]
        query = HashingEmbedder().encode_queries(["artikel pertama"])[0]
        assert snapshot.chunk_vectors.search(query, 1)
        largest = max(largest, counts["articles"])
        snapshot.close()
    assert largest > 1, "no checkpoint was committed before the kills: the test proved nothing"
    # The lock died with the process: a new writer can start.
    ingest(tmp_path, [article("after", "Setelah crash.")])
    assert Snapshot.open(tmp_path).store.get_article("after") is not None
    assert not list(tmp_path.glob("staging-*"))
