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


WRITE_STEPS = [step for step in COMMIT_STEPS if not step.startswith(("merge", "migrate"))]
MERGE_STEPS = [step for step in COMMIT_STEPS if step.startswith("merge")]

MERGE_ALL = """
import sys
from pathlib import Path
from index import Snapshot
from index.writer import IndexWriter
from rag.chunk import Chunker
path = Path(sys.argv[1])
record = Snapshot(path).manifest.embedder
with IndexWriter(path, record, Chunker(200, 20).describe()) as writer:
    writer.delete("second")
    writer.commit()
    writer.merge(everything=True)
print("acknowledged", flush=True)
"""


@pytest.mark.parametrize("step", WRITE_STEPS)
def test_a_writer_killed_at_any_step_of_a_commit_leaves_the_index_readable_and_writable(index_dir, step):
    run = subprocess.run([sys.executable, "-c", ONE_COMMIT, str(index_dir), "killed"], cwd=ROOT,
                         env={**os.environ, "KABAR_CRASH_AT": step}, capture_output=True, text=True, timeout=120)
    assert run.returncode == -9, run.stderr  # it really died at that step, before acknowledging
    assert "acknowledged" not in run.stdout
    # Readers see the last commit, or the new one once SQLite committed it: never half of either.
    assert stored_ids(index_dir) in ({"base"}, {"base", "killed"})
    # The next writer cleans up after the dead one and commits.
    ingest(index_dir, Article(id="after", text="Artikel setelah penulis sebelumnya mati."))
    assert {"base", "after"} <= stored_ids(index_dir)
    assert check_index(index_dir).ok
    assert not list((index_dir / "segments").glob("*.tmp"))


@pytest.mark.parametrize("step", MERGE_STEPS)
def test_a_merge_killed_midway_loses_nothing_and_the_next_merge_finishes_it(index_dir, step):
    ingest(index_dir, Article(id="second", text="Artikel kedua yang membuat segmen kedua."))
    ingest(index_dir, Article(id="third", text="Artikel ketiga yang membuat segmen ketiga."))
    assert len(list((index_dir / "segments").glob("*.faiss"))) == 3
    run = subprocess.run([sys.executable, "-c", MERGE_ALL, str(index_dir)], cwd=ROOT,
                         env={**os.environ, "KABAR_CRASH_AT": step}, capture_output=True, text=True, timeout=120)
    assert run.returncode == -9, run.stderr
    # The deletion was committed before the merge began; the merge itself changes no article.
    assert stored_ids(index_dir) == {"base", "third"}
    assert check_index(index_dir).ok
    query = HashingEmbedder().encode_queries(["artikel ketiga segmen"])[0]
    snapshot = Snapshot(index_dir)
    found = {snapshot.store.chunks([i])[i].article_id for i, _ in snapshot.chunk_vectors.search(query, 5)}
    assert found == {"base", "third"}
    snapshot.close()
    run = subprocess.run([sys.executable, "-c", MERGE_ALL, str(index_dir)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert [row.vectors for row in Snapshot(index_dir).store.segments()] == [2]
    assert check_index(index_dir).ok


def test_a_segment_file_no_commit_names_is_removed_by_the_next_writer(index_dir):
    stray = index_dir / "segments" / "seg-00000099.faiss"
    shutil.copy(next((index_dir / "segments").glob("*.faiss")), stray)  # sealed, then the power went
    ingest(index_dir, Article(id="after", text="Artikel setelah listrik padam di ruang redaksi."))
    assert stored_ids(index_dir) == {"base", "after"} and not stray.exists()


@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage", b"", b"kabar-index 9\n"])
def test_a_damaged_format_file_names_itself_and_repair_rewrites_it(index_dir, content):
    (index_dir / "FORMAT").write_bytes(content)
    with pytest.raises(IndexCorruptError, match="FORMAT"):
        IndexDirectory(index_dir).format()
    assert not check_index(index_dir).ok
    repaired = check_index(index_dir, repair=True)
    assert repaired.ok and "FORMAT rewritten" in repaired.repaired
    assert stored_ids(index_dir) == {"base"}


def test_a_corrupt_segment_is_named_and_repair_rebuilds_it_from_the_vector_matrix(index_dir):
    ingest(index_dir, Article(id="second", text="Artikel kedua yang membuat segmen kedua."))
    newest = sorted((index_dir / "segments").glob("*.faiss"))[-1]
    newest.write_bytes(b"not a faiss index")
    with pytest.raises(SnapshotError, match=newest.name):
        Snapshot(index_dir)
    report = check_index(index_dir)
    assert not report.ok and newest.name in report.problems[0]
    repaired = check_index(index_dir, repair=True)
    assert repaired.ok and any(newest.name in line for line in repaired.repaired)
    assert stored_ids(index_dir) == {"base", "second"}  # nothing lost: the vectors were in the matrix


def test_check_finds_a_truncated_database(index_dir):
    database = index_dir / "docs.sqlite"
    database.write_bytes(database.read_bytes()[:4096])
    report = check_index(index_dir)
    assert not report.ok and "docs.sqlite" in " ".join(report.problems)


def test_check_reports_vectors_that_disagree_with_the_store(index_dir, tmp_path):
    ingest(tmp_path / "other", Article(id="x", text="Satu artikel lain dengan kalimat yang berbeda sekali."),
           Article(id="y", text="Dan satu lagi supaya jumlah vektornya tidak sama."))
    mine = next((index_dir / "segments").glob("*.faiss"))
    shutil.copy(next((tmp_path / "other" / "segments").glob("*.faiss")), mine)
    assert not check_index(index_dir).ok


def test_lost_vector_rows_are_reported_with_what_to_do(index_dir):
    (index_dir / "vectors" / "sentences.f16").write_bytes(b"")
    with pytest.raises(SnapshotError, match="sentences.f16"):
        Snapshot(index_dir)
    report = check_index(index_dir, repair=True)
    assert not report.ok and "re-ingest" in " ".join(report.repaired + report.problems)


def test_words_of_a_commit_the_lexical_index_never_got_are_caught_up_by_the_next_writer(index_dir):
    run = subprocess.run([sys.executable, "-c", ONE_COMMIT, str(index_dir), "killed"], cwd=ROOT,
                         env={**os.environ, "KABAR_CRASH_AT": "store-committed"}, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == -9
    assert "killed" in stored_ids(index_dir)  # committed in SQLite...
    report = check_index(index_dir)
    assert not report.ok and "lexical" in report.problems[0]  # ...but not yet in the lexical index
    snapshot = Snapshot(index_dir)
    assert not snapshot.lexical.search("penulis mati", 5)
    ingest(index_dir, Article(id="after", text="Artikel setelah penulis sebelumnya mati."))
    found = Snapshot(index_dir).lexical.search("ditulis ketika penulis mati", 5)
    assert {Snapshot(index_dir).store.chunks([i])[i].article_id for i, _ in found} >= {"killed"}
    assert check_index(index_dir).ok
