"""Mining the passages read: the reader is taught on the passages a question is answered from."""

from __future__ import annotations

import json

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


def test_other_questions_over_the_same_archive_are_asked_themselves_and_kept_apart(tmp_path):
    data = tmp_path / "datasets"
    write_subset(data, "facqa", 5, 30)
    questions = load_questions(data / "facqa" / "questions.jsonl")[:3]
    translated = tmp_path / "facqa-train.jsonl"
    translated.write_text("".join(json.dumps({"id": f"{q.id}:en", "question": f"Who or what: {q.question}",
                                              "answers": q.answers, "gold_doc_ids": q.gold_doc_ids}) + "\n"
                                  for q in questions))
    said: list[str] = []
    own = passages_read(data, "facqa", tmp_path / "work", None, said.append, embedder="hashing",
                        indexes=tmp_path / "indexes")
    asked = passages_read(data, "facqa", tmp_path / "work", None, said.append, embedder="hashing",
                          indexes=tmp_path / "indexes", questions_file=translated)
    assert set(asked) == {f"{q.id}:en" for q in questions}
    assert set(own) == {q.id for q in load_questions(data / "facqa" / "questions.jsonl")}
    assert len(list((tmp_path / "work").glob("passages-read-facqa*.json"))) == 2
