"""Word statistics are kept up to date by the writer, so no question after a commit recounts the archive."""

from __future__ import annotations

from index import Snapshot
from index.writer import IndexWriter
from rag.chunk import Chunker
from rag.embed.hashing import HashingEmbedder
from rag.ingest.pipeline import Ingestor
from rag.lexical import TermStatistics, tokens
from rag.models import Article
from rag.service import Kabar
from rag.settings import Settings

ARTICLES = [
    Article(id="a", text="Banjir melanda Jakarta Timur. Ribuan warga Jakarta mengungsi ke masjid."),
    Article(id="b", text="Gempa mengguncang Palu pada malam hari. Warga Palu berlari ke lapangan."),
    Article(id="c", text="Presiden meresmikan jalan tol baru di Sumatra. Tol itu menghubungkan dua provinsi."),
]


def ingest(index_dir, articles):
    Ingestor(HashingEmbedder(), Chunker(200, 20)).ingest_articles(iter(articles), index_dir, progress=False)


def assert_counts_match_a_full_recount(index_dir):
    snapshot = Snapshot.open(index_dir)
    assert snapshot.store.term_counts_complete()
    recount = TermStatistics(snapshot.store.sentence_texts())
    kept = TermStatistics.from_store(snapshot.manifest.sentences, snapshot.store.term_frequencies)
    assert kept.n == recount.n
    words = set(recount.df) | {"tidakada", "jakarta"}
    assert {w: kept.df.get(w) for w in words} == {w: recount.df.get(w, 0) for w in words}
    snapshot.close()


def test_counts_follow_adds_replacements_and_deletes(tmp_path):
    ingest(tmp_path, ARTICLES)
    assert_counts_match_a_full_recount(tmp_path)
    ingest(tmp_path, [Article(id="a", text="Banjir surut di Jakarta Timur. Warga kembali ke rumah.")])
    assert_counts_match_a_full_recount(tmp_path)
    record = Snapshot.open(tmp_path).manifest.embedder
    from rag.lexical import sentence_term_counts

    with IndexWriter(tmp_path, record, Chunker(200, 20).describe(), term_counter=sentence_term_counts) as writer:
        writer.delete("b")
        writer.commit()
    assert_counts_match_a_full_recount(tmp_path)


def test_a_writer_that_does_not_count_invalidates_and_the_next_one_recounts(tmp_path):
    ingest(tmp_path, ARTICLES)
    record = Snapshot.open(tmp_path).manifest.embedder
    with IndexWriter(tmp_path, record, Chunker(200, 20).describe()) as writer:  # no counter
        writer.delete("c")
        writer.commit()
    assert not Snapshot.open(tmp_path).store.term_counts_complete()
    ingest(tmp_path, [Article(id="d", text="Harga beras naik di pasar Jakarta. Pedagang mengeluh.")])
    assert_counts_match_a_full_recount(tmp_path)


def test_the_service_reads_the_kept_counts_instead_of_recounting(tmp_path, monkeypatch):
    ingest(tmp_path, ARTICLES)
    service = Kabar(Settings(index_dir=tmp_path, embedder="hashing", reader="off"))

    def recount(*_):
        raise AssertionError("the archive was recounted")

    monkeypatch.setattr("index.store.DocumentStore.sentence_texts", recount)
    terms = service._term_statistics(service.snapshot)
    assert terms.df.get("jakarta") == 2 and terms.overlap(tokens("banjir di Jakarta"), "Banjir di Jakarta") == 1.0
    assert service.ask("Di mana banjir melanda?", mode="dense").passages
