"""The evaluation report: console table, metrics.json, report.md, per-question run, plots."""

from __future__ import annotations

import json
from pathlib import Path

from eval.metrics import QuestionResult
from eval.questions import Question

TABLE_COLUMNS = ["questions", "recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "answer_hit@1",
                 "answer_hit@5", "answer_exact", "span_shown", "span_exact", "span_f1",
                 "unanswerable_refused", "answerable_refused", "citation_validity",
                 "latency_p50_ms", "latency_p95_ms", "llm_answers", "llm_errors", "claim_support",
                 "llm_answer_hit_supported", "llm_answer_hit_text", "llm_p50_ms"]


def table(metrics: dict[str, dict], columns: list[str] | None = None) -> str:
    """A Markdown table: one row per mode (and language group), one column per metric."""
    rows = []
    for group, by_mode in metrics.items():
        for mode, values in by_mode.items():
            rows.append((group, mode, values))
    columns = columns or [c for c in TABLE_COLUMNS if any(c in values for _, _, values in rows)]
    header = "| group | mode | " + " | ".join(columns) + " |"
    lines = [header, "|" + " --- |" * (len(columns) + 2)]
    for group, mode, values in rows:
        cells = [_fmt(values.get(c)) for c in columns]
        lines.append(f"| {group} | {mode} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(value) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) and value <= 1.0 else str(value)


def write_report(out: Path, meta: dict, metrics: dict, significance: dict, questions: list[Question],
                 runs: dict[str, list[QuestionResult]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(
        json.dumps({"meta": meta, "metrics": metrics, "significance_vs_default": significance}, indent=2),
        encoding="utf-8")
    by_id = {q.id: q for q in questions}
    with (out / "run.jsonl").open("w", encoding="utf-8") as handle:
        for mode, results in runs.items():
            for result in results:
                question = by_id[result.question_id]
                handle.write(json.dumps({
                    "mode": mode, "id": question.id, "question": question.question, "lang": question.lang,
                    "kind": question.kind, "gold_doc_ids": question.gold_doc_ids, "answers": question.answers,
                    "articles": result.articles, "top_passages": [p[:300] for p in result.passages[:3]],
                    "answer": result.answer, "span": result.span, "confidence": result.confidence,
                    "hit@5": any(a in question.gold_doc_ids for a in result.articles[:5]),
                    "latency_ms": result.latency_ms,
                }, ensure_ascii=False) + "\n")
    plots = _plots(out, questions, runs)
    curve = calibration_curve(questions, runs.get("default", []))
    if curve:
        plots.append(_calibration_plot(out, curve, meta["settings"].get("min_answer_confidence", 0.5)))
    lines = [
        f"# Kabar evaluation: {meta['questions_file']}",
        "",
        f"- corpus: {', '.join(meta['corpus'])} ({meta['index']})",
        f"- embedder: {meta['embedder']}; settings: {json.dumps(meta['settings'])}",
        f"- reader: {json.dumps(meta['reader']) if meta.get('reader') else 'off'}",
        f"- git commit: {meta['git_commit']}; date: {meta['date']}; index build: {meta['index_build_s']} s",
        "",
        "## Results (overall and per question language)",
        "",
        table(metrics),
        "",
        "## Paired significance against `default` (Student's t, p-values; < 0.05 = significant)",
        "",
        "```json", json.dumps(significance, indent=2), "```",
        "",
        *(_calibration_table(curve) if curve else []),
        *[f"![{name}]({name})" for name in plots],
        "",
        "Per-question results: `run.jsonl` (question, gold, top passages, answer).",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _plots(out: Path, questions: list[Question], runs: dict[str, list[QuestionResult]]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gold = {q.id: set(q.gold_doc_ids) for q in questions if q.gold_doc_ids}
    figure, axis = plt.subplots(figsize=(6, 4))
    for mode, results in runs.items():
        scored = [r for r in results if r.question_id in gold]
        if not scored:
            continue
        curve = [sum(bool(gold[r.question_id] & set(r.articles[:k])) for r in scored) / len(scored)
                 for k in range(1, 11)]
        axis.plot(range(1, 11), curve, marker="o", label=mode)
    axis.set(xlabel="k (articles)", ylabel="Recall@k", title="Recall@k by mode", ylim=(0, 1.02))
    axis.legend()
    figure.tight_layout()
    figure.savefig(out / "recall_at_k.png", dpi=80)
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(6, 4))
    for mode, results in runs.items():
        axis.hist([r.latency_ms for r in results], bins=30, alpha=0.5, label=mode)
    axis.set(xlabel="latency per question (ms, warm)", ylabel="questions", title="Query latency")
    axis.legend()
    figure.tight_layout()
    figure.savefig(out / "latency.png", dpi=80)
    plt.close(figure)
    return ["recall_at_k.png", "latency.png"]


CALIBRATION_BINS = 10


def calibration_curve(questions: list[Question], results: list[QuestionResult]) -> list[dict]:
    """Per confidence bin: how many questions, and the share the archive can answer.

    The confidence is fitted to mean "the archive holds the answer" (eval/calibrate.py), so a
    well-calibrated curve follows the diagonal: of the questions at 0.8, about 80 % answerable.
    """
    kinds = {q.id: q.kind for q in questions}
    points = [(r.confidence, kinds[r.question_id] != "unanswerable") for r in results if r.confidence is not None]
    bins = []
    for index in range(CALIBRATION_BINS):
        low, high = index / CALIBRATION_BINS, (index + 1) / CALIBRATION_BINS
        inside = [ok for c, ok in points if low <= c < high or (index == CALIBRATION_BINS - 1 and c == 1.0)]
        if inside:
            bins.append({"from": low, "to": high, "questions": len(inside),
                         "answerable": round(sum(inside) / len(inside), 3)})
    return bins


def _calibration_table(curve: list[dict]) -> list[str]:
    lines = ["## Calibration of the answer confidence (`default`)", "",
             "| confidence | questions | share answerable |", "| --- | --- | --- |"]
    lines += [f"| {b['from']:.1f}–{b['to']:.1f} | {b['questions']} | {b['answerable']:.3f} |" for b in curve]
    return [*lines, ""]


def _calibration_plot(out: Path, curve: list[dict], threshold: float) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5, 4))
    centres = [(b["from"] + b["to"]) / 2 for b in curve]
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect")
    axis.plot(centres, [b["answerable"] for b in curve], marker="o", label="default")
    for x, b in zip(centres, curve):
        axis.annotate(str(b["questions"]), (x, b["answerable"]), textcoords="offset points", xytext=(0, 6),
                      fontsize=7, ha="center")
    axis.axvline(threshold, color="red", linewidth=1, label=f"no answer below {threshold}")
    axis.set(xlabel="confidence", ylabel="share of questions the archive answers", xlim=(0, 1), ylim=(0, 1.05),
             title="Confidence calibration")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out / "calibration.png", dpi=80)
    plt.close(figure)
    return "calibration.png"
