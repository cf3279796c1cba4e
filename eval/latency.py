"""Warm query latency of `ask` over a question set: p50/p95 per mode, plus peak memory.

    python -m eval.latency --index DIR --questions QUESTIONS.jsonl [--modes default,dense] [--limit 200]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

from eval.metrics import percentile
from rag.service import Kabar
from rag.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--modes", default="default,dense")
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("-k", type=int, default=5)
    args = parser.parse_args(argv)
    settings = Settings(index_dir=args.index)
    settings.apply_process_environment()
    service = Kabar(settings)
    lines = args.questions.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()][: args.limit]
    service.ask(questions[0])  # warm-up: loads word statistics and pages in the model
    report = {}
    for mode in args.modes.split(","):
        timings = []
        for question in questions:
            started = time.perf_counter()
            service.ask(question, k=args.k, mode=mode)
            timings.append((time.perf_counter() - started) * 1000)
        report[mode] = {"questions": len(timings), "p50_ms": round(statistics.median(timings), 1),
                        "p95_ms": round(percentile(timings, 0.95), 1), "mean_ms": round(statistics.mean(timings), 1)}
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    report["index_mb"] = round(sum(f.stat().st_size for f in service.snapshot.directory.path.rglob("*") if f.is_file()) / 2**20, 2)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
