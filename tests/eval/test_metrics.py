"""Metrics on cases small enough to compute by hand."""

from __future__ import annotations

import pytest

from eval.metrics import QuestionResult, by_language, summarize
from eval.questions import Question


def result(qid: str, articles: list[str], passages: list[str] | None = None, answer: str | None = None,
           valid: int = 1, total: int = 1, latency: float = 10.0) -> QuestionResult:
    return QuestionResult(question_id=qid, mode="m", articles=articles, passages=passages or articles,
                          answer=answer, confidence=None, citations_total=total, citations_valid=valid,
                          latency_ms=latency)


QUESTIONS = [
    Question(id="a", question="?", lang="en", answers=["Kazakhstan"], gold_doc_ids=["d1"]),
    Question(id="b", question="?", lang="id", answers=["Chengdu"], gold_doc_ids=["d2"]),
    Question(id="r", question="?", lang="en", answers=[], gold_doc_ids=["d3"]),
    Question(id="u", question="?", lang="en", answers=[], gold_doc_ids=[]),
]


def test_question_kinds_follow_from_answers_and_gold_documents():
    assert [q.kind for q in QUESTIONS] == ["answerable", "answerable", "retrieval-only", "unanswerable"]


def test_retrieval_metrics_by_hand():
    results = [
        result("a", ["d1", "x"]),           # gold at rank 1: RR 1
        result("b", ["x", "y", "d2"]),      # gold at rank 3: RR 1/3
        result("r", ["x"]),                 # missed: RR 0
        result("u", ["x"]),                 # unanswerable: not in retrieval metrics
    ]
    summary = summarize(QUESTIONS, results)
    assert summary["recall@1"] == pytest.approx(1 / 3, abs=1e-4)
    assert summary["recall@5"] == pytest.approx(2 / 3, abs=1e-4)
    assert summary["mrr@10"] == pytest.approx((1 + 1 / 3 + 0) / 3, abs=1e-4)
    # nDCG@10 with one relevant document: 1/log2(rank+1)
    assert summary["ndcg@10"] == pytest.approx((1 + 1 / 2 + 0) / 3, abs=1e-4)


def test_answer_hits_exactness_and_abstention_by_hand():
    results = [
        result("a", ["d1"], passages=["... di Kazakhstan ...", "lain"], answer="KTT di kazakhstan"),
        result("b", ["d2"], passages=["lain", "x", "y", "z", "kota Chengdu"], answer=None),
        result("r", ["d3"], answer="sesuatu"),
        result("u", ["x"], answer=None),
    ]
    summary = summarize(QUESTIONS, results)
    assert summary["answer_hit@1"] == 0.5          # only "a" has the answer in its first passage
    assert summary["answer_hit@5"] == 1.0          # "b" has it at passage 5
    assert summary["answer_exact"] == 0.5          # case-insensitive match in "a"'s answer
    assert summary["answerable_refused"] == pytest.approx(1 / 3, abs=1e-4)  # "b" of a, b, r
    assert summary["unanswerable_refused"] == 1.0


def test_citation_validity_and_latency_percentiles():
    results = [result("a", ["d1"], valid=3, total=4, latency=10), result("b", ["d2"], valid=4, total=4, latency=30),
               result("r", ["d3"], valid=1, total=2, latency=20), result("u", [], valid=0, total=0, latency=40)]
    summary = summarize(QUESTIONS, results)
    assert summary["citation_validity"] == pytest.approx(8 / 10)
    assert summary["latency_p50_ms"] == 25.0
    assert summary["latency_p95_ms"] == 40.0


def test_groups_by_question_language():
    groups = by_language(QUESTIONS)
    assert {lang: [q.id for q in qs] for lang, qs in groups.items()} == {"en": ["a", "r", "u"], "id": ["b"]}


def test_short_answers_are_scored_squad_style_by_hand():
    spans = [
        result("a", ["d1"], answer="… di Kazakhstan pada 2025.").model_copy(update={"span": "Kazakhstan"}),
        # "kota Chengdu" vs "Chengdu": not exact; F1 = 2·(1/2·1)/(1/2+1) = 2/3.
        result("b", ["d2"], answer="di kota Chengdu").model_copy(update={"span": "kota Chengdu"}),
    ]
    summary = summarize(QUESTIONS, spans)
    assert summary["span_exact"] == pytest.approx(0.5)
    assert summary["span_f1"] == pytest.approx((1 + 2 / 3) / 2, abs=1e-4)
    without = summarize(QUESTIONS, [result("a", ["d1"], answer="Kazakhstan")])
    assert "span_exact" not in without


def test_the_share_of_answerable_questions_given_a_short_answer_is_reported_beside_its_accuracy():
    # span_exact is over the short answers shown: one right headline in two questions is not "100 %".
    right = result("a", ["d1"], answer="… di Kazakhstan pada 2025.").model_copy(update={"span": "Kazakhstan"})
    one_of_two = [right, result("b", ["d2"], answer="di kota Chengdu")]
    summary = summarize(QUESTIONS, one_of_two)
    assert summary["span_exact"] == 1.0
    assert summary["span_shown"] == 0.5
    assert summarize(QUESTIONS, [result("a", ["d1"], answer="Kazakhstan")])["span_shown"] == 0.0
