"""Fit the answer head (rag/reader/head.py) on the public training questions of tydiqa_id and facqa.

Every question is asked as `kabar ask` asks it, reader on (`Kabar.considered`): the sentences of its top passages
are the choices, each with the chooser's score and what the reader made of it (logit, passage logit, sentence
vector). One softmax per question over its sentences and "none" (Clark & Gardner's shared normalisation): the
right sentences for an answerable question whose answer is among them; "none" for IDK-MRC's unanswerable
questions and for questions whose answer no candidate holds. The chooser's scores are inputs, not refitted, so a
question the reader is not trusted with (rag/answer.py) is answered exactly as the chooser answers it. The
reader's own dev questions (its folder's `dev/`) are held out here too, and the head is measured on them against
the chooser alone and the chooser plus the reader's logit. belebele_id_en, seeds and xlsum_id_sample are never used.

    python -m eval.train_answer_head                 # the default reader (deep); e5 indexes reused from .kabar/eval
    python -m eval.train_answer_head --limit 40 --out /tmp/head    # a quick try
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.questions import refuse_check_sets
from eval.train_reader import TRANSLATED  # the name translated questions are measured under, as the reader's

TRAIN_SETS = ("tydiqa_id", "facqa")
COLUMNS = ("chooser", "logits", "passage", "vectors", "right", "span_scores")


@dataclass
class Asked:
    set_name: str
    part: str  # train or dev
    answerable: bool
    chooser: np.ndarray  # the chooser's score per sentence read
    logits: np.ndarray
    passage_logits: np.ndarray
    vectors: np.ndarray  # (sentences, reader hidden)
    right: np.ndarray  # the sentence holds an answer string
    trust: float
    span_scores: np.ndarray  # the reader's best short-answer logit inside each sentence


@dataclass
class FittedFor:
    """What the head is fitted for, read off the service that asked the questions."""

    reader_directory: Path
    reader_sha256: str
    chooser: str  # rag.reader.head.chooser_digest of the chooser's weights


def dev_questions(reader_directory: Path) -> set[str]:
    """The reader's held-out questions: the head must not learn from them either."""
    ids: set[str] = set()
    for path in sorted((reader_directory / "dev").glob("*.jsonl")):
        ids |= {json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
    return ids


def collect(datasets: Path, sets: tuple[str, ...], settings, limit: int | None, log,
            work: Path | None = None, translated: Path | None = None) -> tuple[list[Asked], FittedFor]:
    """`translated`: a folder of the sets' questions in other languages (data/crosslingual):
    `<set>-train.jsonl` is asked as training questions, `<set>-dev.jsonl` as dev questions of a set named
    `<set>-translated`."""
    from eval.questions import load_questions
    from eval.runner import set_services
    from eval.train_reader import split_of
    from rag.answer import reader_trust
    from rag.reader.head import chooser_digest

    asked: list[Asked] = []
    held_out: set[str] = set()
    fitted_for: FittedFor | None = None
    for set_name, folder, service in set_services(datasets, sets, settings.model_copy(update={"reader_head": False}),
                                                  work):
        if service.reader is None or service.chooser is None:
            raise SystemExit("the answer head needs a reader (--reader) and the chooser for this embedder")
        if fitted_for is None:
            fitted_for = FittedFor(service.reader.directory, service.reader.config.get("sha256", ""),
                                   chooser_digest(service.chooser.weights))
            held_out = dev_questions(service.reader.directory)
        questions = [q for q in load_questions(folder / "questions.jsonl") if q.gold_doc_ids or not q.answers]
        questions = questions[:limit] if limit else questions
        parts: dict[str, tuple[str, str]] = {}  # question id -> (set name, part), where not the split's
        for part in ("train", "dev") if translated else ():
            path = translated / f"{set_name}-{part}.jsonl"
            more = load_questions(path) if path.is_file() else []
            questions += more[:limit] if limit else more
            parts |= {q.id: (f"{set_name}{TRANSLATED}", part) for q in more}
        started = time.time()
        for question in questions:
            choice = service.considered(question.question, k=10, mode="default")
            if choice is None or not choice.considered:
                continue
            kept = [n for n, vector in enumerate(choice.reader_vectors) if vector is not None]
            if not kept:
                continue
            unseen = choice.features.unseen
            name = set_name
            if question.id in parts:
                name, part = parts[question.id]
            elif held_out:
                part = "dev" if question.id in held_out else "train"
            else:  # a reader folder without its dev questions: split as the reader's training does
                key = "|".join(sorted(question.gold_doc_ids)) or question.id
                part = split_of(f"{set_name}:{key}")
            sentences = [choice.considered[n] for n in kept]
            asked.append(Asked(
                name, part, bool(question.gold_doc_ids),
                service.chooser.scores(question.question, choice.considered, unseen)[kept],
                np.asarray([choice.reader_logits[n] for n in kept], dtype=np.float32),
                np.asarray([choice.reader_passage_logits[n] for n in kept], dtype=np.float32),
                np.stack([choice.reader_vectors[n] for n in kept]).astype(np.float32),
                np.asarray([bool(question.answers) and question.contains_answer(s.text) for s in sentences]),
                # As serving weighs it. The shipped deep head was fitted before that reader was measured
                # on other languages: its say cut for questions mostly in another one.
                reader_trust(service.reader, unseen),
                np.asarray([choice.reader_span_scores[n] for n in kept], dtype=np.float32)))
        log(f"{set_name}: {len(questions)} questions asked in {time.time() - started:.0f} s "
            f"({service.settings.index_dir})")
    if fitted_for is None:
        raise SystemExit("no question set was given (--sets)")
    return asked, fitted_for


def save_rows(path: Path, asked: list[Asked], fitted_for: FittedFor, key: dict) -> None:
    """Keep what the questions gave (minutes of reading) so that head settings can be tried in seconds."""
    sizes = np.asarray([len(a.chooser) for a in asked], dtype=np.int64)
    meta = {"key": key, "reader_directory": str(fitted_for.reader_directory),
            "reader_sha256": fitted_for.reader_sha256, "chooser": fitted_for.chooser,
            "questions": [[a.set_name, a.part, a.answerable, a.trust] for a in asked]}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:  # np.savez would add ".npz" to a name without it
        np.savez_compressed(
            handle, meta=np.asarray(json.dumps(meta)), sizes=sizes,
            chooser=np.concatenate([a.chooser for a in asked]),
            logits=np.concatenate([a.logits for a in asked]), passage=np.concatenate([a.passage_logits for a in asked]),
            vectors=np.concatenate([a.vectors for a in asked]), right=np.concatenate([a.right for a in asked]),
            span_scores=np.concatenate([a.span_scores for a in asked]))


def load_rows(path: Path, key: dict) -> tuple[list[Asked], FittedFor] | None:
    """The kept questions, or None when they were read under another `readings_key`."""
    if not path.is_file():
        return None
    try:
        with np.load(path) as stored:
            meta = json.loads(str(stored["meta"]))
            if meta["key"] != key:
                return None
            bounds = np.concatenate([[0], np.cumsum(stored["sizes"])])
            columns = {name: stored[name] for name in COLUMNS}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        print(f"{path} is not a readable file of kept readings ({error}); asking the questions again")
        return None
    asked = []
    for (set_name, part, answerable, trust), start, end in zip(meta["questions"], bounds[:-1], bounds[1:]):
        asked.append(Asked(set_name, part, answerable, columns["chooser"][start:end], columns["logits"][start:end],
                           columns["passage"][start:end], columns["vectors"][start:end],
                           columns["right"][start:end], trust, columns["span_scores"][start:end]))
    return asked, FittedFor(Path(meta["reader_directory"]), meta["reader_sha256"], meta["chooser"])


def readings_key(args: argparse.Namespace, settings) -> dict:
    """What kept readings depend on. The reader is named by the sha256 its config records (the one its answer
    head records, checked against the weights whenever the reader loads); the chooser by its file's bytes."""
    from rag.chooser import SHIPPED_CHOOSER
    from rag.reader.read import CONFIG
    from rag.service import reader_device, reader_directory, reads_bf16

    folder = reader_directory(settings)
    try:
        reader = json.loads((folder / CONFIG).read_text(encoding="utf-8")).get("sha256", "") if folder else ""
    except (OSError, ValueError):
        reader = ""  # collect() then says what is wrong with the reader
    chooser = args.chooser.expanduser() if args.chooser else SHIPPED_CHOOSER
    return {"columns": list(COLUMNS), "sets": args.sets, "limit": args.limit, "embedder": args.embedder,
            "translated": str(args.translated) if args.translated else None,
            "reader_int8": settings.reader_int8, "reader_bf16": reads_bf16(settings),
            "reader_device": reader_device(settings) if folder else None,
            "reader_passages": settings.reader_passages, "reader": reader,
            "chooser": hashlib.sha256(chooser.read_bytes()).hexdigest() if chooser.is_file() else ""}


def as_tensors(a: Asked) -> dict:
    """One question's inputs to the head, as torch tensors."""
    import torch

    return {"chooser": torch.tensor(a.chooser, dtype=torch.float32), "logits": torch.from_numpy(a.logits),
            "passage": torch.from_numpy(a.passage_logits), "vectors": torch.from_numpy(a.vectors),
            "trust": float(a.trust), "right": torch.from_numpy(a.right), "span": torch.from_numpy(a.span_scores)}


def train(asked: list[Asked], epochs: int, units: int, learning_rate: float, weight_decay: float, seed: int,
          span: bool = False):
    """The head as a torch module, fitted by AdamW on batches of 32 questions; `span`: it reads the reader's best
    short-answer logit in each sentence too."""
    import torch

    torch.manual_seed(seed)
    width = asked[0].vectors.shape[1]
    gelu = torch.nn.functional.gelu

    class Head(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden = torch.nn.Linear(width, units)
            self.out = torch.nn.Linear(units, 1)
            # [logit, passage logit, span logit]: starts as the plain sum, chooser + logit
            self.read = torch.nn.Parameter(torch.tensor([1.0, 0.0, 0.0]))
            self.read_mask = torch.tensor([1.0, 1.0, 1.0 if span else 0.0])
            self.none = torch.nn.Linear(6, 1)  # training only: how "no answer here" looks

        def forward(self, item: dict):
            read = self.read * self.read_mask
            added = (read[0] * item["logits"] + read[1] * item["passage"] + read[2] * item["span"]
                     + self.out(gelu(self.hidden(item["vectors"]))).squeeze(-1))
            scores = item["chooser"] + item["trust"] * added
            top = torch.topk(scores, min(2, len(scores))).values
            stats = torch.stack([scores.max(), top[-1], torch.logsumexp(scores, 0), item["logits"].max(),
                                 item["passage"].max(), torch.tensor(float(len(scores))).log()])
            return scores, self.none(stats)

    items = [as_tensors(a) for a in asked]
    head = Head()
    optimiser = torch.optim.AdamW(head.parameters(), lr=learning_rate, weight_decay=weight_decay)
    order = list(range(len(items)))
    shuffler = random.Random(seed)
    for _ in range(epochs):
        shuffler.shuffle(order)
        for start in range(0, len(order), 32):
            loss = torch.zeros(())
            for number in order[start:start + 32]:
                item = items[number]
                scores, none = head(item)
                options = torch.cat([scores, none])
                if item["right"].any():
                    loss = loss - (torch.logsumexp(scores[item["right"]], 0) - torch.logsumexp(options, 0))
                else:
                    loss = loss - (options[-1] - torch.logsumexp(options, 0))
            optimiser.zero_grad()
            (loss / 32).backward()
            optimiser.step()
    return head


def answer_exact(asked: list[Asked], choose) -> float:
    """Share of answerable questions whose best-valued sentence holds the answer."""
    rows = [a for a in asked if a.answerable]
    return round(sum(bool(a.right[int(np.argmax(choose(a)))]) for a in rows) / len(rows), 4) if rows else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.train_answer_head", description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--sets", default=",".join(TRAIN_SETS))
    parser.add_argument("--reader", default="deep",
                        help="the reader whose features the head reads (deep, fast or a folder)")
    parser.add_argument("--embedder", default="e5", help="the embedder whose indexes and chooser the head is for")
    parser.add_argument("--chooser", type=Path, help="the chooser's weights file (default: the shipped one)")
    parser.add_argument("--limit", type=int, help="questions per set (a quick try)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--units", type=int, default=64, help="hidden units over the reader's sentence vector")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-2,
                        help="chosen on the dev questions among 1e-3 / 1e-2 / 1e-1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--span", action="store_true",
                        help="read the reader's short-answer logit too (dev: facqa +.014, tydiqa +.002, belebele ID "
                             "−.017 over three seeds; not the shipped head)")
    parser.add_argument("--work", type=Path, help="where the sets' indexes are built (default: reused from .kabar/eval)")
    parser.add_argument("--out", type=Path, help="folder for answer_head.safetensors (default: the reader's own)")
    parser.add_argument("--translated", type=Path,
                        help="also ask the sets' questions in other languages from this folder "
                             "(data/crosslingual): its train files as training questions, its dev files "
                             "measured")
    parser.add_argument("--fit-translated", action=argparse.BooleanOptionalAction, default=True,
                        help="fit on the translated train questions too (off: only measure the translations, "
                             "from the same kept readings)")
    parser.add_argument("--rows", type=Path,
                        help="keep the questions' readings in this file and reuse them while the reader, chooser, "
                             "sets, limit, precision and passages read are the same (trying head settings takes "
                             "seconds)")
    args = parser.parse_args(argv)
    refuse_check_sets(args.sets.split(","), "fitted on")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from rag.reader.head import save_answer_head
    from rag.service import reader_directory
    from rag.settings import Settings

    settings = Settings(reader=args.reader, embedder=args.embedder, chooser=args.chooser)
    started = time.time()
    key = readings_key(args, settings)
    kept = load_rows(args.rows, key) if args.rows else None
    if kept is not None:
        asked, fitted_for = kept
        print(f"{len(asked)} questions' readings reused from {args.rows}")
    else:
        asked, fitted_for = collect(args.datasets, tuple(args.sets.split(",")), settings, args.limit, print,
                                    args.work, args.translated)
        if args.rows:
            save_rows(args.rows, asked, fitted_for, key)
    training = [a for a in asked if a.part == "train"
                and (args.fit_translated or not a.set_name.endswith(TRANSLATED))]
    if not training:
        print("no training question was asked")
        return 1
    head = train(training, args.epochs, args.units, args.lr, args.weight_decay, args.seed, args.span)
    fitted = time.time() - started

    def head_values(a: Asked) -> np.ndarray:
        with torch.no_grad():
            return head(as_tensors(a))[0].numpy()

    metrics = {}
    for set_name in dict.fromkeys(a.set_name for a in asked):
        for part in ("train", "dev"):
            rows = [a for a in asked if a.set_name == set_name and a.part == part]
            metrics[f"{set_name}/{part}"] = {
                "questions": sum(a.answerable for a in rows),
                "chooser": answer_exact(rows, lambda a: a.chooser),
                "chooser_plus_logit": answer_exact(rows, lambda a: a.chooser + a.trust * a.logits),
                "head": answer_exact(rows, head_values),
                # no choice among the sentences read can do better: the answer is in none of them
                "ceiling": round(sum(bool(a.right.any()) for a in rows if a.answerable)
                                 / max(1, sum(a.answerable for a in rows)), 4)}
    for name, row in metrics.items():
        print(f"{name:18s} answer-exact: chooser {row['chooser']:.3f}  chooser + reader logit "
              f"{row['chooser_plus_logit']:.3f}  head {row['head']:.3f}  (ceiling {row['ceiling']:.3f}; "
              f"{row['questions']} answerable questions)")
    tensors = {"hidden.weight": head.hidden.weight.detach().numpy(), "hidden.bias": head.hidden.bias.detach().numpy(),
               "out.weight": head.out.weight.detach().numpy().reshape(-1),
               "out.bias": head.out.bias.detach().numpy(), "read.weight": (head.read * head.read_mask).detach().numpy()}
    # Beside the reader this run names: kept readings may have been read from another folder of the same weights.
    out = args.out or reader_directory(settings) or fitted_for.reader_directory
    path = save_answer_head(out, tensors, {
        "reader_sha256": fitted_for.reader_sha256, "chooser": fitted_for.chooser,
        "fitted_on": f"{args.sets} public questions, train split ({len(training)} questions"
                     + (f", with their translations in {args.translated}"
                        if args.translated and args.fit_translated else "")
                     + "); the reader's dev questions held out",
        "settings": {"epochs": args.epochs, "units": args.units, "lr": args.lr, "weight_decay": args.weight_decay,
                     "seed": args.seed, "batch_questions": 32, "span": args.span},
        "seconds": round(fitted), "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "metrics": metrics})
    print(f"answer head written to {path} ({fitted:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
