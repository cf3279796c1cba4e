"""The passages Kabar's own retrieval hands the reader for each public question, kept for training.

The reader's first run learns from the chunk that holds the answer and one BM25 near miss from another article.
Serving shows it something else: the top passages of hybrid retrieval, often other chunks of the right article
and dense near misses. Its "does this passage answer" head is what compares those passages (for the answer and
for refusals), so `python -m eval.train_reader --passages read` teaches it on exactly them. Mining asks each
question once (the e5 indexes of `kabar eval` are reused from .kabar/eval) and keeps what it was shown in the work
folder, so a resumed run does not ask again.
"""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path

# What a question was shown: (article id, start, end) of each passage, best first.
Shown = list[tuple[str, int, int]]


def cache_path(work: Path, set_name: str, embedder: str = "e5", limit: int | None = None,
               questions_file: Path | None = None) -> Path:
    """Where `passages_read` keeps a set's mined passages (per questions, embedder and limit)."""
    asked_from = f"-{questions_file.stem}" if questions_file else ""
    return work / f"passages-read-{set_name}{asked_from}-{embedder}{f'-{limit}' if limit else ''}.json"


def passages_read(datasets: Path, set_name: str, work: Path, limit: int | None, log,
                  embedder: str = "e5", indexes: Path | None = None,
                  questions_file: Path | None = None) -> dict[str, Shown]:
    """Question id → the passages Kabar reads for it; cached in `work` per set, questions, embedder and limit.

    `indexes`: where the set's index is built (default: `kabar eval`'s, under .kabar/eval, reused).
    `questions_file`: other questions over the same archive to ask instead of the set's own (its translations:
    a question in English is shown other passages than the same question in Indonesian).
    """
    cache = cache_path(work, set_name, embedder, limit, questions_file)
    if cache.exists():
        return {key: [tuple(p) for p in shown] for key, shown in json.loads(cache.read_text(encoding="utf-8")).items()}
    from eval.questions import load_questions
    from eval.runner import set_services
    from rag.settings import Settings

    ((_, folder, service),) = set_services(datasets, (set_name,), Settings(reader="off", embedder=embedder), indexes)
    questions = load_questions(questions_file or folder / "questions.jsonl")
    started = time.time()
    shown: dict[str, Shown] = {}
    for question in questions[:limit] if limit else questions:
        shown[question.id] = [(c.chunk.article_id, c.chunk.start, c.chunk.end)
                              for c in service.passages_read(question.question)]
    log(f"{set_name}: the passages read for {len(shown)} questions mined in {time.time() - started:.0f} s ({service.settings.index_dir})")
    del service
    gc.collect()
    work.mkdir(parents=True, exist_ok=True)
    temporary = cache.with_suffix(".tmp")
    temporary.write_text(json.dumps(shown, ensure_ascii=False), encoding="utf-8")
    temporary.replace(cache)
    return shown
