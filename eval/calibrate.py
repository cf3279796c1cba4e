"""Fit the "no answer" confidence curve on public question sets.

Positives are answerable questions asked of the archive that answers them. Negatives are
the sets' unanswerable questions, plus questions from other sets asked of an archive
that does not cover them — the situation of a reader asking the news archive about a
story it never ran. The fitted curve is written to rag/calibration.json per embedder.

    python -m eval.calibrate --case INDEX_DIR=QUESTIONS.jsonl[:LABEL[:LIMIT]] ... [--write]

LABEL is `gold` (answerable ⇒ 1, unanswerable ⇒ 0, the default) or `negative` (all 0).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from rag.answer import CALIBRATION_FILE, Calibration
from rag.service import Kabar
from rag.settings import Settings


def collect(service: Kabar, questions: list[dict], label_mode: str) -> list[tuple[list[float], int]]:
    rows = []
    snapshot = service.snapshot
    for item in questions:
        # The same retrieval as a served question, so the curve is fitted on the features it will see.
        candidates, query = service._retrieve(snapshot, item["question"], 5, "default", None, {})
        choice = service.answer_choice(snapshot, item["question"], query, candidates)
        if choice is None:
            continue
        f = choice.features
        label = 0 if label_mode == "negative" else int(bool(item["gold_doc_ids"]))
        rows.append(([f.cosine, f.z, f.lexical], label))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", action="append", required=True)
    parser.add_argument("--write", action="store_true", help="store the curve in rag/calibration.json")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    rows: list[tuple[list[float], int]] = []
    key = None
    names = []
    for case in args.case:
        index_dir, spec = case.split("=", 1)
        path, label_mode, limit = (spec.split(":") + ["gold", "0"])[:3]
        questions = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
        rng.shuffle(questions)
        if int(limit):
            questions = questions[: int(limit)]
        service = Kabar(Settings(index_dir=Path(index_dir)))
        key = service.embedder.spec.key
        got = collect(service, questions, label_mode)
        names.append(f"{Path(path).parent.name}@{Path(index_dir).name}({label_mode},{len(got)})")
        print(f"{names[-1]}: positives {sum(l for _, l in got)}, negatives {sum(1 - l for _, l in got)}")
        rows.extend(got)

    from sklearn.linear_model import LogisticRegression

    x = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    model = LogisticRegression(class_weight="balanced", C=10.0, max_iter=1000).fit(x, y)
    (w_cos, w_z, w_lex), bias = model.coef_[0], float(model.intercept_[0])
    curve = Calibration(w_cosine=float(w_cos), w_z=float(w_z), w_lexical=float(w_lex), bias=bias,
                        fitted_on="; ".join(names))
    probabilities = model.predict_proba(x)[:, 1]
    print(json.dumps(curve.model_dump(), indent=2))
    print("threshold  answerable-refused  unanswerable-answered")
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
        refused = float(np.mean(probabilities[y == 1] < threshold))
        answered = float(np.mean(probabilities[y == 0] >= threshold))
        print(f"{threshold:9.1f}  {refused:18.3f}  {answered:21.3f}")
    if args.write:
        target = Path(__file__).resolve().parent.parent / "rag" / CALIBRATION_FILE
        stored = json.loads(target.read_text(encoding="utf-8")) if target.exists() else {}
        stored[key] = curve.model_dump()
        target.write_text(json.dumps(stored, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
