"""An index written by an older Kabar says what to run, and `kabar migrate` converts it without re-embedding."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index import IndexOutdatedError, Snapshot
from index.check import check_index
from index.migrate import migrate
from rag.chunk import Chunker
from rag.embed.hashing import HashingEmbedder
from rag.ingest.pipeline import Ingestor
from rag.models import Article

ROOT = Path(__file__).resolve().parents[2]
OLD = ROOT / "tests" / "data" / "format1-index"


@pytest.fixture
def old_index(tmp_path: Path) -> Path:
    shutil.copytree(OLD, tmp_path / "index")
    return tmp_path / "index"


def test_an_old_index_is_refused_with_the_command_that_converts_it(old_index):
    with pytest.raises(IndexOutdatedError, match="kabar migrate --index"):
        Snapshot(old_index)
    with pytest.raises(IndexOutdatedError, match="kabar migrate"):
        Ingestor(HashingEmbedder(), Chunker(200, 20)).ingest_articles(
            iter([Article(id="x", text="Artikel baru.")]), old_index, progress=False)


def test_migrate_keeps_every_article_chunk_and_vector(old_index):
    report = migrate(old_index)
    assert report.migrated and (report.articles, report.chunks, report.sentences) == (2, 11, 27)
    assert not (old_index / "CURRENT").exists() and not list(old_index.glob("gen-*"))
    assert check_index(old_index).ok
    snapshot = Snapshot(old_index)
    query = HashingEmbedder().encode_queries(["Kazakhstan KTT 2025"])[0]
    hits = snapshot.chunk_vectors.search(query, 3)
    # The same vectors as before: a chunk's stored vector is what the embedder makes of its text.
    first = snapshot.store.chunks([hits[0][0]])[hits[0][0]]
    article = snapshot.store.get_article(first.article_id)
    text = f"{article.title}\n{article.text[first.start:first.end]}" if article.title else article.text[first.start:first.end]
    again = HashingEmbedder().encode_passages([text])[0]
    assert float(snapshot.chunk_vectors.vectors_for([first.id])[0] @ again) > 0.999
    assert snapshot.lexical.search("Kazakhstan", 3)
    assert migrate(old_index).migrated is False  # a second run has nothing to do
    Ingestor(HashingEmbedder(), Chunker(200, 20)).ingest_articles(
        iter([Article(id="baru", text="Artikel baru setelah migrasi indeks selesai.")]), old_index, progress=False)
    assert Snapshot(old_index).manifest.articles == 3


def test_a_migration_killed_before_format_is_written_leaves_the_old_index_and_can_run_again(old_index):
    run = subprocess.run([sys.executable, "-m", "rag.cli", "migrate", "--index", str(old_index)], cwd=ROOT,
                         env={**os.environ, "KABAR_CRASH_AT": "migrate-written"}, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == -9, run.stderr
    with pytest.raises(IndexOutdatedError):
        Snapshot(old_index)
    assert migrate(old_index).migrated and check_index(old_index).ok
    assert np.isfinite(Snapshot(old_index).sentence_vectors.get([1])).all()
