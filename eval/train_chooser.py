"""Fit the answer-sentence chooser (rag/chooser.py) on the public training questions of tydiqa_id and facqa.

Every answerable question is asked exactly as `kabar ask` would ask it (`Kabar.considered`): the sentences of
its top passages, with their signals, are the choices, and a sentence that contains one of the question's
answer strings is a right one. The weights maximise the probability of the right sentences under a softmax
over each question's sentences (L2-regularised, L-BFGS). Questions are split as the reader's training splits
them (`eval.train_reader.answered_split`, by gold article): the same 15 % are held out as `dev`, where the
fitted weights are measured against the hand-set rule. belebele_id_en, seeds and xlsum_id_sample are never
used here.

    python -m eval.train_chooser                  # e5 indexes built (or reused) under .kabar/eval
    python -m eval.train_chooser --limit 50 --embedder hashing --out /tmp/chooser.json   # a quick try
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.questions import refuse_check_sets

TRAIN_SETS = ("tydiqa_id", "facqa")


@dataclass
class Asked:
    set_name: str
    part: str  # train or dev
    matrix: np.ndarray  # one row of chooser features per sentence weighed
    right: np.ndarray  # the sentence holds an answer string
    rule: np.ndarray  # the hand-set rule's value for each sentence


def collect(datasets: Path, sets: tuple[str, ...], settings, limit: int | None, log,
            work: Path | None = None) -> list[Asked]:
    from eval.questions import load_questions
    from eval.runner import set_services
    from eval.train_reader import answered_split
    from rag.answer import hand_rule
    from rag.chooser import feature_matrix

    asked: list[Asked] = []
    for set_name, folder, service in set_services(datasets, sets, settings.model_copy(update={"reader": "off"}), work):
        questions = [q for q in load_questions(folder / "questions.jsonl") if q.answers and q.gold_doc_ids]
        started = time.time()
        for question in questions[:limit] if limit else questions:
            choice = service.considered(question.question, k=10, mode="default")
            if choice is None or not choice.considered:
                continue
            unseen = choice.features.unseen
            part = answered_split(set_name, question.gold_doc_ids)
            sentences = choice.considered
            asked.append(Asked(set_name, part, feature_matrix(question.question, sentences, unseen),
                               np.asarray([question.contains_answer(s.text) for s in sentences]),
                               np.asarray([hand_rule(s) for s in sentences])))
        log(f"{set_name}: {len(questions)} answerable questions asked in {time.time() - started:.0f} s ({service.settings.index_dir})")
    return asked


def fit(groups: list[tuple[np.ndarray, np.ndarray]], l2: float) -> np.ndarray:
    """Weights maximising Σ log P(right sentences | question) − l2·|w|²/2, P a softmax over the question's sentences."""
    from scipy.optimize import minimize

    width = groups[0][0].shape[1]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for matrix, right in groups:
            scores = matrix @ w
            e = np.exp(scores - scores.max())
            p = e / e.sum()
            total -= np.log(e[right].sum() / e.sum())
            q = np.where(right, e, 0.0) / e[right].sum()
            grad -= (q - p) @ matrix
        n = len(groups)
        return total / n + l2 * (w @ w) / 2, grad / n + l2 * w

    return minimize(loss, np.zeros(width), jac=True, method="L-BFGS-B", options={"maxiter": 1000}).x


def answer_exact(asked: list[Asked], choose) -> float:
    """Share of questions whose chosen sentence holds the answer (questions with no candidates count as misses)."""
    return round(sum(bool(a.right[int(np.argmax(choose(a)))]) for a in asked) / len(asked), 4) if asked else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.train_chooser", description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--sets", default=",".join(TRAIN_SETS))
    parser.add_argument("--embedder", default="e5", help="the embedder whose indexes and cosines the weights are for")
    parser.add_argument("--model")
    parser.add_argument("--limit", type=int, help="questions per set (a quick try)")
    parser.add_argument("--l2", type=float, default=0.02, help="L2 penalty per question (chosen on dev questions: 0.02)")
    parser.add_argument("--work", type=Path, help="where the sets' indexes are built (default: reused from .kabar/eval)")
    parser.add_argument("--out", type=Path, default=Path("rag/data/chooser.json"),
                        help="weights file; the entry for this embedder is replaced, others are kept")
    args = parser.parse_args(argv)
    refuse_check_sets(args.sets.split(","), "fitted on")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from rag.chooser import FEATURES, ChooserWeights
    from rag.settings import Settings

    settings = Settings(embedder=args.embedder, model=args.model, reader="off")
    started = time.time()
    asked = collect(args.datasets, tuple(args.sets.split(",")), settings, args.limit, print, args.work)
    train = [a for a in asked if a.part == "train" and a.right.any() and len(a.right) > 1]
    if not train:
        print("no training question has a right sentence among its candidates")
        return 1
    stacked = np.vstack([a.matrix for a in train])
    mean, scale = stacked.mean(axis=0), stacked.std(axis=0) + 1e-6
    weights = fit([((a.matrix - mean) / scale, a.right) for a in train], args.l2)

    def chooser(a: Asked) -> np.ndarray:
        return ((a.matrix - mean) / scale) @ weights

    metrics = {}
    for set_name in dict.fromkeys(a.set_name for a in asked):
        for part in ("train", "dev"):
            rows = [a for a in asked if a.set_name == set_name and a.part == part]
            metrics[f"{set_name}/{part}"] = {"questions": len(rows), "rule": answer_exact(rows, lambda a: a.rule),
                                             "chooser": answer_exact(rows, chooser),
                                             "any_right": round(sum(a.right.any() for a in rows) / max(len(rows), 1), 4)}
    for name, row in metrics.items():
        print(f"{name:18s} answer-exact: rule {row['rule']:.3f}  chooser {row['chooser']:.3f}  "
              f"(a right sentence among the candidates: {row['any_right']:.3f}, {row['questions']} questions)")
    from rag.embed.factory import load_embedder

    key = load_embedder(args.embedder, args.model).spec.key
    fitted = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
    fitted[key] = ChooserWeights(
        features=list(FEATURES), mean=mean.round(6).tolist(), scale=scale.round(6).tolist(),
        weights=weights.round(6).tolist(),
        fitted_on=f"{args.sets} public questions, train split ({len(train)} questions with a right sentence), "
                  f"l2 {args.l2}; {time.time() - started:.0f} s on {platform.machine()} ({os.cpu_count()} cores)",
        metrics=metrics).model_dump()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(fitted, indent=1) + "\n", encoding="utf-8")
    print(f"weights for {key} written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
