"""Countries and regions named in the asker's language are searched by the archive's names too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.place_names import archive_names, with_archive_names
from rag.service import Kabar
from tests.conftest import build_index


@pytest.mark.parametrize(("question", "names"), [
    ("Which country will host the China–Central Asia summit in 2025?", {"Tiongkok", "Asia Tengah"}),
    ("Why did Saudi Arabia stop issuing umrah permits?", {"Arab Saudi"}),
    ("What happened in South Korea?", {"Korea Selatan"}),  # the longer name, not "Korea" inside it
    ("Где пройдет саммит Китая и Центральной Азии?", {"Tiongkok", "Asia Tengah"}),  # inflected Russian
    ("2025年中国—中亚峰会在哪里举行？", {"Tiongkok", "Asia Tengah"}),  # no spaces between Chinese words
    ("Siapakah pimpinan legislatif China?", {"Tiongkok"}),  # Indonesian questions say "China" too
    ("Siapa warga Perancis yang memenangi Nobel?", {"Prancis"}),  # the Malay spelling
])
def test_a_country_or_region_named_in_another_language_brings_the_archive_s_name(question: str, names: set[str]):
    assert set(archive_names(question)) == names


@pytest.mark.parametrize("question", [
    "Siapa Menteri Luar Negeri Kirgistan yang hadir di Chengdu?",  # nothing named another way
    "Apa ibu kota Jepang?",  # already the archive's name
    "China and Tiongkok: are they one?",  # the archive's name is already asked
    "Who is Michael Jordan?",  # a person's name, not Jordan the country
    "Is fine china fragile?",  # tableware: not capitalised
    "Что обсуждали на саммите?",  # "саммит" is not Samoa
])
def test_nothing_is_added_where_nothing_is_named_differently(question: str):
    assert archive_names(question) == ()
    assert with_archive_names(question) == question


def test_the_names_are_appended_to_what_is_searched():
    assert with_archive_names("Did China sign?") == "Did China sign? Tiongkok"


def test_an_english_question_finds_the_indonesian_passage_by_its_names_and_says_what_it_searched(
        tmp_path: Path, cache_dir: Path):
    """The hashing embedder reads words only, like BM25: without the names stage nothing links "China" to
    "Tiongkok"; with it, the passage about Tiongkok comes first and the reply shows the words searched."""
    records = [
        {"id": "tiongkok", "title": "Kerja sama", "lang": "id", "published": "2024-12-02",
         "text": "Tiongkok dan Asia Tengah sepakat memperluas perdagangan digital tahun depan."},
        {"id": "other", "title": "Cuaca", "lang": "id", "published": "2024-12-02",
         "text": "Hujan deras melanda kota pada hari Minggu dan cooperation festival ditunda."},
    ]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    service = Kabar(build_index(tmp_path / "index", "hashing", cache_dir, paths=[corpus]))
    question = "What cooperation did China and Central Asia agree on?"

    named = service.search(question, k=2, mode="default-no-reader")
    assert named.passages[0].citation.article_id == "tiongkok"
    assert named.searched_for == f"{question} Tiongkok Asia Tengah"
    unnamed = service.search(question, k=2, mode="default-no-reader-no-names")
    assert unnamed.passages[0].citation.article_id == "other"
    assert unnamed.searched_for is None
