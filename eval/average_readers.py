"""Average the trained weights of readers of one shape into one reader (a "model soup"), and measure it.

    python -m eval.average_readers --out .kabar/soup rag/data/reader-deep .kabar/other-run:0.5

Readers fine-tuned from the same e5 layers stay in one basin of the loss, so the mean of their weights reads
like a reader of its own, often better than either (Wortsman et al., "Model soups", 2022), at the reading time
and size of one: an ensemble would read every passage twice. Each reader may carry a weight (`DIR:WEIGHT`,
default 1); the weights are normalised. The readers must share their layers, frozen layers and heads. The dev
questions are measured again on the averaged weights, read with BM25's passages as `eval.pack_reader` reads them
after packing (a reader trained with `--passages read` measured its own card on the passages retrieval showed, so
compare the two through the answer head, not the cards). Fit the answer head afterwards (`python -m
eval.train_answer_head --reader OUT ...`): it records the weights' checksum, and a head left in OUT from other
weights is refused at load time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

SHAPE_SETTINGS = ("layers", "freeze_layers", "passage_pooling", "null_span", "read_together", "sets")


def parse_ingredient(text: str) -> tuple[Path, float]:
    """`DIR` or `DIR:WEIGHT`; a weight must be a positive number."""
    folder, _, weight = text.rpartition(":") if ":" in text else (text, "", "1")
    try:
        value = float(weight)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: the weight after ':' must be a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a weight must be above 0")
    return Path(folder), value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.average_readers", description=__doc__.split("\n")[0])
    parser.add_argument("readers", nargs="+", type=parse_ingredient,
                        help="folders written by `python -m eval.train_reader`, each optionally DIR:WEIGHT")
    parser.add_argument("--out", type=Path, required=True, help="folder for the averaged reader")
    parser.add_argument("--weights", choices=["fp16", "int8"], default="int8", help="how the average is stored")
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--translated", type=Path, default=None,
                        help="translated questions whose dev split is measured too (default: the first reader's)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    if len(args.readers) < 2:
        parser.error("name at least two readers to average")
    if any(args.out.resolve() == folder.resolve() for folder, _ in args.readers):
        parser.error("--out must not be one of the readers averaged (its weights would be overwritten)")

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from eval.reader_card import write_card
    from eval.train_reader import build_dataset, dev_metrics
    from rag.reader.read import Reader, ReaderLoadError, write_reader
    from rag.reader.weights import pack_weights, unpack_weights

    torch.set_num_threads(args.threads)
    try:
        readers = [Reader(folder) for folder, _ in args.readers]
    except ReaderLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    first = readers[0].config["settings"]
    for (folder, _), reader in zip(args.readers[1:], readers[1:]):
        settings = reader.config["settings"]
        # A setting a reader's config predates (read_together) reads as off, as the reader itself reads it.
        differing = [name for name in SHAPE_SETTINGS if (settings.get(name) or False) != (first.get(name) or False)]
        if differing:
            print(f"error: {folder} differs from {args.readers[0][0]} in {', '.join(differing)}: only readers of "
                  "one shape, trained on the same sets, can be averaged", file=sys.stderr)
            return 2
    if not (args.datasets / first["sets"].split(",")[0]).is_dir():
        print(f"error: no data sets at {args.datasets} (pass --datasets): the dev questions are measured again",
              file=sys.stderr)
        return 2

    started = time.time()
    frozen = int(first.get("freeze_layers", 0))
    states = [reader.model.trained_state(frozen) for reader in readers]
    total = sum(weight for _, weight in args.readers)
    averaged = {name: sum(state[name].float() * (weight / total) for state, (_, weight) in zip(states, args.readers))
                for name in states[0]}
    packed = pack_weights(averaged, args.weights)
    model, tokenizer = readers[0].model, readers[0].tokenizer
    model.load_trained(unpack_weights(packed), frozen)  # measure the very tensors that are saved
    translated = args.translated or (Path(first["translated"]) if first.get("translated") else None)
    data = build_dataset(args.datasets, tuple(first["sets"].split(",")), first.get("limit"), first["seed"],
                         first["code_switch"], log=lambda message: None, translated=translated)
    metrics = dev_metrics(model, data, tokenizer, torch, first)
    command = "python -m eval.average_readers " + " ".join(argv if argv is not None else sys.argv[1:])
    settings = {**first, "weights": args.weights, "command": command, "averaged_from": [
        {"path": str(folder), "weight": weight / total, "sha256": reader.config["sha256"],
         "command": reader.config["settings"].get("command"),
         "training_minutes": reader.config["machine"].get("training_minutes"),
         "init": reader.config["settings"].get("init"),
         "dev": reader.config["dev"]}
        for (folder, weight), reader in zip(args.readers, readers)]}
    for earlier in ("packed_by", "init"):  # the first reader's history is on its own card, named above
        settings.pop(earlier, None)
    machine = {**readers[0].config["machine"], "training_minutes": sum(
        float(reader.config["machine"].get("training_minutes") or 0) for reader in readers)}
    # A soup reads any language only if every reader in it was measured to: one that was not may drag it down.
    languages = "any" if all(reader.reads_any_language for reader in readers) else "indonesian"
    if languages != "any" and any(reader.reads_any_language for reader in readers):
        print("note: not every reader reads questions in any language, so the average reads only Indonesian ones "
              "with full trust (set question_languages in its config.json once measured on data/crosslingual)")
    write_reader(args.out, packed, settings, machine, metrics, question_languages=languages)
    write_card(args.out, command)
    for name, m in metrics.items():
        print(f"{name}: " + ", ".join(f"{k} {m[k]:.3f}" for k in
                                      ("sentence_top1", "span_exact", "span_f1", "question_top1", "passage_auc")
                                      if k in m))
    print(f"wrote {args.out} ({len(readers)} readers averaged) in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
