"""Fit how the reader orders the passages it read (rag/passage_order.py) on the public training questions.

    python -m eval.tune_reader_order [--sets tydiqa_id,facqa] [--limit N] [--rows FILE] [--check-sets S,...]

Each question is asked once as a client asks it (`default`, k = 10). Kept per question: the articles of its
passages (with the outlets folded into each), their retrieval scores and the reader's value of each passage
it read. Every (score weight, floor) of a small grid is then scored offline by MRR@10 over articles, each set
counting once, on the training questions only (the reader's own split; its dev questions are reported beside,
never fitted on, and so is every `--check-sets` set).

The weight is the best one. The floor is the highest whose objective stays within `--tolerance` of the best
without a floor: the training questions are the reader's own kind, where it nearly always finds an answer, so
they cannot show what reordering costs where it finds none (an archive unlike them); the floor is set as high
as they allow, not as low as they would not mind.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from eval.questions import refuse_check_sets
from rag.passage_order import reader_order

WEIGHTS = (0.0, 10.0, 25.0, 50.0, 75.0, 100.0)
FLOORS = (-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
TRAIN_SETS = ("tydiqa_id", "facqa")
TOP = 10


@dataclass
class OrderCase:
    """One question as the reader saw it: what `rag/passage_order.py` reorders, and where its answer is."""

    set_name: str
    part: str  # "train" (fitted on), "dev" (the reader's held-out questions) or "check" (another set)
    lang: str
    gold: list[str]
    groups: list[list[str]]  # per passage, in retrieval's order: its article and the outlets folded into it
    scores: list[float]  # per passage: retrieval's score
    values: list[float]  # per passage read: the reader's value of its best sentence (-inf: none read)


def reciprocal_rank(case: OrderCase, score_weight: float | None, floor: float) -> float:
    """1/rank of the first gold article among the top 10, passages ordered as serving orders them.

    `score_weight` None: retrieval's order (the reader does not reorder)."""
    order = list(range(len(case.groups)))
    if score_weight is not None:
        read = len(case.values)
        order = reader_order(case.values, case.scores[:read], score_weight, floor) + order[read:]
    articles = list(dict.fromkeys(a for i in order for a in case.groups[i]))[:TOP]
    return next((1.0 / rank for rank, a in enumerate(articles, start=1) if a in case.gold), 0.0)


def mean_mrr(cases: list[OrderCase], score_weight: float | None, floor: float) -> float:
    return sum(reciprocal_rank(c, score_weight, floor) for c in cases) / len(cases) if cases else 0.0


def objective(by_set: dict[str, list[OrderCase]], score_weight: float | None, floor: float) -> float:
    """Mean MRR@10 over the sets, each counting once: a weight that helps one set at another's cost loses."""
    return sum(mean_mrr(cases, score_weight, floor) for cases in by_set.values()) / len(by_set)


@dataclass(frozen=True)
class Fit:
    score_weight: float
    floor: float
    grid: dict[tuple[float, float], float]  # (weight, floor) -> objective; floor -inf: none

    @property
    def objective(self) -> float:
        return self.grid[self.score_weight, self.floor]

    @property
    def objective_without_floor(self) -> float:
        return max(v for (_, f), v in self.grid.items() if f == -math.inf)


def fit(by_set: dict[str, list[OrderCase]], weights=WEIGHTS, floors=FLOORS, tolerance: float = 0.001) -> Fit:
    if not by_set or not any(by_set.values()):
        raise ValueError("no training question to fit on")
    grid = {(w, f): objective(by_set, w, f) for f in (-math.inf, *floors) for w in weights}
    best_at = {f: max(((grid[w, f], w) for w in weights), key=lambda pair: pair[0])
               for f in (-math.inf, *floors)}
    unfloored, unfloored_weight = best_at[-math.inf]
    allowed = [f for f in floors if best_at[f][0] >= unfloored - tolerance]
    if not allowed:
        return Fit(unfloored_weight, -math.inf, grid)
    floor = max(allowed)
    return Fit(best_at[floor][1], floor, grid)


def collect(datasets: Path, sets: tuple[str, ...], part_of, settings, limit: int | None, log,
            work: Path | None = None) -> list[OrderCase]:
    """Ask each set's questions with gold articles; `part_of(set, question)` names the part (None: skip)."""
    from eval.questions import load_questions
    from eval.runner import set_services

    cases: list[OrderCase] = []
    for set_name, folder, service in set_services(datasets, sets, settings, work):
        if service.reader is None:
            raise SystemExit("reordering by the reader needs a reader (KABAR_READER is off)")
        questions = [q for q in load_questions(folder / "questions.jsonl") if q.gold_doc_ids]
        kept = [(q, part) for q in questions if (part := part_of(set_name, q)) is not None]
        kept = kept[:limit] if limit else kept
        started = time.time()
        for question, part in kept:
            candidates, choice = service.passages_and_choice(question.question, k=TOP, mode="default")
            groups = [[c.chunk.article_id, *c.also_reported_by] for c in candidates]
            values = list(choice.passage_values) if choice is not None else []
            cases.append(OrderCase(set_name, part, question.lang, list(question.gold_doc_ids), groups,
                                   [float(c.score) for c in candidates], values))
        log(f"{set_name}: {len(kept)} questions asked in {time.time() - started:.0f} s")
    return cases


def save_cases(path: Path, cases: list[OrderCase], key: dict) -> None:
    lines = [json.dumps({"key": key})] + [json.dumps(asdict(c)) for c in cases]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def load_cases(path: Path, key: dict) -> list[OrderCase] | None:
    """The kept questions, or None when they were asked of another reader or with other settings."""
    if not path.is_file():
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or json.loads(lines[0]).get("key") != key:
        return None
    return [OrderCase(**json.loads(line)) for line in lines[1:] if line.strip()]


def report(cases: list[OrderCase], chosen: Fit, log) -> None:
    log("set / part / language / questions: retrieval's order, the reader's alone (weight 0, no floor), "
        "chosen")
    for name, part in sorted({(c.set_name, c.part) for c in cases}):
        group = [c for c in cases if (c.set_name, c.part) == (name, part)]
        langs = sorted({c.lang for c in group})
        for lang in ["all"] + (langs if len(langs) > 1 else []):
            some = [c for c in group if lang in ("all", c.lang)]
            alone, fitted = mean_mrr(some, 0.0, -math.inf), mean_mrr(some, chosen.score_weight, chosen.floor)
            log(f"  {name} / {part} / {lang} / {len(some)}: {mean_mrr(some, None, 0.0):.3f}, {alone:.3f}, "
                f"{fitted:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--sets", default=",".join(TRAIN_SETS), help="sets whose training questions fit")
    parser.add_argument("--check-sets", default="", help="sets asked and reported, never fitted on")
    parser.add_argument("--reader", default="deep", help="as KABAR_READER")
    parser.add_argument("--embedder", default="e5")
    parser.add_argument("--limit", type=int, help="questions per set (a quick try)")
    parser.add_argument("--tolerance", type=float, default=0.001)
    parser.add_argument("--rows", type=Path, help="keep what was asked; reused while reader and sets match")
    parser.add_argument("--work", type=Path, help="index folder per set (default .kabar/eval)")
    args = parser.parse_args(argv)
    refuse_check_sets(args.sets.split(","), "tuned on")

    from eval.train_reader import answered_split
    from rag.service import load_reader
    from rag.settings import Settings

    settings = Settings(reader=args.reader, embedder=args.embedder, reader_rerank=False)
    try:
        reader = load_reader(settings)
    except Exception as exc:  # noqa: BLE001 - any load failure is the user's to read, with its cause
        raise SystemExit(f"the reader {args.reader!r} does not load: {exc}") from None
    if reader is None:
        raise SystemExit("reordering by the reader needs a reader: --reader off has nothing to fit")
    sets = tuple(s for s in args.sets.split(",") if s)
    checks = tuple(s for s in args.check_sets.split(",") if s)
    for name in sets + checks:
        if not (args.datasets / name / "questions.jsonl").is_file():
            raise SystemExit(f"{args.datasets / name} has no questions.jsonl (a set as FORMAT.md describes)")
    key = {"reader": reader.config.get("sha256", str(reader.directory)), "embedder": args.embedder,
           "sets": list(sets), "check_sets": list(checks), "limit": args.limit,
           "passages": settings.reader_passages}
    cases = load_cases(args.rows, key) if args.rows else None
    if cases is not None:
        print(f"questions reused from {args.rows}")
    else:
        def part(set_name: str, question) -> str | None:
            if not question.answers:
                return None  # no answer to put first
            return answered_split(set_name, question.gold_doc_ids)

        def log(message: str) -> None:
            print(message, flush=True)  # minutes a set: show progress even when the output is a file

        cases = collect(args.datasets, sets, part, settings, args.limit, log, args.work)
        cases += collect(args.datasets, checks, lambda *_: "check", settings, args.limit, log, args.work)
        if args.rows:
            save_cases(args.rows, cases, key)
    by_set = {name: [c for c in cases if c.set_name == name and c.part == "train"] for name in sets}
    by_set = {name: group for name, group in by_set.items() if group}
    try:
        chosen = fit(by_set, tolerance=args.tolerance)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    print("training questions, mean MRR@10 over sets (rows: score weight; columns: floor)")
    print("weight  " + "  ".join(f"{f:>6}" for f in ("none", *FLOORS)))
    for weight in WEIGHTS:
        cells = [chosen.grid[weight, floor] for floor in (-math.inf, *FLOORS)]
        print(f"{weight:>6}  " + "  ".join(f"{v:6.3f}" for v in cells))
    print(f"chosen: KABAR_READER_RERANK_SCORE_WEIGHT={chosen.score_weight:g} "
          f"KABAR_READER_RERANK_FLOOR={chosen.floor:g} (objective {chosen.objective:.4f}; "
          f"best without a floor {chosen.objective_without_floor:.4f})")
    report(cases, chosen, print)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
