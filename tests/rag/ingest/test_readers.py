import datetime as dt
import json

from rag.ingest.readers import IngestError, expand_paths, read_articles


def test_jsonl_corpus_records_become_articles(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps({"id": "a1", "title": "T", "text": "Isi berita.\nBaca juga: lain", "source": "S",
                                  "published": "2024-01-02", "lang": "id"}) + "\n", encoding="utf-8")
    [article] = list(read_articles([corpus]))
    assert article.id == "a1" and article.published == dt.date(2024, 1, 2) and article.lang == "id"
    assert article.text == "Isi berita."


def test_bad_records_are_reported_with_their_line_and_the_rest_is_kept(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "\n".join([
            json.dumps({"id": "ok", "text": "Baik."}),
            "{not json",
            json.dumps({"id": "x"}),
            json.dumps({"id": "d", "text": "Teks.", "published": "kemarin"}),
        ]),
        encoding="utf-8",
    )
    items = list(read_articles([corpus]))
    assert [i.id for i in items if not isinstance(i, IngestError)] == ["ok"]
    errors = [i for i in items if isinstance(i, IngestError)]
    assert [e.location.rsplit(":", 1)[1] for e in errors] == ["2", "3", "4"]
    assert "invalid JSON" in errors[0].message and "text" in errors[1].message and "ISO date" in errors[2].message


def test_html_pages_use_the_main_content_and_page_metadata(tmp_path):
    page = tmp_path / "berita.html"
    page.write_text(
        """<html><head><title>Judul - Situs</title><meta property="og:title" content="Judul Berita Asli">
        <meta property="og:site_name" content="Kompas.com">
        <meta property="article:published_time" content="2023-05-18T16:00:00+07:00">
        <meta name="author" content="Tito Hilmawan"></head><body><nav>Beranda | Global | Login</nav>
        <article><h1>Judul Berita Asli</h1>
        <p>BEIJING, KOMPAS.com - Para kepala negara Asia Tengah berkumpul di kota bersejarah Xian di China pada
        Kamis untuk bertemu langsung dengan pemimpin China Xi Jinping dalam pertemuan puncak pertama.</p>
        <p>Baca juga: Berita lain yang tidak relevan</p>
        <p>Mereka menyegel janji persahabatan abadi, membuka jalan bagi pertemuan puncak regional dengan Beijing.</p>
        </article><footer>Hak cipta</footer><script>alert(1)</script></body></html>""",
        encoding="utf-8",
    )
    [article] = list(read_articles([page]))
    assert article.id == "berita"
    assert article.title == "Judul Berita Asli"
    assert article.published == dt.date(2023, 5, 18)
    assert article.source == "Kompas.com"
    assert "Baca juga" not in article.text and "Beranda" not in article.text and "alert" not in article.text
    assert "persahabatan abadi" in article.text


def test_missing_and_unsupported_paths_are_errors(tmp_path):
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    files, errors = expand_paths([tmp_path / "missing", tmp_path / "image.png"])
    assert files == []
    assert [e.message for e in errors] == ["no such file or directory", "unsupported file type '.png'"]
