"""`kabar eval`: build (or reuse) the corpus index, run every mode, report."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import time
from pathlib import Path

from eval.metrics import by_language, significance, summarize
from eval.questions import load_questions
from eval.report import table, write_report
from eval.runner import ensure_index, run_mode
from rag.retrieve import Pipeline
from rag.service import Kabar
from rag.settings import Settings


def git_commit(here: Path | None = None) -> str:
    """The commit the numbers were measured at; "+dirty" when tracked files differ from it."""
    here = here or Path(__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True, cwd=here).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}+dirty" if changed else commit


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def reader_meta(service: Kabar) -> dict | None:
    """Which reader and answer head chose the answers, and how they read: numbers name what made them."""
    from rag.reader.head import HEAD_FILE
    from rag.service import reader_directory

    reader = service.reader
    if reader is None:
        return None
    settings = service.settings
    head = service.answer_head
    precision = "int8" if reader.int8 else "bf16" if reader.bf16 else "fp32"
    return {"name": reader.name, "directory": str(reader_directory(settings)),
            "sha256": reader.config.get("sha256"), "weights": reader.weights_format, "precision": precision,
            "device": reader.device,
            "question_languages": reader.question_languages,
            "answer_head": _file_digest(Path(reader.directory) / HEAD_FILE) if head is not None else None,
            "head_settings": head.metadata.get("settings") if head is not None else None,
            "passages": settings.reader_passages,
            "rerank": settings.reader_rerank, "rerank_score_weight": settings.reader_rerank_score_weight,
            "rerank_floor": settings.reader_rerank_floor, "confidence": settings.reader_confidence}


def run_eval(corpus: list[Path], questions_file: Path, modes: list[str], settings: Settings,
             index_dir: Path | None = None, out: Path | None = None, k: int = 10,
             progress: bool = True, llm: bool = False) -> dict:
    """`llm`: also have the configured language model (KABAR_LLM_URL) write each answer, and report its claims."""
    if llm and not settings.llm_url:
        raise ValueError("--llm needs a language model: set KABAR_LLM_URL (and KABAR_LLM_MODEL) to an "
                         "OpenAI-compatible chat-completions server")
    for mode in modes:
        Pipeline.parse(mode)  # raises with the list of modes
    questions = load_questions(questions_file)
    started = time.perf_counter()
    index_dir = ensure_index(corpus, settings, index_dir, progress=progress)
    build_seconds = round(time.perf_counter() - started, 1)
    service = Kabar(settings.model_copy(update={"index_dir": index_dir}))
    runs = {mode: run_mode(service, questions, mode, k, llm=llm) for mode in modes}

    metrics: dict[str, dict] = {"all": {mode: summarize(questions, runs[mode]) for mode in modes}}
    for lang, group in by_language(questions).items():
        metrics[f"lang={lang}"] = {mode: summarize(group, runs[mode]) for mode in modes}
    tests = significance(questions, runs) if "default" in modes else {}
    meta = {
        "corpus": [str(p) for p in corpus], "questions_file": str(questions_file), "index": str(index_dir),
        "embedder": service.embedder.spec.key, "git_commit": git_commit(), "date": dt.date.today().isoformat(),
        "index_build_s": build_seconds, "k": k,
        "llm": {"url": settings.llm_url, "model": settings.llm_model} if llm else None,
        "reader": reader_meta(service),
        "settings": {key: value for key, value in settings.model_dump(mode="json").items()
                     if key in ("chunk_size", "chunk_overlap", "candidate_pool", "min_answer_confidence", "rrf_k",
                                "dense_weight", "lexical_weight", "sentence_weight",
                                "bm25_weight", "overlap_weight")},
    }
    if out is not None:
        write_report(out, meta, metrics, tests, questions, runs)
    return {"meta": meta, "metrics": metrics, "significance_vs_default": tests}


def print_result(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    print(table(result["metrics"]))
    if result["significance_vs_default"]:
        print("p-values vs default:", json.dumps(result["significance_vs_default"]))
