"""Choosing the passage-score weights: the objective, and the command on a real index."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval.tune_fusion import main, mrr_at_10
from tests.conftest import SUMMIT_ARTICLE, build_index


def test_the_objective_is_mrr_over_articles_under_the_given_weights():
    # Columns: cosine, best sentence, relative BM25, overlap. The gold candidate wins only on BM25.
    signals = np.array([[0.80, 0.80, 0.1, 0.0], [0.79, 0.79, 1.0, 0.0]])
    pools = [(signals, [False, True], ["other", "gold"])]
    assert mrr_at_10(pools, sentence=0.5, bm25=0.0, overlap=0.0) == 0.5
    assert mrr_at_10(pools, sentence=0.5, bm25=0.1, overlap=0.0) == 1.0


def test_the_command_prints_the_best_weights_and_the_current_settings(tmp_path: Path, cache_dir: Path, capsys,
                                                                       monkeypatch):
    settings = build_index(tmp_path / "index", "hashing", cache_dir)
    monkeypatch.setenv("KABAR_CACHE_DIR", str(cache_dir))
    questions = tmp_path / "set" / "questions.jsonl"
    questions.parent.mkdir()
    questions.write_text(json.dumps({"id": "q1", "question": "Which country will host the summit in 2025?",
                                     "gold_doc_ids": [SUMMIT_ARTICLE], "answers": ["Kazakhstan"]}) + "\n")
    assert main(["--case", f"{settings.index_dir}={questions}", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "set: 1 questions" in out
    rows = [line for line in out.splitlines() if line[:1].isdigit()]
    assert len(rows) == 3 and float(rows[0].split()[0]) > 0
    assert "settings now: sentence 0.5, bm25 0.02, overlap 0.04" in out


def test_the_weights_are_never_tuned_on_a_check_set(monkeypatch):
    def no_service(*args, **kwargs):
        raise AssertionError("nothing may be retrieved before the cases are checked")

    monkeypatch.setattr("eval.tune_fusion.Kabar", no_service)
    for case in ("ix=../shared/datasets/belebele_id_en/questions.jsonl",
                 ".kabar/eval/xlsum_id_sample-d181520f8aa5=../shared/datasets/tydiqa_id/questions.jsonl"):
        with pytest.raises(SystemExit, match="is a check set, never tuned on"):
            main(["--case", case])
