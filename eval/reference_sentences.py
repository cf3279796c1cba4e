"""Sample the fixed "ordinary prose" sentences that answer confidence measures a question against.

    python -m eval.reference_sentences [--datasets ../shared/datasets] [--sets tydiqa_id,facqa] [--per-set 200]
                                       [--seed 13] [--write]

The z-score of answer confidence says how far the best sentence's cosine stands above the question's cosines to
sentences that do not answer it; those are these sentences, drawn once from public corpora and shipped
(`rag/data/reference_sentences.txt`, with their vectors for the default embedder), so the z of a question does not
depend on the archive it is asked of. Only sets a model may learn from: a check set's text would make the curve's
background its own passages (issue 12). Every change of these sentences changes z, so the curves in
`rag/calibration.json` are refitted after it (`eval.calibrate`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from pathlib import Path

import numpy as np

from eval.questions import refuse_check_sets
from rag.text import sentence_spans

DATA = Path(__file__).resolve().parent.parent / "rag" / "data"
MIN_CHARS, MAX_CHARS = 40, 250  # a whole statement, not a caption or a run-on paragraph


def corpus_sentences(corpus: Path) -> list[str]:
    """Every distinct sentence of a corpus's articles that reads as one statement (no question, no list)."""
    seen: dict[str, None] = {}
    for line in corpus.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        text = json.loads(line)["text"]
        for start, end in sentence_spans(text):
            sentence = " ".join(text[start:end].split())
            if MIN_CHARS <= len(sentence) <= MAX_CHARS and "?" not in sentence and sentence[-1] in ".!\"”)":
                seen.setdefault(sentence)
    return list(seen)


def sample_sentences(datasets: Path, sets: list[str], per_set: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    chosen: list[str] = []
    for name in sets:
        pool = corpus_sentences(datasets / name / "corpus.jsonl")
        if len(pool) < per_set:
            raise SystemExit(f"{name}: only {len(pool)} usable sentences, {per_set} asked")
        chosen.extend(rng.sample(pool, per_set))
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--sets", default="tydiqa_id,facqa")
    parser.add_argument("--per-set", type=int, default=200)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--write", action="store_true",
                        help="replace rag/data/reference_sentences.txt and the default (e5) embedder's vectors of them")
    args = parser.parse_args(argv)
    sets = [name for name in args.sets.split(",") if name]
    refuse_check_sets(sets, "sampled from")
    for name in sets:
        if not (args.datasets / name / "corpus.jsonl").is_file():
            raise SystemExit(f"{args.datasets / name / 'corpus.jsonl'}: no such corpus (--datasets)")
    sentences = sample_sentences(args.datasets, sets, args.per_set, args.seed)
    if not args.write:
        print("\n".join(sentences))
        return 0
    from rag.embed.factory import load_embedder
    from rag.settings import Settings

    Settings().apply_process_environment()
    # Shipped vectors are the default embedder's; another embedder embeds the sentences once at its first start.
    embedder = load_embedder("e5")
    vectors = np.asarray(embedder.encode_passages(sentences), dtype=np.float16)
    (DATA / "reference_sentences.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    name = f"reference-{hashlib.sha256(embedder.spec.key.encode()).hexdigest()[:16]}.npy"
    np.save(DATA / name, vectors)
    print(f"wrote {len(sentences)} sentences ({', '.join(sets)}, {args.per_set} each, seed {args.seed}) and "
          f"{DATA / name}; refit the curves in rag/calibration.json (eval.calibrate)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
