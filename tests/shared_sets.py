"""Small copies of the shared question sets, for tests that run a training command end to end in seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SHARED


def write_subset(data: Path, name: str, questions: int, extra_articles: int, unanswerable: int = 0) -> None:
    """`data/name/`: the set's first `questions` questions (and its first `unanswerable` "no answer" ones),
    their gold articles and the corpus's first `extra_articles` articles. Skips the test without ../shared."""
    source = SHARED / "datasets" / name
    if not source.exists():
        pytest.skip("the shared data sets are not beside the repository")
    lines = [line for line in (source / "questions.jsonl").read_text().splitlines() if line.strip()]
    rows = [json.loads(line) for line in lines[:questions]]
    rows += [row for row in map(json.loads, lines) if not row["gold_doc_ids"]][:unanswerable]
    wanted = {doc for row in rows for doc in row["gold_doc_ids"]}
    corpus = [line for line in (source / "corpus.jsonl").read_text().splitlines() if line.strip()]
    kept = [line for line in corpus if json.loads(line)["id"] in wanted] + corpus[:extra_articles]
    (data / name).mkdir(parents=True)
    (data / name / "corpus.jsonl").write_text("\n".join(dict.fromkeys(kept)) + "\n")
    (data / name / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
