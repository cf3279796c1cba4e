"""Question sets: which of them are checks that nothing may be fitted on."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from eval.questions import CHECK_SETS, check_set_of


def test_a_check_set_is_known_by_its_folder_or_by_the_eval_index_named_after_it():
    assert set(CHECK_SETS) == {"belebele_id_en", "seeds", "xlsum_id_sample"}
    assert check_set_of("../shared/datasets/belebele_id_en/questions.jsonl") == "belebele_id_en"
    assert check_set_of(Path(".kabar/eval/seeds-f37966ae6a3d")) == "seeds"
    assert check_set_of("/data/xlsum_id_sample") == "xlsum_id_sample"


def test_the_sets_a_model_may_learn_from_are_not_checks():
    for path in ("../shared/datasets/tydiqa_id/questions.jsonl", ".kabar/eval/facqa-e94b9c34158a",
                 "data/crosslingual/tydiqa_id-train.jsonl", "rag/data/reader/dev/facqa.jsonl",
                 "notes/seedsman/questions.jsonl"):
        assert check_set_of(path) is None, path


@pytest.mark.parametrize("command, verb", [("eval.train_reader", "trained on"), ("eval.train_answer_head", "fitted on"),
                                           ("eval.train_chooser", "fitted on"), ("eval.tune_reader_order", "tuned on")])
def test_every_command_that_fits_refuses_a_check_set_before_it_reads_anything(command, verb, tmp_path: Path):
    main = importlib.import_module(command).main
    with pytest.raises(SystemExit, match=f"belebele_id_en is a check set, never {verb}"):
        main(["--sets", "tydiqa_id,belebele_id_en", "--datasets", str(tmp_path / "nothing-here")])
    with pytest.raises(SystemExit, match="seeds, xlsum_id_sample are check sets"):
        main(["--sets", "seeds,xlsum_id_sample", "--datasets", str(tmp_path / "nothing-here")])
