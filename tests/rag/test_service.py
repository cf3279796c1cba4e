"""Asking the archive: answers, citations, filters and refusals."""

from __future__ import annotations

import datetime as dt

import pytest

from index.manifest import EmbedderMismatchError
from rag.chunk import Chunker
from rag.embed.factory import load_embedder
from rag.ingest.pipeline import Ingestor
from rag.models import Article, AskResult
from rag.retrieve import Filters
from rag.service import Kabar, QuestionError
from rag.settings import Settings
from tests.conftest import SUMMIT_ARTICLE, XIAN_ARTICLE, build_index


def assert_citations_exact(service: Kabar, result: AskResult) -> None:
    citations = [p.citation for p in result.passages] + ([result.answer.citation] if result.answer else [])
    for citation in citations:
        article = service.article(citation.article_id)
        assert article.text[citation.start:citation.end] == citation.cited_text


@pytest.fixture(scope="module")
def hashing_service(hashing_seed_settings: Settings) -> Kabar:
    return Kabar(hashing_seed_settings)


def test_passages_cite_exact_characters(hashing_service):
    result = hashing_service.ask("pertemuan menteri luar negeri di Chengdu", k=5)
    assert len(result.passages) == 5
    assert [p.rank for p in result.passages] == [1, 2, 3, 4, 5]
    assert_citations_exact(hashing_service, result)
    assert set(result.timings_ms) >= {"embed", "retrieve", "answer", "total"}


def test_filters_by_source_and_date(hashing_service):
    by_source = hashing_service.search("pertemuan", k=5, filters=Filters(sources=["kompas.com"]))
    assert by_source.passages and {p.citation.article_id for p in by_source.passages} == {XIAN_ARTICLE}
    by_date = hashing_service.search("pertemuan", k=5, filters=Filters(published_from=dt.date(2024, 1, 1)))
    assert {p.citation.article_id for p in by_date.passages} == {SUMMIT_ARTICLE}
    nothing = hashing_service.ask("pertemuan", filters=Filters(published_to=dt.date(2000, 1, 1)))
    assert nothing.passages == [] and nothing.answer is None
    assert "matches the filters" in nothing.no_answer_reason and "empty" not in nothing.no_answer_reason


@pytest.mark.parametrize("question,k,message", [
    ("   ", 5, "empty"), ("?!? …", 5, "no words"), ("\U0001F600\u200b", 5, "no words"), ("x" * 1001, 5, "longer than"),
    ("ok", 0, "k must be"), ("ok", 51, "k must be"),
])
def test_bad_questions_are_refused_with_a_reason(hashing_service, question, k, message):
    with pytest.raises(QuestionError, match=message):
        hashing_service.ask(question, k=k)


def test_querying_with_another_embedder_is_refused(hashing_seed_settings):
    settings = hashing_seed_settings.model_copy(update={"embedder": "e5"})
    with pytest.raises(EmbedderMismatchError, match="built with hashing"):
        Kabar(settings)


# -- the real multilingual model -----------------------------------------------------------

@pytest.mark.model
def test_the_2025_summit_is_in_kazakhstan(e5_service):
    result = e5_service.ask("where is the 2025 summit?")
    assert result.answer is not None
    assert "Kazakhstan" in result.answer.text
    assert result.answer.citation.article_id == SUMMIT_ARTICLE
    assert result.answer.citation.published == dt.date(2024, 12, 2)
    assert_citations_exact(e5_service, result)


@pytest.mark.model
@pytest.mark.parametrize("question", [
    "Where will the next China–Central Asia summit be held?",
    "Di mana KTT Tiongkok-Asia Tengah berikutnya tahun 2025?",
    "下一届中国—中亚峰会将在哪里举行？",
    "Где пройдет следующий саммит Китай — Центральная Азия в 2025 году?",
])
def test_questions_in_other_languages_find_the_indonesian_passage(e5_service, question):
    result = e5_service.search(question, k=3)
    assert any("Kazakhstan pada tahun 2025" in p.text for p in result.passages)


@pytest.mark.model
@pytest.mark.parametrize("question", [
    "Why did Saudi Arabia stop issuing umrah permits?",
    "How many people died in the stabbing in China?",
    "What did the ICJ order Israel to open?",
    "Berapa orang tewas dalam tanah longsor di Papua Nugini?",
])
def test_questions_only_the_boilerplate_answers_get_no_answer(e5_service, question):
    result = e5_service.ask(question)
    assert result.answer is None, result.answer
    assert result.no_answer_reason


FLOOD_2026 = Article(
    id="banjir-2026", title="Banjir Rendam Ribuan Rumah di Jakarta Timur", source="Contoh", lang="id",
    published=dt.date(2026, 3, 10),
    text="Jakarta - Banjir merendam ribuan rumah di Jakarta Timur setelah hujan deras sejak Minggu malam. "
         "Badan Penanggulangan Bencana Daerah mencatat ketinggian air mencapai satu meter. "
         "Warga mengungsi ke masjid dan sekolah terdekat. Pemerintah provinsi menyiapkan dapur umum.")


def archive_with_newer_news(index_dir, backend: str, cache_dir) -> Settings:
    """The sample articles (the summit reported until December 2024) and a flood story of March 2026: the
    archive's present is 2026, the summit's last news is from 2024."""
    settings = build_index(index_dir, backend, cache_dir)
    Ingestor(load_embedder(backend, None, cache_dir), Chunker(settings.chunk_size, settings.chunk_overlap)
             ).ingest_articles([FLOOD_2026], index_dir, progress=False)
    return settings


@pytest.fixture(scope="module")
def hashing_service_with_news(tmp_path_factory, cache_dir) -> Kabar:
    return Kabar(archive_with_newer_news(tmp_path_factory.mktemp("newer-news"), "hashing", cache_dir))


def test_the_next_event_is_the_next_one_after_the_summits_newest_story_not_after_today(hashing_service):
    # The sample archive's newest article is from 2 December 2024.
    result = hashing_service.ask("Di mana KTT berikutnya akan digelar?")
    assert result.searched_for is not None
    assert "2025" in result.searched_for and str(dt.date.today().year + 1) not in result.searched_for


def test_the_next_event_is_dated_by_the_articles_on_it_not_by_newer_news(hashing_service_with_news):
    service = hashing_service_with_news
    assert service.archive_date(service.snapshot) == dt.date(2026, 3, 10)
    result = service.ask("Di mana KTT berikutnya akan digelar?")
    assert "2024 2025" in result.searched_for and "2026" not in result.searched_for
    assert "event_date" in result.timings_ms
    assert "2024 2025" in service.search("Di mana KTT berikutnya akan digelar?").searched_for
    # A question with a year of its own, or about the asker's own last year, is not re-dated.
    assert "event_date" not in service.ask("Di mana KTT tahun 2025?").timings_ms
    assert "2025" in service.ask("Apa yang terjadi tahun lalu?").searched_for


def test_as_of_bounds_which_articles_date_the_next_event(hashing_service):
    # Asked as of June 2024, the December 2024 report is not yet written: the last summit news is May 2023's.
    before = hashing_service.ask("Di mana KTT berikutnya akan digelar?", as_of=dt.date(2024, 6, 1))
    assert "2023 2024" in before.searched_for and "2025" not in before.searched_for
    # Asked as of 2030, the newest summit news is still December 2024's: the next summit it announced.
    later = hashing_service.ask("Di mana KTT berikutnya akan digelar?", as_of=dt.date(2030, 6, 1))
    assert "2024 2025" in later.searched_for and "2031" not in later.searched_for


@pytest.fixture(scope="module")
def e5_service_with_news(tmp_path_factory, cache_dir) -> Kabar:
    return Kabar(archive_with_newer_news(tmp_path_factory.mktemp("newer-news-e5"), "e5", cache_dir))


@pytest.mark.model
@pytest.mark.parametrize("question", [
    "where will the next summit be held?", "下一届峰会在哪里举行？", "Где пройдет следующий саммит?",
])
def test_the_next_summit_asked_in_any_language_is_the_one_its_news_announced(e5_service_with_news, question):
    result = e5_service_with_news.ask(question)
    assert "2024 2025" in result.searched_for
    assert result.answer is not None and "Kazakhstan" in result.answer.text
    assert result.answer.citation.article_id == SUMMIT_ARTICLE


def test_a_served_archive_that_another_process_writes_to_keeps_its_log_small(tmp_path):
    """A server always holds a snapshot; `settle_log` still empties the documents database's log (index/wal.py)
    while commits come from elsewhere, and the service answers from the newest commit throughout."""
    from index import wal
    from tests.index.test_wal import commit_articles

    commit_articles(tmp_path, 0, 5)
    service = Kabar(Settings(index_dir=tmp_path, cache_dir=tmp_path / "cache", reader="off"))
    docs = tmp_path / "docs.sqlite"
    for batch in range(1, 6):
        commit_articles(tmp_path, batch * 20, 20)
        assert service.ask("Berita banjir di bandara?").passages  # each question opens the newest commit
    assert wal.log_bytes(docs) > 1_000_000 and not service.settle_log(over_bytes=100_000_000)
    held = service.snapshot  # a question still in flight keeps the old snapshot: the log waits for it
    assert not service.settle_log(over_bytes=0) and wal.log_bytes(docs) > 0
    del held
    assert service.settle_log(over_bytes=0) and wal.log_bytes(docs) == 0
    commit_articles(tmp_path, 900, 1)
    assert service.snapshot.manifest.articles == 106 and service.article("a900") is not None


def test_warming_up_asks_one_question_and_a_failure_never_stops_a_start(hashing_seed_settings, monkeypatch):
    import logging

    service = Kabar(hashing_seed_settings)
    assert service.warm_up() > 0

    def broken(*args, **kwargs):
        raise RuntimeError("the reader ran out of memory")

    monkeypatch.setattr(service, "ask", broken)
    warnings: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = warnings.append
    logging.getLogger("kabar.service").addHandler(handler)  # the API's logging does not propagate to pytest's
    try:
        assert service.warm_up() is None
    finally:
        logging.getLogger("kabar.service").removeHandler(handler)
    assert [r.getMessage() for r in warnings] == ["warm-up question failed: the reader ran out of memory"]
