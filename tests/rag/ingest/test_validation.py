"""Bad input files are refused with a reason, the same way from every path in."""

from __future__ import annotations

import json
import os
import time

import pytest

from rag.ingest.readers import articles_from_upload, read_articles
from rag.ingest.validation import id_problem, text_problem
from rag.models import Article

STORY = ("Banjir melanda Jakarta Timur pada hari Senin pagi. Ribuan warga mengungsi ke masjid dan sekolah. "
         "Petugas membuka dapur umum di kantor kelurahan.")
BOILERPLATE = ("Baca juga: Harga emas naik hari ini\nAdvertisement\n"
               "Berlangganan Kompas.id sekarang dan dapatkan diskon 50% untuk tahun pertama!\n"
               "Baca juga: Jokowi resmikan tol baru\nScroll to continue with content\n")


def read(path) -> list:
    return list(read_articles([path]))


def test_random_bytes_named_txt_are_not_an_article(tmp_path):
    path = tmp_path / "photo.txt"
    path.write_bytes(os.urandom(5000))
    [result] = read(path)
    assert not isinstance(result, Article) and "not UTF-8 text" in result.message


@pytest.mark.parametrize("text,reason", [
    ("\x01\x02\x03\x04 abc def ghi \x05\x06\x07\x08", "control characters"),
    ("1234 5678 #### $$$$ 9999 %%%% 0000 ---- ++++ ====", "no words"),
    ("   \n\t ", "no text"),
])
def test_text_that_is_not_prose_has_a_reason(text, reason):
    assert reason in text_problem(text)


def test_real_articles_in_any_script_pass():
    assert text_problem(STORY) is None
    assert text_problem("下一届中国—中亚峰会将在哈萨克斯坦举行。中国外长王毅出席会议。") is None
    assert text_problem("Где пройдёт следующий саммит? В Казахстане, в 2025 году.") is None


def test_an_oversized_page_is_skipped_without_being_read(tmp_path):
    path = tmp_path / "dump.txt"
    with path.open("wb") as handle:
        handle.truncate(50_000_000)  # 50 MB, sparse: reading it would be the bug
    started = time.perf_counter()
    [result] = list(read_articles([path], max_article_bytes=2_000_000))
    assert time.perf_counter() - started < 1.0
    assert "larger than the 2 MB" in result.message and "KABAR_MAX_ARTICLE_BYTES" in result.message


def test_an_oversized_jsonl_record_is_skipped_and_the_rest_read(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text(json.dumps({"id": "big", "text": "kata " * 500_000}) + "\n"
                    + json.dumps({"id": "ok", "text": STORY}) + "\n")
    results = list(read_articles([path], max_article_bytes=1_000_000))
    assert "larger than" in results[0].message and results[0].location.endswith(":1")
    assert isinstance(results[1], Article) and results[1].id == "ok"


@pytest.mark.parametrize("suffix", [".txt", ".html"])
def test_a_page_that_is_only_boilerplate_is_refused_from_text_and_html_alike(tmp_path, suffix):
    path = tmp_path / f"promo{suffix}"
    if suffix == ".html":
        paragraphs = "".join(f"<p>{line}</p>" for line in BOILERPLATE.splitlines())
        path.write_text(f"<html><head><title>Promo</title></head><body><article>{paragraphs}</article></body></html>")
    else:
        path.write_text(BOILERPLATE)
    [result] = read(path)
    assert not isinstance(result, Article), result


@pytest.mark.parametrize("article_id", ["a/b", "../../etc/passwd", "..", ".", "x\\y", "tab\there"])
def test_unsafe_ids_are_refused_everywhere(tmp_path, article_id):
    assert id_problem(article_id)
    path = tmp_path / "corpus.jsonl"
    path.write_text(json.dumps({"id": article_id, "text": STORY}) + "\n")
    [result] = read(path)
    assert not isinstance(result, Article) and "not allowed" in result.message
    [uploaded] = articles_from_upload("corpus.jsonl", path.read_bytes())
    assert not isinstance(uploaded, Article)


def test_ids_with_dots_and_spaces_that_are_safe_pass():
    for article_id in ("kompas-2024.01.05", "...", ".hidden", "Berita 1"):
        assert id_problem(article_id) is None


def test_a_duplicate_id_inside_one_file_is_reported_and_the_first_kept(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps({"id": "same", "text": f"{STORY} Versi {n}."}) + "\n" for n in (1, 2)))
    first, second = read(path)
    assert isinstance(first, Article) and first.text.endswith("Versi 1.")
    assert "duplicate id 'same'" in second.message and "line 1" in second.message
