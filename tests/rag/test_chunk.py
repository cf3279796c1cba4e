from rag.chunk import Chunker
from rag.ingest.readers import read_articles
from rag.models import Article
from tests.conftest import SAMPLES


def test_every_chunk_points_at_its_exact_text():
    chunker = Chunker(600, 100)
    for article in read_articles(sorted(SAMPLES.glob("*.txt"))):
        chunks = chunker.split(article)
        assert chunks
        for chunk in chunks:
            assert article.text[chunk.start:chunk.end] == chunk.text
            assert len(chunk.text) <= 600


def test_repeated_lines_are_located_at_their_own_occurrence():
    line = "Pernyataan yang sama diulang di sini."
    text = "\n\n".join([line, "Paragraf lain yang cukup panjang untuk dipisah." * 3, line, line])
    article = Article(id="r", text=text)
    chunks = Chunker(60, 0).split(article)
    repeated = [c for c in chunks if c.text == line]
    assert len(repeated) == 3
    assert [c.start for c in repeated] == [i for i in range(len(text)) if text.startswith(line, i)]
    for chunk in chunks:
        assert text[chunk.start:chunk.end] == chunk.text


def test_long_paragraphs_are_cut_at_sentence_boundaries():
    sentences = [f"Kalimat nomor {i} menjelaskan sesuatu di Jl. Merdeka." for i in range(30)]
    article = Article(id="s", text=" ".join(sentences))
    for chunk in Chunker(300, 50).split(article):
        assert chunk.text.endswith(".") and chunk.text[0].isupper()
