from rag.text import sanitize, sentence_spans


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def test_sentences_end_at_terminal_punctuation():
    assert sentences("Ia datang. Lalu pergi! Benarkah? Ya.") == ["Ia datang.", "Lalu pergi!", "Benarkah?", "Ya."]


def test_indonesian_abbreviations_and_initials_do_not_end_sentences():
    text = "Kantornya di Jl. Sudirman No. 5 dipimpin Dr. A. Budi dengan modal Rp. 5 juta. Ia senang."
    assert sentences(text) == ["Kantornya di Jl. Sudirman No. 5 dipimpin Dr. A. Budi dengan modal Rp. 5 juta.", "Ia senang."]


def test_quotes_and_numbers():
    text = '"Kami senang," kata Tokayev. Harga naik 1.000 persen. "Betul." Lalu 2025 tiba.'
    assert sentences(text) == ['"Kami senang," kata Tokayev.', "Harga naik 1.000 persen.", '"Betul."', "Lalu 2025 tiba."]


def test_line_breaks_always_end_a_sentence_and_offsets_are_exact():
    text = "Judul tanpa titik\n\nParagraf pertama. Kedua.\nBaris baru"
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == ["Judul tanpa titik", "Paragraf pertama.", "Kedua.", "Baris baru"]


def test_sanitize_removes_nul_and_lone_surrogates():
    assert sanitize("a\x00b\ud800c\r\nd") == "a b?c\nd"
