"""Running a question set through Kabar, mode by mode, exactly as a client would."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from eval.metrics import QuestionResult
from eval.questions import Question
from index.directory import IndexDirectory
from rag.chunk import Chunker
from rag.embed.factory import load_embedder
from rag.ingest.pipeline import Ingestor
from rag.ingest.readers import expand_paths
from rag.service import Kabar
from rag.settings import Settings

FINGERPRINT_FILE = "eval-fingerprint.txt"


def corpus_fingerprint(paths: list[Path], settings: Settings, backend: str, model: str | None) -> str:
    """Changes when the corpus files or anything that shapes the index changes."""
    files, errors = expand_paths(paths)
    if errors:
        raise FileNotFoundError("; ".join(f"{e.location}: {e.message}" for e in errors))
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.name).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(f"{backend}|{model}|{settings.chunk_size}|{settings.chunk_overlap}".encode())
    return digest.hexdigest()


def ensure_index(paths: list[Path], settings: Settings, index_dir: Path | None, progress: bool = True) -> Path:
    """Build the corpus index once; reuse it while the corpus and settings are unchanged."""
    backend, model = settings.embedder or "e5", settings.model
    fingerprint = corpus_fingerprint(paths, settings, backend, model)
    if index_dir is None:
        name = paths[0].parent.name if paths[0].is_file() else paths[0].name
        index_dir = Path(".kabar") / "eval" / f"{name}-{fingerprint[:12]}"
    marker = index_dir / FINGERPRINT_FILE
    # An index from an older Kabar is reused too: opening it says to run `kabar migrate`.
    if IndexDirectory(index_dir).format() and marker.exists() and marker.read_text() == fingerprint:
        return index_dir
    embedder = load_embedder(backend, model, settings.cache_dir, settings.device)
    ingestor = Ingestor(embedder, Chunker(settings.chunk_size, settings.chunk_overlap), settings.checkpoint_seconds,
                        settings.max_article_bytes, settings.embed_batch)
    summary = ingestor.ingest_paths(paths, index_dir, progress=progress)
    print(f"index {index_dir}: {summary.line()}")
    marker.write_text(fingerprint)
    return index_dir


def set_services(datasets: Path, sets: tuple[str, ...], settings: Settings, work: Path | None = None):
    """(set name, its folder, a service over its corpus) for each question set, one embedder shared by all.

    The corpus index is built once and reused from .kabar/eval (or under `work`, one folder per set), as
    `kabar eval` does; what the trainers ask goes through the same retrieval as a client's question.
    """
    embedder = None  # loading the model is the slow part: once for every set
    for set_name in sets:
        folder = datasets / set_name
        index_dir = ensure_index([folder / "corpus.jsonl"], settings, work / set_name if work else None, progress=False)
        service = Kabar(settings.model_copy(update={"index_dir": index_dir}), embedder=embedder)
        embedder = service.embedder
        yield set_name, folder, service


def run_mode(service: Kabar, questions: list[Question], mode: str, k: int, llm: bool = False) -> list[QuestionResult]:
    service.ask(questions[0].question, k=k, mode=mode, generate=False)  # warm-up: statistics, caches, pages
    results = []
    for question in questions:
        started = time.perf_counter()
        answer = service.ask(question.question, k=k, mode=mode, generate=llm)
        latency = (time.perf_counter() - started) * 1000
        generated = answer.generated
        citations = [p.citation for p in answer.passages] + ([answer.answer.citation] if answer.answer else [])
        articles = service.snapshot.store.get_articles([c.article_id for c in citations])
        valid = sum(1 for c in citations if articles[c.article_id].text[c.start:c.end] == c.cited_text)
        span = answer.answer.span if answer.answer else None
        checked = len(citations)
        if span is not None:  # the short answer is held to the same standard as a citation
            checked += 1
            valid += int(articles[answer.answer.citation.article_id].text[span.start:span.end] == span.text)
        # A story folded into one result counts for every outlet that carried it, at that rank.
        ranked_articles = list(dict.fromkeys(
            a for p in answer.passages for a in [p.citation.article_id, *(r.article_id for r in p.also_reported_by)]))
        results.append(QuestionResult(
            question_id=question.id, mode=mode, articles=ranked_articles, passages=[p.text for p in answer.passages],
            answer=answer.answer.text if answer.answer else None,
            span=span.text if span is not None else None,
            confidence=answer.confidence,
            citations_total=checked, citations_valid=valid, latency_ms=round(latency, 2),
            generated=generated.text if generated else None, claims=len(generated.claims) if generated else 0,
            claims_supported=sum(c.supported for c in generated.claims) if generated else 0,
            supported_text=[c.support.cited_text for c in generated.claims if c.support] if generated else [],
            llm_error=answer.llm_error, llm_ms=generated.latency_ms if generated else None,
        ))
    return results
