"""Choose the weights of `default`'s passage score on public question sets.

    python -m eval.tune_fusion --case INDEX_DIR=QUESTIONS.jsonl ... [--limit N]

Each question is retrieved once (the whole candidate pool, with its signals: cosine, best
sentence, BM25, rare-word overlap); then every combination of weights on a small grid is scored
offline. The objective is the mean MRR@10 over the sets, each set counting once, so a weight
that helps one big set at another's expense loses. A flat optimum (the top rows differ in the
third decimal) means the choice is robust, which matters more than the last thousandth: the
held-out questions are not these.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
from pathlib import Path

import numpy as np

from eval.metrics import ranking_metrics
from eval.questions import load_questions, refuse_check_cases
from rag.service import Kabar
from rag.settings import Settings

SENTENCE = (0.0, 0.25, 0.4, 0.5, 0.6, 0.75)
BM25 = (0.0, 0.01, 0.02, 0.04)
OVERLAP = (0.0, 0.02, 0.04, 0.06)
POOL_MODE = "default-no-time-no-dedup-no-mmr"  # the score alone, before the stages that reorder it


def pool_signals(service: Kabar, questions_path: Path, limit: int) -> list[tuple[np.ndarray, list[bool], list[str]]]:
    """Per question: a (candidates × 4) signal matrix, which candidates are gold, their articles."""
    pools = []
    questions = [q for q in load_questions(questions_path) if q.gold_doc_ids]
    if limit:
        questions = questions[:limit]
    depth = service.settings.max_k
    for question in questions:
        snapshot = service.snapshot
        candidates, _ = service._retrieve(snapshot, question.question, depth, POOL_MODE, None, {})
        if not candidates:
            continue
        top_bm25 = max(c.signals.get("bm25", 0.0) for c in candidates) or 1.0
        signals = np.array([
            [c.signals["dense"], c.best_sentence.score if c.best_sentence else 0.0,
             c.signals.get("bm25", 0.0) / top_bm25, c.signals.get("overlap", 0.0)]
            for c in candidates
        ])
        pools.append((signals, [c.chunk.article_id in question.gold_doc_ids for c in candidates],
                      [c.chunk.article_id for c in candidates]))
    return pools


def mrr_at_10(pools, sentence: float, bm25: float, overlap: float) -> float:
    """MRR@10 over articles (ranx, as in `kabar eval`) when the pools are ranked with these weights."""
    weights = np.array([1 - sentence, sentence, bm25, overlap])
    qrels, rankings = {}, {}
    for number, (signals, gold, articles) in enumerate(pools):
        qid = str(number)
        qrels[qid] = {a: 1 for a, is_gold in zip(articles, gold) if is_gold} or {"\u2205gold": 1}
        order = np.argsort(-(signals @ weights), kind="stable")
        rankings[qid] = list(dict.fromkeys(articles[i] for i in order))
    return ranking_metrics(qrels, rankings, ["mrr@10"]).get("mrr@10", 0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", action="append", required=True, help="INDEX_DIR=QUESTIONS.jsonl")
    parser.add_argument("--limit", type=int, default=0, help="at most this many questions per set")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args(argv)
    refuse_check_cases(args.case, "tuned on", "measure the chosen weights there with `kabar eval`")
    sets: dict[str, list] = {}
    current = None
    for case in args.case:
        index_dir, questions = case.split("=", 1)
        settings = Settings(index_dir=Path(index_dir))
        settings.apply_process_environment()
        service = Kabar(settings)
        current = settings.fusion()
        sets[Path(questions).parent.name] = pool_signals(service, Path(questions), args.limit)
        print(f"{Path(questions).parent.name}: {len(sets[Path(questions).parent.name])} questions", flush=True)
    rows = []
    for sentence, bm25, overlap in itertools.product(SENTENCE, BM25, OVERLAP):
        scores = [mrr_at_10(pools, sentence, bm25, overlap) for pools in sets.values()]
        rows.append((float(np.mean(scores)), sentence, bm25, overlap, scores))
    rows.sort(key=lambda row: row[0], reverse=True)
    print("mean    sentence bm25  overlap  " + "  ".join(sets))
    for mean, sentence, bm25, overlap, scores in rows[: args.top]:
        print(f"{mean:.4f}  {sentence:<8} {bm25:<5} {overlap:<7}  " + "  ".join(f"{s:.3f}" for s in scores))
    if current is not None:
        fields = dataclasses.asdict(current)
        scores = [mrr_at_10(p, fields["sentence_weight"], fields["bm25_weight"], fields["overlap_weight"])
                  for p in sets.values()]
        print(f"settings now: sentence {fields['sentence_weight']}, bm25 {fields['bm25_weight']}, "
              f"overlap {fields['overlap_weight']} → mean {np.mean(scores):.4f} "
              + " ".join(f"{s:.3f}" for s in scores))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
