"""Fitting the "no answer" curve: the operating point, and the command on a real index."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval.calibrate import answerable_bias, main, operating_bias, parse_case_spec, report_checks
from rag.answer import Calibration
from tests.conftest import SUMMIT_ARTICLE, build_index


def write_questions(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture
def index(tmp_path: Path, cache_dir: Path, monkeypatch) -> Path:
    """The sample articles under the hashing embedder, for the command to ask its cases of."""
    settings = build_index(tmp_path / "index", "hashing", cache_dir)
    monkeypatch.setenv("KABAR_CACHE_DIR", str(cache_dir))
    return settings.index_dir


FOREIGN = [{"id": f"f{i}", "question": q, "gold_doc_ids": ["elsewhere"]}
           for i, q in enumerate(["Berapa harga beras di Surabaya?", "Who won the football cup in Brazil?"])]


def test_the_operating_point_refuses_the_asked_share_of_unanswerable_questions():
    logits = np.linspace(-3.0, 3.0, 101)
    for refuse in (0.5, 0.8, 0.95):
        assert np.mean(logits + operating_bias(logits, refuse) < 0) == pytest.approx(refuse, abs=0.011)


def test_the_operating_point_can_be_set_by_the_share_of_answerable_questions_refused():
    logits = np.linspace(-3.0, 3.0, 101)
    for refused in (0.05, 0.1, 0.3):
        assert np.mean(logits + answerable_bias(logits, refused) < 0) == pytest.approx(refused, abs=0.011)
    with pytest.raises(SystemExit, match="between 0 and 1"):
        answerable_bias(logits, 1.0)


@pytest.mark.parametrize("refuse", [0.0, 1.0, 1.5])
def test_a_share_outside_zero_and_one_is_a_clear_error(refuse):
    with pytest.raises(SystemExit, match="between 0 and 1"):
        operating_bias(np.zeros(3), refuse)


def test_a_case_names_its_questions_their_label_and_how_many():
    assert parse_case_spec("q.jsonl") == ("q.jsonl", "gold", 0)
    assert parse_case_spec("q.jsonl:negative") == ("q.jsonl", "negative", 0)
    assert parse_case_spec("q.jsonl:answerable:900") == ("q.jsonl", "answerable", 900)
    for bad in ("q.jsonl:maybe", "q.jsonl:gold:many", "q.jsonl:gold:1:2"):
        with pytest.raises(SystemExit, match="bad case"):
            parse_case_spec(bad)


@pytest.mark.parametrize("case", [
    "ix=../shared/datasets/belebele_id_en/questions.jsonl",  # a check set's own questions
    ".kabar/eval/seeds-f37966ae6a3d=../shared/datasets/facqa/questions.jsonl:negative",  # others asked of its archive
    ".kabar/eval/facqa-e94b9c34158a=/data/xlsum_id_sample/questions.jsonl:answerable:50",
])
def test_a_check_set_is_never_fitted_on_and_the_command_says_so_before_asking_anything(case, monkeypatch):
    def no_service(*args, **kwargs):
        raise AssertionError("nothing may be asked before the cases are checked")

    monkeypatch.setattr("eval.calibrate.Kabar", no_service)
    with pytest.raises(SystemExit, match="is a check set, never fitted on.*--check"):
        main(["--case", "ix=../shared/datasets/facqa/questions.jsonl", "--case", case])


def test_the_command_fits_on_answerable_and_foreign_questions_without_writing(tmp_path: Path, index: Path, capsys):
    answerable = write_questions(tmp_path / "ours" / "questions.jsonl", [
        {"id": f"a{i}", "question": q, "gold_doc_ids": [SUMMIT_ARTICLE], "answers": ["Kazakhstan"]}
        for i, q in enumerate(["Di mana KTT Tiongkok-Asia Tengah 2025?", "Which country hosts the 2025 summit?"])])
    foreign = write_questions(tmp_path / "theirs" / "questions.jsonl", FOREIGN)
    shipped = (Path(__file__).resolve().parents[2] / "rag" / "calibration.json").read_text()
    assert main(["--case", f"{index}={answerable}", "--case", f"{index}={foreign}:negative", "--refuse", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "ours@index(gold,2): positives 2, negatives 0" in out
    assert "theirs@index(negative,2): positives 0, negatives 2" in out
    curve = json.loads(out[out.index("{"):out.index("}") + 1])
    assert set(curve) >= {"w_cosine", "w_z", "w_lexical", "w_unseen", "bias"}
    assert "refuse 0.50" in curve["fitted_on"]
    assert (Path(__file__).resolve().parents[2] / "rag" / "calibration.json").read_text() == shipped


def test_questions_listed_in_a_without_file_are_left_out_and_collected_features_are_reused(
        tmp_path: Path, index: Path, capsys):
    asked = ["Di mana KTT Tiongkok-Asia Tengah 2025?", "Which country hosts the 2025 summit?",
             "Siapa presiden Kazakhstan?"]
    questions = write_questions(tmp_path / "ours" / "questions.jsonl", [
        {"id": f"a{i}", "question": q, "gold_doc_ids": [SUMMIT_ARTICLE]} for i, q in enumerate(asked)])
    held = write_questions(tmp_path / "held.jsonl", [{"id": "a2", "question": asked[2],
                                                      "gold_doc_ids": [SUMMIT_ARTICLE]}])
    foreign = write_questions(tmp_path / "theirs" / "questions.jsonl", FOREIGN)
    rows = tmp_path / "rows.json"
    arguments = ["--case", f"{index}={questions}", "--case", f"{index}={foreign}:negative",
                 "--without", str(held), "--rows", str(rows), "--answerable-refused", "0.5"]
    assert main(arguments) == 0
    first = capsys.readouterr().out
    assert "ours@index(gold,2): positives 2, negatives 0" in first
    assert "answerable refused 0.50" in first
    assert "per case" in first and "ours@index(gold,2): " in first.split("per case")[1]
    stored = json.loads(rows.read_text())
    assert len(stored["rows"]) == 4
    assert main(arguments) == 0
    second = capsys.readouterr().out
    assert "features of 4 questions from" in second
    assert second.split("features of 4 questions from")[1].split("\n", 1)[1] == first.split("negatives 2\n", 1)[1]
    # Other cases are collected again, not read from the file.
    assert main(arguments[:4] + ["--rows", str(rows)]) == 0
    assert "ours@index(gold,3): positives 3" in capsys.readouterr().out


def test_an_answerable_case_keeps_only_answerable_questions_and_says_so_in_the_curve_s_cases(
        tmp_path: Path, index: Path, capsys):
    questions = write_questions(tmp_path / "ours" / "questions.jsonl", [
        {"id": f"a{i}", "question": q, "gold_doc_ids": gold}
        for i, (q, gold) in enumerate([("Di mana KTT Tiongkok-Asia Tengah 2025?", [SUMMIT_ARTICLE]),
                                       ("Which country hosts the 2025 summit?", [SUMMIT_ARTICLE]),
                                       ("Berapa harga beras di Surabaya?", [])])])
    assert main(["--case", f"{index}={questions}:answerable",
                 "--case", f"{index}={questions}:negative", "--answerable-refused", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "ours@index(answerable,2): positives 2, negatives 0" in out
    curve = json.loads(out[out.index("{"):out.index("}") + 1])
    assert curve["fitted_on"].startswith("ours@index(answerable,2); ours@index(negative,3)")


def test_a_check_reports_the_share_refused_by_the_new_and_the_stored_curve_with_the_serving_formula(capsys):
    new = Calibration(w_cosine=10.0, w_z=0.0, bias=-5.0)  # refuses below cosine 0.5
    stored = Calibration(w_cosine=10.0, w_z=0.0, bias=-8.0)  # below cosine 0.8
    rows = [([0.9, 0.0, 0.0, 0.0], 1, 0), ([0.6, 0.0, 0.0, 0.0], 1, 0), ([0.4, 0.0, 0.0, 0.0], 0, 0),
            ([0.7, 0.0, 0.0, 0.0], 0, 1)]
    report_checks(new, stored, ["news@archive(gold,3)", "foreign@archive(negative,1)"], rows)
    out = capsys.readouterr().out
    assert "news@archive(gold,3): 0.000 / 1.000 | 0.500 / 1.000" in out
    assert "foreign@archive(negative,1): - / 0.000 | - / 1.000" in out


def test_checked_questions_are_never_fitted_on_and_are_reported_after_the_fit(tmp_path: Path, index: Path, capsys):
    asked = ["Di mana KTT Tiongkok-Asia Tengah 2025?", "Which country hosts the 2025 summit?",
             "Siapa presiden Kazakhstan?"]
    questions = write_questions(tmp_path / "ours" / "questions.jsonl", [
        {"id": f"a{i}", "question": q, "gold_doc_ids": [SUMMIT_ARTICLE]} for i, q in enumerate(asked)])
    foreign = write_questions(tmp_path / "theirs" / "questions.jsonl", FOREIGN)
    checked = write_questions(tmp_path / "dev.jsonl", [{"id": "a2", "question": asked[2],
                                                        "gold_doc_ids": [SUMMIT_ARTICLE]}])
    assert main(["--case", f"{index}={questions}", "--case", f"{index}={foreign}:negative",
                 "--check", f"{index}={checked}", "--refuse", "0.5"]) == 0
    out = capsys.readouterr().out
    fitted, checks = out.split("checks (never fitted on)")
    assert "ours@index(gold,2): positives 2, negatives 0" in fitted
    assert "dev@index(gold,1): positives 1, negatives 0" in fitted.split("to check:")[1]
    # No curve is stored for the hashing embedder, so only the new curve's shares are shown.
    assert "\n  dev@index(gold,1): " in checks and "|" not in checks
