"""The reader's training examples: what a question is taught with, by the recipe that builds them."""

from __future__ import annotations

import json
from pathlib import Path

from eval.train_reader import build_dataset, split_of

BIRTH = "Budi lahir di kota Bandung pada tahun 1950 dan tumbuh besar di sana bersama keluarganya. " * 4
CAREER = "Ia kemudian bekerja sebagai guru sekolah dasar selama tiga puluh tahun di pedesaan. " * 4
ELSEWHERE = "Kota Bandung dikenal sebagai kota kembang dan kota pelajar di Jawa Barat."
UNRELATED = "Harga cabai di pasar naik dua kali lipat menjelang hari raya, kata pedagang yang lahir di Garut."


def tiny_set(folder: Path) -> None:
    """One article about Budi in two chunks (the first holds the answer), one that names the answer for
    another reason, one about something else; a question about Budi and one nobody answers."""
    (folder / "tiny").mkdir(parents=True)
    articles = [{"id": "budi", "title": "Budi", "text": BIRTH + "\n\n" + CAREER},
                {"id": "kota", "title": "Bandung", "text": ELSEWHERE},
                {"id": "pasar", "title": "Pasar", "text": UNRELATED}]
    questions = [{"id": "q1", "question": "Di kota mana Budi lahir?", "answers": ["Bandung"], "gold_doc_ids": ["budi"]},
                 {"id": "q2", "question": "Kapan Budi menikah?", "answers": [], "gold_doc_ids": []}]
    (folder / "tiny" / "corpus.jsonl").write_text("".join(json.dumps(a) + "\n" for a in articles))
    (folder / "tiny" / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))


def kinds_of(examples, question: str) -> list[tuple[str, str, bool]]:
    return [(e.kind, e.text[:12], e.answer is not None) for e in examples if e.question == question]


def test_with_the_passages_read_a_question_learns_from_what_retrieval_showed_it(tmp_path):
    tiny_set(tmp_path)
    assert split_of("tiny:budi") == "train"
    career_start = len(BIRTH) + 2
    shown = {"tiny": {
        # Retrieval showed the right article's second chunk first, then the article that also says "Bandung",
        # then one on another topic; it missed the answering chunk.
        "q1": [("budi", career_start, career_start + 300), ("kota", 0, len(ELSEWHERE)), ("pasar", 0, len(UNRELATED))],
        "q2": [("budi", 0, 300), ("pasar", 0, len(UNRELATED))]}}
    data = build_dataset(tmp_path, ("tiny",), None, seed=1, code_switch_share=0.0, shown=shown)

    # The answering chunk is always taught; the right article's other chunk and the unrelated article are the
    # negatives; the article that names "Bandung" might answer too, so it teaches nothing either way.
    assert sorted(kinds_of(data.train, "Di kota mana Budi lahir?")) == sorted([
        ("positive", BIRTH[:12], True), ("read-negative", CAREER[:12], False), ("read-negative", UNRELATED[:12], False)])
    # A question nobody answers learns "no" from each passage it was shown.
    assert sorted(kinds_of(data.train, "Kapan Budi menikah?")) == sorted([
        ("unanswerable", BIRTH[:12], False), ("unanswerable", UNRELATED[:12], False)])


def test_without_them_a_question_gets_one_bm25_near_miss_from_another_article(tmp_path):
    tiny_set(tmp_path)
    data = build_dataset(tmp_path, ("tiny",), None, seed=1, code_switch_share=0.0)
    taught = kinds_of(data.train, "Di kota mana Budi lahir?")
    assert ("positive", BIRTH[:12], True) in taught
    assert [kind for kind, text, _ in taught if kind != "positive"] == ["hard-negative"]
    assert all(not text.startswith(CAREER[:12]) for _, text, _ in taught)
