"""A commit costs what it adds: sealed segments stay untouched, deletes are tombstones, merges tidy up."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from index import Snapshot
from index.merge import MERGE_FACTOR, plan, tier
from index.records import SegmentRow
from index.writer import IndexWriter
from rag.chunk import Chunker
from rag.embed.hashing import HashingEmbedder
from rag.ingest.pipeline import Ingestor
from rag.models import Article

WIRE = ("Presiden membuka konferensi iklim di Jakarta pada hari Senin dengan pidato tentang energi terbarukan, "
        "hutan tropis, dan target emisi nasional yang baru. Para menteri dari dua puluh negara hadir dan "
        "berjanji menambah dana adaptasi untuk negara kepulauan yang paling terdampak kenaikan air laut.")


def ingest(index_dir: Path, *articles: Article):
    return Ingestor(HashingEmbedder(), Chunker(200, 20)).ingest_articles(iter(articles), index_dir, progress=False)


def news(number: int, **fields) -> Article:
    return Article(id=f"n{number}", text=f"Berita nomor {number} tentang pemilu di kota {number}. Warga antre memilih.",
                   **fields)


def segment_files(index_dir: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (index_dir / "segments").glob("*.faiss")}


def writer_for(index_dir: Path) -> IndexWriter:
    return IndexWriter(index_dir, Snapshot(index_dir).manifest.embedder, Chunker(200, 20).describe())


def test_a_commit_adds_one_segment_and_leaves_every_sealed_file_untouched(tmp_path):
    ingest(tmp_path, *[news(i) for i in range(20)])
    before = segment_files(tmp_path)
    database = (tmp_path / "docs.sqlite").stat().st_ino
    ingest(tmp_path, news(20))
    after = segment_files(tmp_path)
    assert {name: after[name] for name in before} == before
    assert len(after) == len(before) + 1
    assert (tmp_path / "docs.sqlite").stat().st_ino == database  # changed in place, never copied
    assert not list(tmp_path.glob("gen-*"))
    assert Snapshot(tmp_path).manifest.articles == 21


def test_deleted_chunks_are_skipped_until_a_merge_drops_them(tmp_path):
    ingest(tmp_path, *[news(i) for i in range(12)])
    with writer_for(tmp_path) as writer:
        for i in range(0, 12, 2):
            writer.delete(f"n{i}")
        writer.commit()
        snapshot = Snapshot(tmp_path)
        assert len(snapshot.chunk_vectors.tombstones) == 6
        query = HashingEmbedder().encode_queries(["berita pemilu kota"])[0]
        found = {snapshot.store.chunks([i])[i].article_id for i, _ in snapshot.chunk_vectors.search(query, 12)}
        assert found == {f"n{i}" for i in range(1, 12, 2)}
        assert writer.merge(everything=True)
    merged = Snapshot(tmp_path)
    assert len(merged.chunk_vectors.tombstones) == 0
    assert [row.vectors for row in merged.store.segments()] == [6]
    found = {merged.store.chunks([i])[i].article_id for i, _ in merged.chunk_vectors.search(query, 12)}
    assert found == {f"n{i}" for i in range(1, 12, 2)}


def test_ten_small_commits_are_merged_into_one_segment(tmp_path):
    for i in range(MERGE_FACTOR):
        ingest(tmp_path, news(i))
    rows = Snapshot(tmp_path).store.segments()
    assert len(rows) < MERGE_FACTOR and sum(r.vectors for r in rows) == MERGE_FACTOR


def test_the_merge_policy_joins_neighbours_of_one_tier_only():
    def rows(*sizes):
        first, made = 1, []
        for number, size in enumerate(sizes):
            made.append(SegmentRow(name=f"s{number}", first_id=first, last_id=first + size - 1, vectors=size, kind="flat"))
            first += size
        return made

    assert tier(9) == 0 and tier(10) == 1 and tier(99_999) == 4
    assert plan(rows(500, *[3] * 9)) is None
    chosen = plan(rows(500, *[3] * 10))
    assert [r.name for r in chosen] == [f"s{i}" for i in range(1, 11)]
    assert plan(rows(*[3] * 5, 50, *[3] * 5)) is None  # never across a bigger neighbour


def test_a_snapshot_keeps_its_commit_while_a_newer_one_lands(tmp_path):
    ingest(tmp_path, news(1))
    old = Snapshot(tmp_path)
    ingest(tmp_path, news(2), news(3))
    new = Snapshot(tmp_path)
    assert (old.manifest.articles, new.manifest.articles) == (1, 3)
    assert {a.id for a in old.store.list_articles(None, None, None, 0, 10)[1]} == {"n1"}
    query = HashingEmbedder().encode_queries(["berita pemilu"])[0]
    assert {old.store.chunks([i])[i].article_id for i, _ in old.chunk_vectors.search(query, 10)} == {"n1"}
    assert old.lexical.search("pemilu", 10) and len(new.lexical.search("pemilu", 10)) == 3
    assert old.version < new.version


def test_near_duplicates_are_grouped_as_they_arrive_and_regrouped_when_one_goes(tmp_path):
    ingest(tmp_path, Article(id="wire", text=WIRE, published=dt.date(2025, 3, 1)))
    ingest(tmp_path, Article(id="copy1", text="JAKARTA - " + WIRE, published=dt.date(2025, 3, 2)))
    ingest(tmp_path, Article(id="copy2", text=WIRE + " (ant)", published=dt.date(2025, 3, 3)),
           Article(id="other", text=news(1).text * 3))
    store = Snapshot(tmp_path).store
    assert store.canonical_of(["wire", "copy1", "copy2", "other"]) == {"wire": "wire", "copy1": "wire", "copy2": "wire"}
    with writer_for(tmp_path) as writer:
        writer.delete("wire")
        writer.commit()
    store = Snapshot(tmp_path).store
    assert store.canonical_of(["copy1", "copy2"]) == {"copy1": "copy1", "copy2": "copy1"}
    with writer_for(tmp_path) as writer:
        writer.delete("copy2")
        writer.commit()
    assert Snapshot(tmp_path).store.canonical_of(["copy1"]) == {}  # a group of one is no group


@pytest.mark.parametrize("question", ["\u00ccL\u00d1\u00f9A#\U0003f9b4\u0001\u00f4", "x\u00b2 caf\u00e9 a_b", "\"OR\" AND NOT"])
def test_any_words_reach_the_lexical_index_without_breaking_its_query_syntax(tmp_path, question):
    ingest(tmp_path, Article(id="kafe", text="Caf\u00e9 x\u00b2 dan a_b dibuka di Bandung. OR AND NOT kata biasa."))
    assert isinstance(Snapshot(tmp_path).lexical.search(question, 5), list)
    assert Snapshot(tmp_path).lexical.search("caf\u00e9", 5)


def test_a_large_segment_is_ivf_and_its_answers_are_rescored_exactly(tmp_path, monkeypatch):
    import index.vectors as vectors

    monkeypatch.setattr(vectors, "IVF_MIN_VECTORS", 1500)
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(30, 64)).astype(np.float32)
    data = centres[rng.integers(0, 30, 2000)] + 0.3 * rng.normal(size=(2000, 64)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    ids = np.arange(1, 2001, dtype=np.int64)
    matrix = vectors.VectorMatrix(tmp_path / "m.f16", 64)
    matrix.write(1, data)
    kind = vectors.build_segment(tmp_path / "seg.faiss", ids, data)
    assert kind == "ivf-sq8"
    segment = vectors.Segment.load(tmp_path, SegmentRow(name="seg.faiss", first_id=1, last_id=2000, vectors=2000,
                                                        kind=kind))
    searcher = vectors.ChunkVectors([segment], np.array([5], dtype=np.int64), matrix.reader(2000), 1999)
    for row in (0, 17, 999):
        hits = searcher.search(data[row], 10)
        assert hits[0][0] == row + 1 and abs(hits[0][1] - 1.0) < 2e-3  # itself, scored from the float16 row
    assert 5 not in {i for i, _ in searcher.search(data[4], 10)}  # a tombstone never comes back


def test_the_embedded_engine_offers_what_the_protocol_promises(tmp_path):
    from index.protocol import ArchiveSnapshot, ArchiveWriter, Documents

    ingest(tmp_path, news(1))
    snapshot = Snapshot(tmp_path)
    for protocol, thing in ((ArchiveSnapshot, snapshot), (Documents, snapshot.store)):
        missing = [name for name in protocol.__annotations__ if not hasattr(thing, name)]
        missing += [name for name, value in vars(protocol).items()
                    if callable(value) and not name.startswith("_") and not hasattr(thing, name)]
        assert not missing, (protocol.__name__, missing)
    with writer_for(tmp_path) as writer:
        assert not [name for name, value in vars(ArchiveWriter).items()
                    if callable(value) and not name.startswith("_") and not hasattr(writer, name)]


def test_a_group_held_together_only_by_the_deleted_article_splits_in_two(tmp_path):
    """A copies B's first 80 words, C its last 80: both are B's near-duplicates, not each other's. When B goes,
    A and C are no longer listed as one story."""
    words = [f"kata{n}" for n in range(100)]
    fresh = [f"baru{n}" for n in range(40)]
    middle = " ".join(words)
    first_part = " ".join(words[:80] + fresh[:20])
    last_part = " ".join(fresh[20:] + words[20:])
    ingest(tmp_path, Article(id="b", text=middle, published=dt.date(2025, 3, 1)),
           Article(id="a", text=first_part, published=dt.date(2025, 3, 2)),
           Article(id="c", text=last_part, published=dt.date(2025, 3, 3)),
           Article(id="a2", text=first_part + " (ant)", published=dt.date(2025, 3, 4)),
           Article(id="c2", text="JAKARTA - " + last_part, published=dt.date(2025, 3, 4)))
    ids = ["a", "a2", "b", "c", "c2"]
    assert Snapshot(tmp_path).store.canonical_of(ids) == dict.fromkeys(ids, "b")
    with writer_for(tmp_path) as writer:
        writer.delete("b")
        writer.commit()
    assert Snapshot(tmp_path).store.canonical_of(ids) == {"a": "a", "a2": "a", "c": "c", "c2": "c"}
