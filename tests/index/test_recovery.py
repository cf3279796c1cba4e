"""A writer killed at any step of a commit, and damaged index files: Kabar recovers or says what to run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from index import Snapshot
from index.check import check_index
from index.directory import COMMIT_STEPS, IndexCorruptError, IndexDirectory
from index.snapshot import SnapshotError
from rag.chunk import Chunker
from rag.embed.hashing import HashingEmbedder
from rag.ingest.pipeline import Ingestor
from rag.models import Article

ROOT = Path(__file__).resolve().parents[2]

ONE_COMMIT = """
import sys
from pathlib import Path
from rag.chunk import Chunker
from rag.embed.hashing import HashingEmbedder
from rag.ingest.pipeline import Ingestor
from rag.models import Article
Ingestor(HashingEmbedder(), Chunker(200, 20)).ingest_articles(
    iter([Article(id=sys.argv[2], text="Artikel baru yang ditulis ketika penulis mati.")]), Path(sys.argv[1]),
    progress=False)
print("acknowledged", flush=True)
"""


def ingest(index_dir: Path, *articles: Article):
    return Ingestor(HashingEmbedder(), Chunker(200, 20)).ingest_articles(iter(articles), index_dir, progress=False)


def stored_ids(index_dir: Path) -> set[str]:
    snapshot = Snapshot.open(index_dir)
    try:
        return {a.id for a in snapshot.store.iter_articles()}
    finally:
        snapshot.close()


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    ingest(tmp_path / "index", Article(id="base", text="Artikel pertama yang sudah tersimpan dengan aman."))
    return tmp_path / "index"


@pytest.mark.parametrize("step", COMMIT_STEPS)
def test_a_writer_killed_at_any_step_of_a_commit_leaves_the_index_readable_and_writable(index_dir, step):
    run = subprocess.run([sys.executable, "-c", ONE_COMMIT, str(index_dir), "killed"], cwd=ROOT,
                         env={**os.environ, "KABAR_CRASH_AT": step}, capture_output=True, text=True, timeout=120)
    assert run.returncode == -9, run.stderr  # it really died at that step, before acknowledging
    assert "acknowledged" not in run.stdout
    # Readers see the last good generation, or the new one once CURRENT switched: never half of either.
    assert stored_ids(index_dir) in ({"base"}, {"base", "killed"})
    # The next writer cleans up after the dead one and commits.
    ingest(index_dir, Article(id="after", text="Artikel setelah penulis sebelumnya mati."))
    assert {"base", "after"} <= stored_ids(index_dir)
    assert not list(index_dir.glob("staging-*")) and not (index_dir / "CURRENT.tmp").exists()
    assert check_index(index_dir).ok


def test_an_orphan_generation_that_current_never_named_is_removed_by_the_next_writer(index_dir):
    live = IndexDirectory(index_dir).current_generation()
    shutil.copytree(live, index_dir / "gen-00000002")  # renamed into place, then the power went
    ingest(index_dir, Article(id="after", text="Artikel setelah listrik padam di ruang redaksi."))
    assert stored_ids(index_dir) == {"base", "after"}


@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage", b"", b"   \n", b"../../../etc\n", b"gen-00000099\n"])
def test_a_damaged_current_names_the_file_and_the_repair_command(index_dir, content):
    (index_dir / "CURRENT").write_bytes(content)
    with pytest.raises(IndexCorruptError, match=r"CURRENT.*kabar check --index .* --repair"):
        IndexDirectory(index_dir).current_generation()
    report = check_index(index_dir)
    assert not report.ok
    repaired = check_index(index_dir, repair=True)
    assert repaired.ok and repaired.generation == "gen-00000001"
    assert stored_ids(index_dir) == {"base"}


def test_check_finds_a_corrupt_faiss_file_and_repair_falls_back_to_the_last_whole_generation(index_dir):
    ingest(index_dir, Article(id="second", text="Artikel kedua yang membuat generasi kedua."))
    newest = IndexDirectory(index_dir).current_generation()
    (newest / "chunks.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(SnapshotError, match="chunks.faiss is damaged"):
        Snapshot(newest)
    report = check_index(index_dir)
    assert not report.ok and "chunks.faiss" in report.problems[0]
    repaired = check_index(index_dir, repair=True)
    assert repaired.ok and repaired.generation != newest.name
    assert stored_ids(index_dir) == {"base"}


def test_check_finds_a_truncated_database(index_dir):
    database = IndexDirectory(index_dir).current_generation() / "docs.sqlite"
    database.write_bytes(database.read_bytes()[:4096])
    report = check_index(index_dir)
    assert not report.ok and "docs.sqlite" in " ".join(report.problems)


def test_check_reports_vectors_that_disagree_with_the_store(index_dir, tmp_path):
    ingest(tmp_path / "other", Article(id="x", text="Satu artikel lain dengan kalimat yang berbeda sekali."),
           Article(id="y", text="Dan satu lagi supaya jumlah vektornya tidak sama."))
    live = IndexDirectory(index_dir).current_generation()
    other = IndexDirectory(tmp_path / "other").current_generation()
    shutil.copy(other / "sentences.faiss", live / "sentences.faiss")
    assert not check_index(index_dir).ok
