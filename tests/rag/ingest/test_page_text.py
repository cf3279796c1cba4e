"""The sample pages: metadata comes out right and no boilerplate gets in."""

import datetime as dt

import pytest

from rag.ingest.readers import read_articles
from tests.conftest import SAMPLES, SUMMIT_ARTICLE, XIAN_ARTICLE

BOILERPLATE = [
    "Terkini Lainnya", "Berita Lainnya", "Baca juga", "WhatsApp", "Komentar", "Close Ads", "Login untuk",
    "Baca berita tanpa iklan", "banner", "Forum Pangan Dunia", "Penikaman di China", "Arab Saudi Setop",
    "Singapore Airlines", "Papua Nugini", "Gabung Kompas.com+", "Bagikan artikel",
]


@pytest.fixture(scope="module")
def articles():
    return {a.id: a for a in read_articles(sorted(SAMPLES.glob("*.txt")))}


def test_summit_article_metadata(articles):
    article = articles[SUMMIT_ARTICLE]
    assert article.title.startswith("Tiongkok dan Asia Tengah Berjanji")
    assert article.published == dt.date(2024, 12, 2)
    assert article.author == "Eko Satrio Wibowo"
    assert article.source == "Radio Bharata Online"


def test_kompas_article_metadata(articles):
    article = articles[XIAN_ARTICLE]
    assert article.title == "Pemimpin Asia Berkumpul di China, Promosikan Persahabatan Abadi"
    assert article.published == dt.date(2023, 5, 18)
    assert article.author == "Tito Hilmawan Reditya"
    assert article.source == "Kompas.com"


@pytest.mark.parametrize("article_id", [SUMMIT_ARTICLE, XIAN_ARTICLE])
def test_no_boilerplate_reaches_the_text(articles, article_id):
    text = articles[article_id].text
    for phrase in BOILERPLATE:
        assert phrase.lower() not in text.lower(), phrase


@pytest.mark.parametrize("article_id", [SUMMIT_ARTICLE, XIAN_ARTICLE])
def test_story_is_kept_from_dateline_to_last_paragraph(articles, article_id):
    text = articles[article_id].text
    assert text.startswith(("Chengdu, Radio Bharata Online -", "BEIJING, KOMPAS.com -"))
    assert text.rstrip().endswith(("antara Tiongkok dan Asia Tengah.", 'masing-masing negara bagian kami."'))
    assert articles[article_id].title not in text  # the duplicated headline is gone
