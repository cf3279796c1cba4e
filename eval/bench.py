"""`kabar bench`: speed and memory on this machine, as numbers, not as timed unit tests.

Three parts:
1. embedding: the real embedder's raw passages/s on news-like texts, against the full
   ingest pipeline's passages/s on the same texts (cleaning, chunking, sentences, SQLite,
   FAISS segment, tantivy, commit), plus single-question latency;
2. archive (`--articles 10000,100000,...`): an archive of N varied generated articles
   (12 real sentences each, drawn from the shared corpora, so few near-duplicates), indexed
   with the hashing embedder (no model time). Then, in a fresh process that serves it: questions'
   latency per mode (p50 of a first pass over the question set, then of the steady state), one new article's ingest + commit (and the server opening it,
   as the documents API does before it reports the job done), the first question after
   that commit per mode, resident memory; and the index's size on disk;
3. recall (`--recall INDEX[,INDEX...]`): ANN recall@10 of the index type a merge builds above
   the threshold, against exact search, on the real e5 vectors of existing indexes, asked real questions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
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
    # Retrieval's cost as the archive grows; the reader adds a constant ~100 ms a question (three passages read),
    # measured per mode by `kabar eval` (`default` against `default-no-reader`).
    settings = Settings(index_dir=index_dir, cache_dir=workdir / "cache", embedder="hashing", model="words+bigrams/384",
                        reader="off")
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
              "index_mb": round(sum(f.stat().st_size for f in service.snapshot.directory.path.rglob("*") if f.is_file())
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


def corpus_sentences(datasets: Path | None) -> list[str]:
    """Real sentences from the shared corpora (tydiqa_id, facqa), or the sample articles' when absent."""
    sentences: list[str] = []
    for name in ("tydiqa_id", "facqa"):
        corpus = datasets / name / "corpus.jsonl" if datasets else None
        if corpus is None or not corpus.exists():
            continue
        for line in corpus.read_text(encoding="utf-8").splitlines():
            if line.strip():
                text = json.loads(line)["text"]
                sentences += [text[s:e] for s, e in sentence_spans(text) if 30 <= e - s <= 400]
    return list(dict.fromkeys(sentences)) or sample_sentences()


def varied_articles(count: int, sentences: list[str], seed: int, first: int = 0):
    """Articles of 12 sentences drawn at random from a large pool: two of them rarely share a sentence."""
    rng = random.Random(seed)
    start = dt.date(2015, 1, 1)
    for number in range(first, first + count):
        body = " ".join(rng.choice(sentences) for _ in range(12))
        yield Article(id=f"bench-{number:07d}", title=" ".join(rng.choice(sentences).split()[:8]), text=body,
                      source=rng.choice(["Kompas.com", "Antara", "Tempo", "Detik"]),
                      published=start + dt.timedelta(days=number % 3650))


def _serve_and_measure(index_dir: str, queries: list[str], new_articles: list[dict], out) -> None:
    """In a fresh process: what a server on this archive costs (its memory, its latency, a commit under it)."""
    import itertools
    import os

    from rag.ingest.pipeline import Ingestor as _Ingestor

    settings = Settings(index_dir=Path(index_dir), cache_dir=Path(index_dir) / "cache", embedder="hashing",
                        model="words+bigrams/384", reader="off")
    service = Kabar(settings)
    result: dict = {"modes": {}}
    for mode in ARCHIVE_MODES:
        # Two passes: the first pays for what a running server has long had (the files' pages in memory,
        # FAISS segments loaded); the second is the steady state a server serves from.
        passes = []
        for _ in range(2):
            latencies = []
            for question in queries:
                started = time.perf_counter()
                service.ask(question, k=10, mode=mode)
                latencies.append((time.perf_counter() - started) * 1000)
            passes.append(latencies)
        result["modes"][mode] = {"first_pass_p50_ms": round(statistics.median(passes[0]), 2),
                                 "later_p50_ms": round(statistics.median(passes[1]), 2),
                                 "later_p95_ms": round(percentile(passes[1], 0.95), 2)}
    ingestor = _Ingestor(service.embedder, Chunker())
    commits = []
    fresh = (Article(**{**raw, "id": f"{raw['id']}-{n}"}) for n, raw in enumerate(itertools.cycle(new_articles)))
    for mode in ARCHIVE_MODES:
        firsts = []
        for question in queries[1:1 + COMMITS_PER_MODE]:
            started = time.perf_counter()
            ingestor.ingest_articles(iter([next(fresh)]), Path(index_dir), progress=False)
            # As the documents API does before it reports the job done: the server opens the new commit.
            service.ready
            commits.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            service.ask(question, k=10, mode=mode)
            firsts.append((time.perf_counter() - started) * 1000)
        result["modes"][mode]["first_after_commit_ms"] = round(statistics.median(firsts), 2)
    result["one_article_commit_ms"] = round(statistics.median(commits), 1)
    result["one_article_commit_max_ms"] = round(max(commits), 1)
    with open(f"/proc/{os.getpid()}/status", encoding="ascii") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
    result["server_rss_mb"] = round(rss / 1024, 1)
    result["server_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["segments"] = len(service.snapshot.store.segments())
    out.put(result)


ARCHIVE_MODES = ("dense", "bm25", "default")
COMMITS_PER_MODE = 5  # one new article committed, then one question, five times per mode (medians reported)


def bench_archive(articles: int, queries: int, workdir: Path, sentences: list[str]) -> dict:
    import multiprocessing

    index_dir = workdir / f"archive-{articles}"
    embedder = load_embedder("hashing", "words+bigrams/384")
    started = time.perf_counter()
    summary = Ingestor(embedder, Chunker(), embed_batch=256).ingest_articles(
        varied_articles(articles, sentences, seed=2), index_dir, progress=False)
    build_seconds = time.perf_counter() - started
    rng = random.Random(3)
    questions = [" ".join(rng.sample(rng.choice(sentences).split(), 5)) for _ in range(queries)]
    new = [a.model_dump(mode="json") for a in
           varied_articles(len(ARCHIVE_MODES) * COMMITS_PER_MODE, sentences, seed=4, first=articles)]
    context = multiprocessing.get_context("spawn")
    channel = context.Queue()
    worker = context.Process(target=_serve_and_measure, args=(str(index_dir), questions, new, channel))
    worker.start()
    served = channel.get()
    worker.join()
    disk = sum(f.stat().st_size for f in index_dir.rglob("*") if f.is_file() and "cache" not in f.parts)
    return {"articles": articles, "chunks": summary.chunks, "sentences": summary.sentences,
            "build_seconds": round(build_seconds, 1), "disk_mb": round(disk / 2**20, 1), **served}


def bench_recall(indexes: list[Path], questions: list[str], queries: int = 600) -> dict:
    """Recall@10 of the IVF-SQ8 segment a merge would build, against exact search, on real e5 vectors.

    The vectors are every chunk and sentence vector of the given indexes (all real passages, pooled so
    the lists number what a large archive's do); the queries are real questions from the data sets,
    embedded as questions. Questions lie further from the passages than any passage does, so sentence
    vectors as queries overstate recall (0.965 against 0.943 at the same settings). The IVF segment is
    built whatever the pool's size, to measure the type used above the threshold, through the same
    code path as a merge (`build_segment`, `Segment`, `ChunkVectors` with its exact re-scoring).
    """
    import numpy as np

    import index.vectors as vectors
    from index.records import SegmentRow
    from index.snapshot import Snapshot, recorded_embedder

    pooled, embedder_record = [], None
    for path in indexes:
        snapshot = Snapshot(path)
        record = recorded_embedder(path)
        if embedder_record is not None and record is not None and record != embedder_record:
            raise ValueError(f"{path} was built with {record.backend}:{record.model}, not "
                             f"{embedder_record.backend}:{embedder_record.model}: their vectors do not mix")
        embedder_record = embedder_record or record
        pooled.append(snapshot.chunk_vectors.vectors_for(np.asarray(snapshot.store.chunk_ids(), dtype=np.int64)))
        pooled.append(snapshot.sentence_vectors.vectors_for(np.asarray(snapshot.store.sentence_ids(), dtype=np.int64)))
        snapshot.close()
    matrix = np.ascontiguousarray(np.vstack(pooled), dtype=np.float32)
    ids = np.arange(1, len(matrix) + 1, dtype=np.int64)
    embedder = load_embedder(embedder_record.backend, embedder_record.model) if embedder_record else load_embedder("e5")
    asked = random.Random(0).sample(questions, min(queries, len(questions)))
    query_vectors = np.asarray(embedder.encode_queries(asked), dtype=np.float32)
    exact = ids[np.argsort(-(query_vectors @ matrix.T), axis=1)[:, :10]]
    with tempfile.TemporaryDirectory() as folder:
        threshold = vectors.IVF_MIN_VECTORS
        vectors.IVF_MIN_VECTORS = min(threshold, len(ids))
        try:
            kind = vectors.build_segment(Path(folder) / "seg.faiss", ids, matrix)
        finally:
            vectors.IVF_MIN_VECTORS = threshold
        matrix_file = Path(folder) / "rows.f16"
        matrix.astype(np.float16).tofile(matrix_file)
        reader = vectors.MatrixReader(matrix_file, matrix.shape[1], len(matrix))
        row = SegmentRow(name="seg.faiss", first_id=1, last_id=len(ids), vectors=len(ids), kind=kind)
        segment = vectors.Segment.load(Path(folder), row)
        searcher = vectors.ChunkVectors([segment], np.zeros(0, dtype=np.int64), reader, len(ids))
        found = sum(len({i for i, _ in searcher.search(query, 10)} & set(exact[n].tolist()))
                    for n, query in enumerate(query_vectors))
        nlist, nprobe = int(segment._index.nlist), int(segment._index.nprobe)
    return {"indexes": [str(i) for i in indexes], "vectors": len(ids), "queries": len(asked), "kind": kind,
            "nlist": nlist, "nprobe": nprobe, "recall_at_10": round(found / (10 * len(asked)), 4)}


def recall_questions(datasets: Path, limit_per_set: int = 2000) -> list[str]:
    """Real questions from every data set beside the repository, in every language they come in."""
    questions: list[str] = []
    for path in sorted(datasets.glob("*/questions.jsonl")):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        questions.extend(json.loads(line)["question"] for line in lines[:limit_per_set])
    return questions


def run_bench(chunk_counts: list[int], embed_articles: int, backend: str, model: str | None, queries: int,
              out: Path | None, articles: list[int] | None = None, datasets: Path | None = None,
              recall: list[Path] | None = None, keep: Path | None = None) -> dict:
    """`keep`: build the archives in this folder and leave them there (to profile or inspect them after)."""
    if keep is not None and articles:
        taken = [keep / f"archive-{count}" for count in articles if (keep / f"archive-{count}").exists()]
        if taken:
            raise ValueError(f"{taken[0]} exists: the bench builds a fresh archive (remove it, or keep elsewhere)")
    report: dict = {"embedding": bench_embedding(backend, model, embed_articles) if embed_articles else None,
                    "search": [], "archive": [], "recall": None}
    with contextlib.ExitStack() as stack:
        folder = keep if keep is not None else stack.enter_context(tempfile.TemporaryDirectory())
        Path(folder).mkdir(parents=True, exist_ok=True)
        for count in chunk_counts:
            report["search"].append(bench_search(count, queries, Path(folder)))
        if articles:
            sentences = corpus_sentences(datasets)
            for count in articles:
                report["archive"].append(bench_archive(count, queries, Path(folder), sentences))
                if out:
                    out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    if recall:
        report["recall"] = bench_recall(recall, recall_questions(datasets or Path("../shared/datasets")))
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
    if report.get("archive"):
        print()
        print("| articles | chunks / sentences | build s | disk MB | one-article commit ms (max) | "
              + " | ".join(f"{m}: first pass / later p50 / first after commit ms" for m in ARCHIVE_MODES)
              + " | server RSS MB | segments |")
        print("| --- | --- | --- | --- | --- | " + " | ".join("---" for _ in ARCHIVE_MODES) + " | --- | --- |")
        for row in report["archive"]:
            cells = " | ".join(f"{row['modes'][m].get('first_pass_p50_ms', '–')} / {row['modes'][m]['later_p50_ms']} / "
                               f"{row['modes'][m]['first_after_commit_ms']}"
                               for m in ARCHIVE_MODES)
            print(f"| {row['articles']} | {row['chunks']} / {row['sentences']} | {row['build_seconds']} | "
                  f"{row['disk_mb']} | {row['one_article_commit_ms']} ({row['one_article_commit_max_ms']}) | {cells} | "
                  f"{row['server_rss_mb']} | {row['segments']} |")
    if report.get("recall"):
        r = report["recall"]
        print(f"\nANN recall@10 ({r['kind']}, nlist {r['nlist']}, nprobe {r['nprobe']}) on {r['vectors']} "
              f"chunk and sentence vectors of {', '.join(r['indexes'])}, {r['queries']} real questions: "
              f"{r['recall_at_10']}")
    print(f"peak RSS {report['peak_rss_mb']} MB")
