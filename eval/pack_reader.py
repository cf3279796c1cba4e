"""Store a trained reader's weights in another format (int8 with row scales, or fp16) and measure what it costs.

    python -m eval.pack_reader .kabar/reader-12f4 --weights int8

A reader trained with `--weights fp16` (the default) can be packed afterwards instead of being trained again: the
file is rewritten, its checksum and card follow, and the dev metrics on the card are measured again on the packed
weights, beside the ones measured before (config.json keeps them as `dev_before_packing`). Fit the answer head after
packing: it records the weights' checksum, and is fitted on the readings of the weights that ship.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.pack_reader", description=__doc__.split("\n")[0])
    parser.add_argument("reader", type=Path, help="a folder written by `python -m eval.train_reader`")
    parser.add_argument("--weights", choices=["fp16", "int8"], default="int8")
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from eval.reader_card import write_card
    from eval.train_reader import build_dataset, dev_metrics
    from rag.reader.read import WEIGHTS, Reader, ReaderLoadError, write_reader
    from rag.reader.weights import pack_weights, unpack_weights

    torch.set_num_threads(args.threads)
    try:
        reader = Reader(args.reader)
    except ReaderLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    config = reader.config
    settings = config["settings"]
    if not (args.datasets / settings["sets"].split(",")[0]).is_dir():
        print(f"error: no data sets at {args.datasets} (pass --datasets): the dev questions are measured again",
              file=sys.stderr)
        return 2
    if reader.weights_format == args.weights:  # read from the file as it loaded, not from the config's word
        print(f"{args.reader} is stored as {args.weights} already")
        return 0
    started = time.time()
    frozen = int(settings.get("freeze_layers", 0))
    model = reader.model
    packed = pack_weights(model.trained_state(frozen), args.weights)
    model.load_trained(unpack_weights(packed), frozen)
    translated = Path(settings["translated"]) if settings.get("translated") else None
    data = build_dataset(args.datasets, tuple(settings["sets"].split(",")), settings.get("limit"), settings["seed"],
                         settings["code_switch"], log=lambda message: None, translated=translated)
    metrics = dev_metrics(model, data, reader.tokenizer, torch, settings)
    settings["weights"] = args.weights
    settings["packed_by"] = "python -m eval.pack_reader " + " ".join(argv if argv is not None else sys.argv[1:])
    before = config.get("dev_before_packing", config["dev"])  # packed twice: the first measurement stays
    write_reader(args.reader, packed, settings, config["machine"], metrics,
                 question_languages=reader.question_languages, earlier={"dev_before_packing": before})
    write_card(args.reader, settings.get("command", "python -m eval.train_reader"))
    for name, m in metrics.items():
        old = before[name]
        print(f"{name}: " + ", ".join(f"{k} {old[k]:.3f} → {m[k]:.3f}" for k in
                                      ("sentence_top1", "span_exact", "span_f1", "passage_accuracy", "question_top1")
                                      if k in old))
    size = (args.reader / WEIGHTS).stat().st_size
    print(f"wrote {args.reader / WEIGHTS} ({size / 1e6:.1f} MB, {args.weights}) in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
