"""A question and its passages as the reader reads them: alone, or together in one sequence."""

from __future__ import annotations

import functools

from rag.reader.e5_file import E5Tokenizer, read_e5_file
from rag.reader.encoding import MAX_TOGETHER_TOKENS, encode_pair, encode_passages
from rag.text import sentence_spans


@functools.lru_cache(maxsize=1)
def tokenizer() -> E5Tokenizer:
    return E5Tokenizer(read_e5_file())


def passage(text: str, title: str | None = None) -> tuple[str | None, str, list[tuple[int, int]]]:
    return title, text, sentence_spans(text)


BIRTH = "Budi lahir di Bandung pada tahun 1950. Ia tumbuh besar di sana bersama keluarganya."
CAREER = "Budi bekerja sebagai guru selama tiga puluh tahun. Muridnya tersebar di seluruh Jawa Barat."
MARKET = "Harga cabai naik dua kali lipat menjelang hari raya."


def test_passages_read_together_number_their_sentences_in_order_and_each_token_knows_its_passage():
    passages = [passage(BIRTH, "Budi"), passage(CAREER), passage(MARKET)]
    item = encode_passages(tokenizer(), "Di mana Budi lahir?", passages)

    assert item.sentence_passage == [0, 0, 1, 1, 2]
    assert item.sentences == [*passages[0][2], *passages[1][2], *passages[2][2]]
    for token, ((start, end), number, sentence) in enumerate(zip(item.offsets, item.passage_of, item.sentence_of)):
        if number < 0:  # the question, a headline, a separator: no passage's characters, no sentence
            assert (start, end) == (-1, -1) and sentence == -1
            continue
        text = passages[number][1]
        assert 0 <= start < end <= len(text)
        # Sentence numbers run across passages; a token's sentence is one of its own passage's.
        assert sentence == -1 or item.sentence_passage[sentence] == number
        if sentence >= 0:
            s, e = item.sentences[sentence]
            assert s <= end - 1 < e
    # Alone, the same passage reads the same characters with the same tokens.
    alone = encode_pair(tokenizer(), "Di mana Budi lahir?", "Budi", BIRTH, passages[0][2])
    together_ids = [t for t, number in zip(item.ids, item.passage_of) if number == 0]
    assert together_ids == [t for t, (s, _) in zip(alone.ids, alone.offsets) if s >= 0]


def test_each_passage_gets_an_equal_share_so_a_long_first_one_cannot_crowd_out_the_last():
    long = " ".join(f"Kalimat nomor {n} berbicara tentang hal yang sama sekali lain." for n in range(80))
    item = encode_passages(tokenizer(), "Di mana Budi lahir?", [passage(long), passage(CAREER), passage(BIRTH)])

    assert len(item.ids) <= MAX_TOGETHER_TOKENS
    assert 2 in item.sentence_passage  # the last passage is read, sentences and all
    last = [s for s, p in zip(item.sentences, item.sentence_passage) if p == 2]
    assert last == sentence_spans(BIRTH)
    # The long one is cut where its share ends; its unread sentences are not scored.
    assert sum(p == 0 for p in item.sentence_passage) < len(sentence_spans(long))
