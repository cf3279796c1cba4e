"""Question sets in the datasets' FORMAT.md: answerable, retrieval-only and unanswerable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

Kind = Literal["answerable", "retrieval-only", "unanswerable"]

# Issue 12's out-of-domain checks: measured, never trained, tuned or fitted on (English questions on Indonesian
# passages, real news pages, long articles; xlsum is also non-commercial).
CHECK_SETS = ("belebele_id_en", "seeds", "xlsum_id_sample")


def check_set_of(path: Path | str) -> str | None:
    """The check set a question file or an eval index belongs to, by its folder or the index's name, or None.

    `eval.runner.ensure_index` names an index after its set (`seeds-f37966ae6a3d`); a set's questions live in its
    folder.
    """
    for part in Path(path).parts:
        for name in CHECK_SETS:
            if part == name or part.startswith(f"{name}-"):
                return name
    return None


def refuse_check_cases(cases: list[str], verb: str, hint: str) -> None:
    """Exit with a clear message when a `--case INDEX_DIR=QUESTIONS[:...]` asks a check set's questions, or asks any
    questions of a check set's archive (a curve fitted there has seen the archive it is measured on)."""
    for case in cases:
        index_dir, _, questions = case.partition("=")
        checked = check_set_of(questions) or check_set_of(index_dir)
        if checked:
            raise SystemExit(f"--case {case}: {checked} is a check set, never {verb} (neither its questions nor "
                             f"others asked of its archive); {hint}")


def refuse_check_sets(names: list[str], verb: str) -> None:
    """Exit with a clear message when a command that fits something is given a check set in `--sets`."""
    checked = [name for name in names if check_set_of(name)]
    if checked:
        raise SystemExit(f"--sets: {', '.join(checked)} {'is a check set' if len(checked) == 1 else 'are check sets'}, "
                         f"never {verb}; measure it with `kabar eval` instead")


class Question(BaseModel):
    id: str
    question: str
    lang: str = "und"
    answers: list[str] = Field(default_factory=list)
    gold_doc_ids: list[str] = Field(default_factory=list)

    @property
    def kind(self) -> Kind:
        if not self.gold_doc_ids:
            return "unanswerable"
        return "answerable" if self.answers else "retrieval-only"

    def answer_in(self, text: str) -> str | None:
        """The first of the answer strings that the text holds (any case), or None."""
        lowered = text.lower()
        return next((answer for answer in self.answers if answer.lower() in lowered), None)

    def contains_answer(self, text: str) -> bool:
        return self.answer_in(text) is not None


def load_questions(path: Path) -> list[Question]:
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            questions.append(Question.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise ValueError(f"{path}:{number}: not a question record ({exc.__class__.__name__})") from None
    if not questions:
        raise ValueError(f"{path}: no questions")
    return questions
