"""Fit the "no answer" confidence curve on public question sets.

Positives are answerable questions asked of the archive that answers them. Negatives are
the sets' unanswerable questions, plus questions from other sets asked of an archive
that does not cover them — the situation of a reader asking the news archive about a
story it never ran. The fitted curve is written to rag/calibration.json per embedder.

    python -m eval.calibrate --case INDEX_DIR=QUESTIONS.jsonl[:LABEL[:LIMIT]] ... [--refuse 0.8] [--write]

LABEL is `gold` (answerable ⇒ 1, unanswerable ⇒ 0, the default), `negative` (all 0) or
`answerable` (only the answerable questions, ⇒ 1).

The logistic fit gives the direction; `--refuse` sets the operating point: the curve's bias is
moved so that the served threshold (`KABAR_MIN_ANSWER_CONFIDENCE`, 0.5) refuses that share of
the fitted unanswerable questions, and no more answerable ones than that costs. `--answerable-refused`
sets it from the other side: that share of the fitted answerable questions is refused, and as many
unanswerable ones as the curve can tell apart at that cost (what a user of a question set with
held-back questions asks for: "at most 10 % of answerable questions refused").

`--without FILE` leaves out the questions a file lists (by id): fitting on a reader's training questions
only, `--without rag/data/reader/dev/tydiqa_id.jsonl` keeps its dev questions for checking the curve.

`--check INDEX_DIR=QUESTIONS.jsonl[:LABEL[:LIMIT]]` asks questions the fit never sees (left out of every case
by id, as `--without` does) and prints the share each refuses under the new curve and under the one stored
for the same key: a refit is judged on unseen questions of every kind before `--write`, not on its own cases
(a curve fitted on factoid questions alone refused a third of xlsum's answerable news questions).
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path

import numpy as np

from eval.questions import load_questions, refuse_check_cases
from rag.answer import CALIBRATION_FILE, AnswerFeatures, Calibration
from rag.service import Kabar
from rag.settings import Settings

SIMILARITY_FEATURES = 4  # cosine, z, lexical, unseen; a reader adds its sentence and passage logits


def collect(service: Kabar, questions: list[dict], label_mode: str) -> list[tuple[list[float], int]]:
    rows = []
    snapshot = service.snapshot
    width = len(FEATURE_NAMES) if service.reader is not None else SIMILARITY_FEATURES
    for item in questions:
        # The same retrieval as a served question, so the curve is fitted on the features it will see.
        candidates, query = service._retrieve(snapshot, item["question"], 5, "default", None, {})
        choice = service.answer_choice(snapshot, item["question"], query, candidates)
        if choice is None:
            continue
        label = 0 if label_mode == "negative" else int(bool(item["gold_doc_ids"]))
        rows.append((choice.features.vector()[:width], label))
    return rows


FEATURE_NAMES = ("w_cosine", "w_z", "w_lexical", "w_unseen", "w_reader", "w_reader_passage")


LABEL_MODES = ("gold", "negative", "answerable")


def parse_case_spec(spec: str) -> tuple[str, str, int]:
    """`QUESTIONS.jsonl[:LABEL[:LIMIT]]` → (path, label, limit); 0 means every question."""
    path, *rest = spec.split(":")
    label_mode = rest[0] if rest else "gold"
    if label_mode not in LABEL_MODES or len(rest) > 2 or (len(rest) == 2 and not rest[1].isdigit()):
        raise SystemExit(f"bad case {spec!r}: expected QUESTIONS.jsonl[:{'|'.join(LABEL_MODES)}[:LIMIT]]")
    return path, label_mode, int(rest[1]) if len(rest) == 2 else 0


def operating_bias(negative_logits: np.ndarray, refuse: float) -> float:
    """How much to add to the fitted logit so that `refuse` of the negatives fall below 0.5.

    Class-balanced fitting puts 0.5 wherever the two classes weigh the same, which says nothing
    about what a reader wants; the share of unanswerable questions refused is what they notice.
    """
    if not 0.0 < refuse < 1.0:
        raise SystemExit("--refuse must be between 0 and 1")
    if len(negative_logits) == 0:
        raise SystemExit("no unanswerable questions to set the operating point on")
    return -float(np.quantile(negative_logits, refuse))


def answerable_bias(positive_logits: np.ndarray, refused: float) -> float:
    """How much to add to the fitted logit so that `refused` of the answerable questions fall below 0.5."""
    if not 0.0 < refused < 1.0:
        raise SystemExit("--answerable-refused must be between 0 and 1")
    if len(positive_logits) == 0:
        raise SystemExit("no answerable questions to set the operating point on")
    return operating_bias(positive_logits, refused)


def question_ids(paths: list[str]) -> set[str]:
    return {str(question.id) for path in paths for question in load_questions(Path(path))}


def collect_cases(cases: list[str], left_out: set[str], rng: random.Random,
                  services: dict[str, Kabar] | None = None
                  ) -> tuple[str | None, list[str], list[tuple[list[float], int, int]]]:
    """Every case's questions through the service: (calibration key, case names, (features, label, case)).

    `services` keeps one service per index, so cases (and checks) asked of the same archive load it once.
    """
    services = {} if services is None else services
    rows: list[tuple[list[float], int, int]] = []
    key = None
    names: list[str] = []
    for number, case in enumerate(cases):
        index_dir, spec = case.split("=", 1)
        path, label_mode, limit = parse_case_spec(spec)
        questions = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
        questions = [q for q in questions if str(q["id"]) not in left_out]
        if label_mode == "answerable":
            questions = [q for q in questions if q["gold_doc_ids"]]
        rng.shuffle(questions)
        if limit:
            questions = questions[:limit]
        # With a reader (KABAR_READER), its curve is fitted on the features of the sentence it chooses.
        # The features do not depend on which curve serves; a reader with no curve yet is what this fits.
        if index_dir not in services:
            services[index_dir] = Kabar(Settings(index_dir=Path(index_dir), reader_confidence=False))
        service = services[index_dir]
        key = service.calibration_key("default")
        got = collect(service, questions, label_mode)
        # A set's own questions.jsonl is named by its folder; the reader's dev files by their own name.
        source = Path(path).parent.name if Path(path).stem == "questions" else Path(path).stem
        names.append(f"{source}@{Path(index_dir).name}({label_mode},{len(got)})")
        print(f"{names[-1]}: positives {sum(l for _, l in got)}, negatives {sum(1 - l for _, l in got)}")
        rows.extend((features, label, number) for features, label in got)
    return key, names, rows


def refused_shares(curve: Calibration, rows: list[tuple[list[float], int, int]], case: int) -> str:
    """`answerable refused / unanswerable refused` of one case at the served threshold, as served."""
    refused = {1: [], 0: []}
    for features, label, number in rows:
        if number == case:
            values = AnswerFeatures(**dict(zip(AnswerFeatures.model_fields, features)))
            refused[label].append(curve.confidence(values) < 0.5)
    return " / ".join(f"{np.mean(refused[label]):.3f}" if refused[label] else "-" for label in (1, 0))


def report_checks(curve: Calibration, stored: Calibration | None, names: list[str],
                  rows: list[tuple[list[float], int, int]]) -> None:
    """Beside the stored curve's shares: a refit's cost on questions it never saw, read before `--write`."""
    print("checks (never fitted on), at 0.5: answerable refused / unanswerable refused, "
          f"this curve{' | the stored one' if stored else ''}")
    for number, name in enumerate(names):
        shown = refused_shares(curve, rows, number)
        print(f"  {name}: {shown}" + (f" | {refused_shares(stored, rows, number)}" if stored else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", action="append", required=True)
    parser.add_argument("--write", action="store_true", help="store the curve in rag/calibration.json")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--features", default=None,
                        help="comma-separated subset of " + ",".join(n[2:] for n in FEATURE_NAMES)
                        + " (default: all the service has); the others get weight 0")
    parser.add_argument("--refuse", type=float, default=0.8,
                        help="share of the unanswerable questions the 0.5 threshold refuses (default 0.8)")
    parser.add_argument("--answerable-refused", type=float, default=None,
                        help="instead of --refuse: the share of the answerable questions the 0.5 threshold refuses")
    parser.add_argument("--without", action="append", default=[],
                        help="a question file whose questions (by id) are left out of every case")
    parser.add_argument("--check", action="append", default=[],
                        help="a case (same form as --case) left out of the fit and reported under the new "
                        "and the stored curve")
    parser.add_argument("--rows", type=Path, default=None,
                        help="keep the collected features in this file, and reuse them when the cases are the same "
                        "(collecting runs every question through the service; fitting takes a second)")
    args = parser.parse_args(argv)
    # Issue 12: the check sets' refusal numbers mean something only if no curve has seen them.
    refuse_check_cases(args.case, "fitted on", "pass it as --check to see what a curve does there")
    rng = random.Random(args.seed)
    checked_files = [parse_case_spec(check.split("=", 1)[1])[0] for check in args.check]
    left_out = question_ids(args.without + checked_files)
    # The same cases read by another reader or embedder are other features.
    asked = {"cases": args.case, "checks": args.check, "without": sorted(left_out), "seed": args.seed,
             "models": [os.environ.get(name, "") for name in ("KABAR_READER", "KABAR_EMBEDDER", "KABAR_READER_INT8")]}
    kept = json.loads(args.rows.read_text(encoding="utf-8")) if args.rows and args.rows.exists() else None
    if kept is not None and kept["asked"] == asked:
        key, names, rows = kept["key"], kept["names"], [(r[0], r[1], r[2]) for r in kept["rows"]]
        check_names, check_rows = kept["check_names"], [(r[0], r[1], r[2]) for r in kept["check_rows"]]
        print(f"features of {len(rows)} questions from {args.rows}"
              + (f" ({len(check_rows)} more to check)" if check_rows else ""))
    else:
        services: dict[str, Kabar] = {}
        key, names, rows = collect_cases(args.case, left_out, rng, services)
        check_names, check_rows = [], []
        if args.check:
            print("to check:")
            _, check_names, check_rows = collect_cases(args.check, set(), rng, services)
        if args.rows:
            args.rows.write_text(json.dumps({"asked": asked, "key": key, "names": names, "rows": rows,
                                             "check_names": check_names, "check_rows": check_rows}),
                                 encoding="utf-8")

    from sklearn.linear_model import LogisticRegression

    x = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    features = list(FEATURE_NAMES[:x.shape[1]])
    if args.features:
        chosen = [f"w_{name.strip()}" for name in args.features.split(",") if name.strip()]
        unknown = [c for c in chosen if c not in features]
        if unknown or not chosen:
            raise SystemExit(f"--features: unknown or unavailable {', '.join(c[2:] for c in unknown) or 'none'}; "
                             f"choose from {', '.join(n[2:] for n in features)}")
        x = x[:, [features.index(c) for c in chosen]]
        features = chosen
    model = LogisticRegression(class_weight="balanced", C=10.0, max_iter=1000).fit(x, y)
    logits = model.decision_function(x)
    if args.answerable_refused is not None:
        shift = answerable_bias(logits[y == 1], args.answerable_refused)
        operating_point = f"answerable refused {args.answerable_refused:.2f}"
    else:
        shift = operating_bias(logits[y == 0], args.refuse)
        operating_point = f"refuse {args.refuse:.2f}"
    weights = {name: 0.0 for name in FEATURE_NAMES} | dict(zip(features, (float(w) for w in model.coef_[0])))
    curve = Calibration(**weights, bias=float(model.intercept_[0]) + shift,
                        fitted_on="; ".join(names) + f"; {operating_point}")
    probabilities = 1.0 / (1.0 + np.exp(-(logits + shift)))
    print(json.dumps(curve.model_dump(), indent=2))
    print("threshold  answerable-refused  unanswerable-answered")
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
        refused = float(np.mean(probabilities[y == 1] < threshold))
        answered = float(np.mean(probabilities[y == 0] >= threshold))
        print(f"{threshold:9.1f}  {refused:18.3f}  {answered:21.3f}")
    case_of = np.array([r[2] for r in rows])
    print("at 0.5, per case: answerable refused / unanswerable refused")
    for number, name in enumerate(names):
        here = case_of == number
        shares = [f"{np.mean(probabilities[here & (y == label)] < 0.5):.3f}" if np.any(here & (y == label)) else "-"
                  for label in (1, 0)]
        print(f"  {name}: {shares[0]} / {shares[1]}")
    target = Path(__file__).resolve().parent.parent / "rag" / CALIBRATION_FILE
    wanted = check_names or args.write
    stored = json.loads(target.read_text(encoding="utf-8")) if wanted and target.exists() else {}
    if check_names:
        report_checks(curve, Calibration(**stored[key]) if key in stored else None, check_names, check_rows)
    if args.write:
        stored[key] = curve.model_dump()
        target.write_text(json.dumps(stored, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
