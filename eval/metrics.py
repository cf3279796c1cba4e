"""Metrics over a run: IR metrics from ranx, answer and abstention rates, latency.

A run holds, per mode, one `QuestionResult` per question. Retrieval metrics are over
articles: the ranked passages are collapsed to their articles in order of first appearance.
"""

from __future__ import annotations

import statistics
import warnings
from collections import defaultdict

from pydantic import BaseModel

from eval.questions import Question

IR_METRICS = ["recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"]


class QuestionResult(BaseModel):
    question_id: str
    mode: str
    articles: list[str]
    passages: list[str]
    answer: str | None
    span: str | None = None  # the reader's short answer inside the answer sentence
    confidence: float | None
    citations_total: int
    citations_valid: int
    latency_ms: float
    # With `kabar eval --llm`: the written answer's claims, and the characters of those a cited sentence supports.
    generated: str | None = None
    claims: int = 0
    claims_supported: int = 0
    supported_text: list[str] = []
    llm_error: str | None = None
    llm_ms: float | None = None


def rankings_of(results: list[QuestionResult]) -> dict[str, list[str]]:
    return {r.question_id: r.articles for r in results}


def article_run(rankings: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    return {qid: {a: 1.0 / rank for rank, a in enumerate(articles, start=1)} for qid, articles in rankings.items()}


def qrels_for(questions: list[Question]) -> dict[str, dict[str, int]]:
    return {q.id: {doc: 1 for doc in q.gold_doc_ids} for q in questions if q.gold_doc_ids}


def ir_metrics(questions: list[Question], results: list[QuestionResult]) -> dict[str, float]:
    return ranking_metrics(qrels_for(questions), rankings_of(results), IR_METRICS)


def ranking_metrics(qrels: dict[str, dict[str, int]], rankings: dict[str, list[str]],
                    names: list[str]) -> dict[str, float]:
    """ranx over ranked article lists; questions with no gold are left out, unranked ones score 0."""
    from ranx import Qrels, Run, evaluate

    run = {qid: docs for qid, docs in article_run(rankings).items() if qid in qrels}
    if not qrels:
        return {}
    for qid in qrels:
        run.setdefault(qid, {})
    run = {qid: docs or {"\u2205": 0.0} for qid, docs in run.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = evaluate(Qrels(qrels), Run(run), names, make_comparable=True)
    if len(names) == 1:  # ranx returns a bare number for a single metric
        scores = {names[0]: scores}
    return {name: round(float(value), 4) for name, value in scores.items()}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else 0.0


def summarize(questions: list[Question], results: list[QuestionResult]) -> dict[str, float | int]:
    """All metrics for one mode over one group of questions."""
    by_id = {q.id: q for q in questions}
    results = [r for r in results if r.question_id in by_id]
    answerable = [r for r in results if by_id[r.question_id].kind == "answerable"]
    gold = [r for r in results if by_id[r.question_id].kind != "unanswerable"]
    unanswerable = [r for r in results if by_id[r.question_id].kind == "unanswerable"]
    summary: dict[str, float | int] = {"questions": len(results)}
    summary.update(ir_metrics([by_id[r.question_id] for r in results], results))
    if answerable:
        def rate(hit) -> float:
            return round(sum(1 for r in answerable if hit(r, by_id[r.question_id])) / len(answerable), 4)

        summary["answer_hit@1"] = rate(lambda r, q: any(q.contains_answer(p) for p in r.passages[:1]))
        summary["answer_hit@5"] = rate(lambda r, q: any(q.contains_answer(p) for p in r.passages[:5]))
        summary["answer_exact"] = rate(lambda r, q: r.answer is not None and q.contains_answer(r.answer))
        spans = [r for r in answerable if r.span is not None]
        # How often there is a headline at all: span_exact alone would praise a reader that dares one answer.
        summary["span_shown"] = round(len(spans) / len(answerable), 4)
        if spans:
            # SQuAD-style, over the answered questions that got a short answer.
            summary["span_exact"] = round(sum(max(exact_match(r.span, a) for a in by_id[r.question_id].answers)
                                              for r in spans) / len(spans), 4)
            summary["span_f1"] = round(sum(max(token_f1(r.span, a) for a in by_id[r.question_id].answers)
                                           for r in spans) / len(spans), 4)
    if gold:
        summary["answerable_refused"] = round(sum(r.answer is None for r in gold) / len(gold), 4)
    if unanswerable:
        summary["unanswerable_refused"] = round(sum(r.answer is None for r in unanswerable) / len(unanswerable), 4)
    asked = [r for r in answerable if r.generated is not None or r.llm_error is not None]
    if asked:
        written = [r for r in asked if r.generated is not None]
        claims = sum(r.claims for r in written)
        summary["llm_answers"] = len(written)
        summary["llm_errors"] = round(sum(r.llm_error is not None for r in asked) / len(asked), 4)
        summary["claim_support"] = round(sum(r.claims_supported for r in written) / claims, 4) if claims else 0.0
        # The gold answer among the characters that support the model's claims: right, and shown as fact.
        summary["llm_answer_hit_supported"] = round(sum(
            any(by_id[r.question_id].contains_answer(t) for t in r.supported_text) for r in written) / len(asked), 4)
        # The gold answer in the written text itself (meaningful when the question and the archive share a language).
        summary["llm_answer_hit_text"] = round(sum(
            by_id[r.question_id].contains_answer(r.generated) for r in written) / len(asked), 4)
        times = [r.llm_ms for r in written if r.llm_ms is not None]
        summary["llm_p50_ms"] = round(statistics.median(times), 1) if times else 0.0
    total = sum(r.citations_total for r in results)
    summary["citation_validity"] = round(sum(r.citations_valid for r in results) / total, 4) if total else 1.0
    latencies = [r.latency_ms for r in results]
    summary["latency_p50_ms"] = round(statistics.median(latencies), 1) if latencies else 0.0
    summary["latency_p95_ms"] = round(percentile(latencies, 0.95), 1)
    return summary


def normalise_answer(text: str) -> list[str]:
    import re

    return re.findall(r"\w+", text.lower())


def exact_match(predicted: str, gold: str) -> float:
    return float(normalise_answer(predicted) == normalise_answer(gold))


def token_f1(predicted: str, gold: str) -> float:
    p, g = normalise_answer(predicted), normalise_answer(gold)
    common = sum(min(p.count(w), g.count(w)) for w in set(p))
    if not p or not g or not common:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def by_language(questions: list[Question]) -> dict[str, list[Question]]:
    groups: dict[str, list[Question]] = defaultdict(list)
    for question in questions:
        groups[question.lang].append(question)
    return dict(sorted(groups.items()))


def significance(questions: list[Question], runs: dict[str, list[QuestionResult]], reference: str = "default"):
    """Paired Student's t-test of every mode against `reference` (ranx.compare), per IR metric."""
    from ranx import Qrels, Run, compare

    qrels = qrels_for(questions)
    if not qrels or reference not in runs or len(runs) < 2:
        return {}
    ranx_runs = []
    for mode, results in runs.items():
        run = {qid: docs for qid, docs in article_run(rankings_of(results)).items() if qid in qrels}
        for qid in qrels:
            run[qid] = run.get(qid) or {"\u2205": 0.0}
        ranx_runs.append(Run(run, name=mode))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = compare(Qrels(qrels), ranx_runs, metrics=["mrr@10", "recall@5"], max_p=0.05,
                         stat_test="student", make_comparable=True).to_dict()
    out = {}
    for mode in runs:
        if mode == reference:
            continue
        out[mode] = {metric: round(float(p), 4) for metric, p in report[reference]["comparisons"][mode].items()}
    return out
