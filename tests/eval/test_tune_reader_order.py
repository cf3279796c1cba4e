"""Fitting how the reader orders passages: on training questions only, the floor as high as they allow."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from eval.tune_reader_order import OrderCase, fit, mean_mrr, objective, reciprocal_rank
from tests.conftest import ROOT
from tests.shared_sets import write_subset


def case(values, scores, gold="b", groups=None, part="train"):
    groups = groups or [[a] for a in "abcdefghij"[:len(scores)]]
    return OrderCase("s", part, "id", [gold], groups, scores, values)


def test_the_rank_is_over_articles_as_serving_orders_the_passages():
    answered_second = case([-1.0, 5.0, 0.0], [0.9, 0.89, 0.88, 0.8])
    assert reciprocal_rank(answered_second, None, 0.0) == 0.5  # retrieval's order
    assert reciprocal_rank(answered_second, 25.0, 0.0) == 1.0  # the reader puts it first
    # An outlet folded into the first passage comes right after its article, as `kabar eval` counts it.
    folded = case([0.0, 1.0], [0.9, 0.8], gold="z", groups=[["a", "z"], ["b"]])
    assert reciprocal_rank(folded, None, 0.0) == 0.5
    assert reciprocal_rank(folded, 0.0, 0.0) == pytest.approx(1 / 3)
    assert reciprocal_rank(case([], [0.9, 0.8], gold="q"), 25.0, 0.0) == 0.0  # not among them


def test_the_fit_takes_the_highest_floor_the_training_questions_allow():
    # Nine questions where the reader finds the answer (value 4) in the second passage; one where it finds
    # none (values under 0) and would move a worse passage up.
    found = [case([-1.0, 4.0, -2.0], [0.9, 0.89, 0.88]) for _ in range(9)]
    noise = [case([-3.0, -2.5, -0.5], [0.9, 0.89, 0.88], gold="a")]
    chosen = fit({"s": found + noise}, weights=(0.0, 25.0), floors=(-1.0, 0.0, 5.0), tolerance=0.001)
    assert chosen.floor == 0.0  # 5 would leave the nine unordered; 0 costs nothing and keeps the tenth
    assert chosen.objective == pytest.approx(1.0) and chosen.objective >= chosen.objective_without_floor
    # Where any floor costs more than the tolerance, none is set.
    costly = [case([1.0, 3.0], [0.9, 0.89]) for _ in range(3)]
    assert fit({"s": costly}, weights=(0.0,), floors=(5.0,)).floor == -math.inf
    with pytest.raises(ValueError, match="no training question"):
        fit({"s": []})


def test_each_set_counts_once_in_the_objective():
    big = [case([0.0, 5.0], [0.9, 0.89]) for _ in range(50)]  # the reader's order puts the answer first
    small = [case([1.0, 5.0], [0.9, 0.89], gold="a") for _ in range(5)]  # and here second
    assert mean_mrr(big, 0.0, 0.0) == 1.0 and mean_mrr(small, 0.0, 0.0) == 0.5
    assert objective({"big": big, "small": small}, 0.0, 0.0) == pytest.approx(0.75)  # not 52.5 / 55


def test_the_command_fits_on_a_tiny_subset_and_reuses_what_it_asked(tmp_path):
    data = tmp_path / "datasets"
    write_subset(data, "tydiqa_id", 12, 15, unanswerable=3)
    write_subset(data, "facqa", 8, 15)
    command = [sys.executable, "-m", "eval.tune_reader_order", "--datasets", str(data),
               "--embedder", "hashing", "--reader", "fast", "--work", str(tmp_path / "work"),
               "--rows", str(tmp_path / "rows.jsonl")]
    common = {"cwd": ROOT, "capture_output": True, "text": True, "timeout": 600, "check": False}
    run = subprocess.run(command, **common)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "chosen: KABAR_READER_RERANK_SCORE_WEIGHT=" in run.stdout and "tydiqa_id / train" in run.stdout
    again = subprocess.run(command, **common)
    assert again.returncode == 0 and "questions reused from" in again.stdout, again.stdout[-2000:]
    assert again.stdout.split("chosen:")[1] == run.stdout.split("chosen:")[1]


def test_a_set_that_is_not_there_is_a_clear_error(tmp_path):
    command = [sys.executable, "-m", "eval.tune_reader_order", "--datasets", str(tmp_path),
               "--embedder", "hashing", "--reader", "fast"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode != 0 and "has no questions.jsonl" in run.stderr
