"""How long the reader takes to read what the service shows it for one question, on this machine's CPU or GPU.

`/v1/ask` with the reader on spends most of its time here (the three passages read in one batch); the rest
(retrieval, the chooser, the answer head) runs on the CPU whatever the machine. This times only that read, over
the passages Kabar's retrieval showed each question (`eval.mine_passages`' cache, which `--passages read`
training mines), so that it runs where only torch is installed: a lent GPU machine with the device kit
(eval/device_kit.py), where the service itself cannot start. Its GPU number beside the CPU one, with
`kabar loadtest`'s `/v1/ask` here, says what a GPU buys the service.

    python -m eval.reader_latency --datasets ../shared/datasets --set tydiqa_id --work .kabar/reader-training \\
        [--reader deep] [--device auto] [--precision auto] [--questions 200]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

from eval.metrics import percentile


def passages_per_question(datasets: Path, set_name: str, work: Path, count: int) -> list[tuple[str, list]]:
    """The first `count` questions of a set that retrieval showed passages, each with those passages as the
    reader receives them (headline, chunk text, sentence offsets)."""
    from eval.mine_passages import cache_path, passages_read
    from eval.questions import load_questions
    from eval.train_reader import chunk_sentences, chunks_shown, corpus_chunks
    from rag.chunk import Chunker
    from rag.reader.read import Passage

    folder = datasets / set_name
    cache = cache_path(work, set_name)
    if not cache.exists():
        raise FileNotFoundError(f"no passages mined at {cache}: run `python -m eval.train_reader --passages read "
                                f"--work {work}` (or eval.mine_passages) here first")
    shown = passages_read(datasets, set_name, work, None, print)
    articles, chunks, chunks_of = corpus_chunks(folder, Chunker())
    asked = []
    for question in load_questions(folder / "questions.jsonl"):
        numbers = chunks_shown(chunks, chunks_of, shown.get(question.id, []))[:3]
        if not numbers:
            continue
        passages = []
        for number in numbers:
            chunk = chunks[number]
            passages.append(Passage(title=articles[chunk.article_id].title, text=chunk.text,
                                    sentences=chunk_sentences(articles[chunk.article_id].text, chunk)))
        asked.append((question.question, passages))
        if len(asked) >= count:
            break
    return asked


def measure(reader, asked: list[tuple[str, list]], warm_up: int = 10) -> dict:
    """p50 / p95 / mean milliseconds of one question's read, after `warm_up` reads."""
    import torch

    for question, passages in asked[:warm_up]:
        reader.read(question, passages)
    timings = []
    for question, passages in asked:
        started = time.perf_counter()
        reader.read(question, passages)  # returns host values: the GPU has finished
        timings.append((time.perf_counter() - started) * 1000)
    device = reader.device
    return {
        "questions": len(timings), "passages": sum(len(p) for _, p in asked),
        "p50_ms": round(percentile(timings, 0.5), 1), "p95_ms": round(percentile(timings, 0.95), 1),
        "mean_ms": round(statistics.fmean(timings), 1),
        "device": device, "bf16": reader.bf16,
        "gpu": torch.cuda.get_device_name(device) if device.startswith("cuda") else None,
        "cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--set", default="tydiqa_id")
    parser.add_argument("--work", type=Path, default=Path(".kabar/reader-training"))
    parser.add_argument("--reader", default="deep", help="deep, fast, or a reader folder")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (KABAR_READER_DEVICE)")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="also write the result here (JSON)")
    args = parser.parse_args(argv)
    from rag.reader.read import Reader, ReaderLoadError, reader_folder, resolve_bf16, resolve_device

    folder = reader_folder(args.reader)
    try:
        device = resolve_device(args.device)
        reader = Reader(folder, threads=args.threads, bf16=resolve_bf16(args.precision, lambda: device), device=device)
        asked = passages_per_question(args.datasets, args.set, args.work, args.questions)
    except (ReaderLoadError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not asked:
        print(f"error: no question of {args.set} has mined passages in {args.work}", file=sys.stderr)
        return 2
    result = {"set": args.set, "reader": reader.name, **measure(reader, asked)}
    print(json.dumps(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
