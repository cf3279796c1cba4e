"""Mining the passages read: the reader is taught on the passages a question is answered from."""

from __future__ import annotations

from eval.mine_passages import passages_read
from eval.questions import load_questions
from rag.service import Kabar
from rag.settings import Settings
from tests.shared_sets import write_subset


def test_each_question_gets_the_passages_its_answer_is_chosen_from_and_they_are_kept(tmp_path):
    data = tmp_path / "datasets"
    write_subset(data, "facqa", 5, 30)
    said: list[str] = []
    shown = passages_read(data, "facqa", tmp_path / "work", None, said.append, embedder="hashing",
                          indexes=tmp_path / "indexes")
    questions = load_questions(data / "facqa" / "questions.jsonl")
    assert set(shown) == {q.id for q in questions} and any("mined" in line for line in said)

    service = Kabar(Settings(reader="off", embedder="hashing", index_dir=tmp_path / "indexes" / "facqa"))
    for question in questions:
        passages = service.ask(question.question, k=10).passages
        assert len(shown[question.id]) == service.settings.reader_passages
        assert [p.citation.article_id for p in passages[:3]] == [article for article, _, _ in shown[question.id]]
        for (article_id, start, end), passage in zip(shown[question.id], passages, strict=False):
            text = service.snapshot.store.get_articles([article_id])[article_id].text
            assert passage.text.strip() in text[start:end] or text[start:end].strip() in passage.text

    # Asked once: a second run reads the kept answer instead of asking again.
    said.clear()
    assert passages_read(data, "facqa", tmp_path / "work", None, said.append, embedder="hashing",
                         indexes=tmp_path / "indexes") == shown
    assert said == []
