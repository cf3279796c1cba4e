"""The reader orders the passages it read only where it found an answer, and retrieval's lead counts."""

import math

import pytest

from rag.passage_order import reader_order


def test_the_passage_the_reader_finds_the_answer_in_comes_first():
    assert reader_order([-1.0, 6.0, 0.5], [0.90, 0.89, 0.88], score_weight=25.0, floor=0.0) == [1, 2, 0]


def test_where_the_reader_finds_no_answer_retrieval_keeps_its_order():
    # Every value under the floor: the reader's dislike of the first passage is no reason to move it.
    assert reader_order([-3.8, -3.0, -0.3], [0.88, 0.88, 0.87], score_weight=25.0, floor=0.0) == [0, 1, 2]
    assert reader_order([-3.8, -3.0, -0.3], [0.88, 0.88, 0.87], score_weight=25.0, floor=-1.0) == [2, 1, 0]


def test_a_wide_retrieval_lead_outweighs_a_small_reading_difference():
    scores = [0.93, 0.84]  # retrieval is .09 ahead: 25 × .09 = 2.25 of reader value
    assert reader_order([3.0, 4.0], scores, score_weight=25.0, floor=0.0) == [0, 1]
    assert reader_order([3.0, 6.0], scores, score_weight=25.0, floor=0.0) == [1, 0]
    assert reader_order([3.0, 4.0], scores, score_weight=0.0, floor=0.0) == [1, 0]


def test_passages_the_reader_read_no_sentence_of_go_last_and_ties_keep_retrievals_order():
    assert reader_order([-math.inf, 2.0, 2.0], [0.9, 0.9, 0.9], score_weight=0.0, floor=0.0) == [1, 2, 0]
    assert reader_order([-math.inf, -math.inf], [0.9, 0.8], score_weight=25.0, floor=0.0) == [0, 1]
    assert reader_order([5.0], [0.9], score_weight=25.0, floor=0.0) == [0]
    assert reader_order([], [], score_weight=25.0, floor=0.0) == []


def test_values_without_their_scores_are_a_clear_error():
    with pytest.raises(ValueError, match="3 reader values but 2 retrieval scores"):
        reader_order([1.0, 2.0, 3.0], [0.9, 0.8], score_weight=25.0, floor=0.0)
