"""`kabar bench`: speed and memory on this machine, as numbers, not as timed unit tests.

Two parts:
1. embedding: the real embedder's raw passages/s on news-like texts, against the full
   ingest pipeline's passages/s on the same texts (cleaning, chunking, sentences, SQLite,
   FAISS, BM25, atomic commit), plus single-question latency;
2. search: a generated corpus of N chunks indexed with the hashing embedder (synthetic
   vectors, no model time), then query latency per mode, index size and peak memory.
"""

from __future__ import annotations

import json
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

from eval.metrics import percentile
from rag.chunk import Chunker
from rag.embed.factory import load_embedder
from rag.ingest.pipeline import Ingestor
from rag.ingest.readers import read_articles
from rag.models import Article
from rag.retrieve import MODES
from rag.service import Kabar
from rag.settings import Settings
from rag.text import sentence_spans

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def sample_sentences() -> list[str]:
    sentences = []
    for article in read_articles(sorted(SAMPLES.glob("*.txt"))):
        if isinstance(article, Article):
            sentences += [article.text[s:e] for s, e in sentence_spans(article.text)]
    return sentences


def generated_articles(count: int, sentences: list[str], seed: int = 0, sentences_per_article: int = 4):
    """News-like articles made of shuffled real sentences, each with a unique marker word."""
    rng = random.Random(seed)
    for number in range(count):
        body = " ".join(rng.choice(sentences) for _ in range(sentences_per_article))
        yield Article(id=f"bench-{number:07d}", title=f"Berita nomor {number}", text=f"{body} Kode{number}.",
                      source=rng.choice(["Kompas.com", "Antara", "Tempo"]))


def bench_embedding(backend: str, model: str | None, articles: int) -> dict:
    sentences = sample_sentences()
    texts = list(generated_articles(articles, sentences, seed=1))
    embedder = load_embedder(backend, model)  # no cache: measure the model
    chunker = Chunker()
    passages = []
    for article in texts:
        passages += [c.text for c in chunker.split(article)] + [article.text[s:e] for s, e in sentence_spans(article.text)]
    started = time.perf_counter()
    embedder.encode_passages(passages)
    raw_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        # No cache: generated articles repeat sentences, and cache hits would flatter the ingest figure.
        ingestor = Ingestor(load_embedder(backend, model), chunker)
        summary = ingestor.ingest_articles(iter(texts), Path(folder) / "index", progress=False)
    ingested = summary.chunks + summary.sentences
    latencies = []
    for question in ["Di mana KTT berikutnya?", "where is the 2025 summit?", "Siapa Menteri Luar Negeri Kirgistan?"] * 10:
        started = time.perf_counter()
        embedder.encode_queries([question])
        latencies.append((time.perf_counter() - started) * 1000)
    return {
        "embedder": embedder.spec.key, "articles": articles, "passages": len(passages),
        "raw_passages_per_s": round(len(passages) / raw_seconds, 2),
        "ingest_passages_per_s": round(ingested / summary.seconds, 2),
        "ingest_seconds": round(summary.seconds, 1),
        "query_embed_p50_ms": round(statistics.median(latencies), 1),
        "query_embed_p95_ms": round(percentile(latencies, 0.95), 1),
    }


def bench_search(chunks: int, queries: int, workdir: Path) -> dict:
    sentences = sample_sentences()
    index_dir = workdir / f"search-{chunks}"
    settings = Settings(index_dir=index_dir, cache_dir=workdir / "cache", embedder="hashing", model="words+bigrams/384")
    embedder = load_embedder("hashing", "words+bigrams/384")
    # One sentence-sized article = one chunk, so `chunks` is the chunk count.
    started = time.perf_counter()
    summary = Ingestor(embedder, Chunker(), checkpoint_seconds=1e9).ingest_articles(
        generated_articles(chunks, sentences, seed=2, sentences_per_article=2), index_dir, progress=False)
    build_seconds = time.perf_counter() - started
    service = Kabar(settings)
    rng = random.Random(3)
    questions = [" ".join(rng.sample(rng.choice(sentences).split(), 5)) for _ in range(queries)]
    result = {"chunks": summary.chunks, "sentences": summary.sentences, "build_seconds": round(build_seconds, 1),
              "index_mb": round(sum(f.stat().st_size for f in service.snapshot.generation.rglob("*") if f.is_file())
                                / 2**20, 1)}
    for mode in MODES:
        service.ask(questions[0], k=10, mode=mode)  # warm-up: word statistics, caches
        latencies = []
        for question in questions:
            started = time.perf_counter()
            service.ask(question, k=10, mode=mode)
            latencies.append((time.perf_counter() - started) * 1000)
        result[mode] = {"p50_ms": round(statistics.median(latencies), 2),
                        "p95_ms": round(percentile(latencies, 0.95), 2)}
    return result


def run_bench(chunk_counts: list[int], embed_articles: int, backend: str, model: str | None, queries: int,
              out: Path | None) -> dict:
    report: dict = {"embedding": bench_embedding(backend, model, embed_articles) if embed_articles else None,
                    "search": []}
    with tempfile.TemporaryDirectory() as folder:
        for count in chunk_counts:
            report["search"].append(bench_search(count, queries, Path(folder)))
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if out:
        out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


def print_report(report: dict) -> None:
    embedding = report["embedding"]
    if embedding:
        print(f"embedder {embedding['embedder']}: raw {embedding['raw_passages_per_s']} passages/s, "
              f"ingest {embedding['ingest_passages_per_s']} passages/s ({embedding['passages']} passages), "
              f"question {embedding['query_embed_p50_ms']} / {embedding['query_embed_p95_ms']} ms p50/p95")
    print("| chunks | build s | index MB | " + " | ".join(f"{m} p50/p95 ms" for m in MODES) + " |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in MODES) + " |")
    for row in report["search"]:
        cells = " | ".join(f"{row[m]['p50_ms']} / {row[m]['p95_ms']}" for m in MODES)
        print(f"| {row['chunks']} | {row['build_seconds']} | {row['index_mb']} | {cells} |")
    print(f"peak RSS {report['peak_rss_mb']} MB")
