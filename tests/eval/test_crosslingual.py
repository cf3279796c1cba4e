"""The translated questions (data/crosslingual) keep the reader's split: nothing a model may be fitted on is a
dev question, and each translation asks for exactly what its Indonesian question asks for."""

from __future__ import annotations

import json

import pytest

from eval.questions import load_questions
from tests.conftest import ROOT, SHARED

FOLDER = ROOT / "data" / "crosslingual"
DEV = ROOT / "rag" / "data" / "reader" / "dev"


@pytest.mark.parametrize("name", ["tydiqa_id", "facqa"])
@pytest.mark.parametrize("part", ["train", "dev"])
def test_translations_follow_the_readers_split_and_keep_their_gold(name, part):
    translated = load_questions(FOLDER / f"{name}-{part}.jsonl")
    raw = [json.loads(line) for line in (FOLDER / f"{name}-{part}.jsonl").read_text().splitlines() if line.strip()]
    assert len({q.id for q in translated}) == len(translated) > 0
    assert all(r["id"] == f"{r['translated_from']}:{r['lang']}" and r["lang"] in ("en", "zh", "ru") for r in raw)
    dev_ids = {q.id for q in load_questions(DEV / f"{name}.jsonl")}
    sources = {r["translated_from"] for r in raw}
    assert sources <= dev_ids if part == "dev" else not sources & dev_ids
    public = SHARED / "datasets" / name / "questions.jsonl"
    if not public.exists():
        pytest.skip("the shared data sets are not beside the repository")
    originals = {q.id: q for q in load_questions(public)}
    for row, question in zip(raw, translated):
        original = originals[row["translated_from"]]
        assert (question.answers, question.gold_doc_ids) == (original.answers, original.gold_doc_ids)
        assert question.question != original.question
