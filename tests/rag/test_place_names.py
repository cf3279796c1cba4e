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
    ("Who is the Chinese foreign minister?", {"Tiongkok"}),  # a nation's adjective, from its language's name
    ("What does Kyrgyz President Japarov want?", {"Kirgizstan"}),
    ("Кто китайский министр иностранных дел?", {"Tiongkok"}),
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
    "Is English taught in Spanish schools?",  # languages named after no single country
    "Siapa duta besar Korea?",  # Malay language names are country names: nothing to add
])
def test_nothing_is_added_where_nothing_is_named_differently(question: str):
    assert archive_names(question) == ()
    assert with_archive_names(question) == question


def test_the_names_are_appended_to_what_is_searched():
    assert with_archive_names("Did China sign?") == "Did China sign? Tiongkok"


def test_an_english_question_reaches_the_indonesian_passage_by_its_words_and_says_what_it_searched(
        tmp_path: Path, cache_dir: Path):
    """BM25 and the rare-word overlap read words: without the names stage nothing links "China" to "Tiongkok"
    (the vectors do that on their own, and keep the asker's words); with it, the passage about Tiongkok is found
    lexically and holds the question's rare words, and the reply shows the words searched."""
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

    def tiongkok_scores(mode: str) -> dict[str, float]:
        found = service.search(question, k=2, mode=mode).passages
        return next(p.scores for p in found if p.citation.article_id == "tiongkok")

    named, unnamed = tiongkok_scores("default-no-reader"), tiongkok_scores("default-no-reader-no-names")
    # Only "Asia" links them without the names; "Tiongkok", "Asia Tengah" add to both word signals.
    assert named["bm25"] > 2 * unnamed.get("bm25", 0.0)
    assert named["overlap"] > 2 * unnamed["overlap"]
    assert service.search(question, k=2).searched_for == f"{question} Tiongkok Asia Tengah"
    assert service.search(question, k=2, mode="default-no-names").searched_for is None
