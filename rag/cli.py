"""`kabar`: ingest, ask, search and serve from the command line.

Errors the user can fix (missing index, bad question, locked index) print one line
to stderr and exit with status 2; an ingest with bad records exits 1 after saving
the good ones.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import sys
from pathlib import Path

from rag.settings import Settings

EXIT_USAGE = 2


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {value!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kabar", description="Question answering over news archives.")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_index(p: argparse.ArgumentParser) -> None:
        p.add_argument("--index", type=Path, help="index directory (default: KABAR_INDEX_DIR or .kabar/index)")

    ingest = commands.add_parser("ingest", help="add or update articles: files, folders, .jsonl corpora")
    ingest.add_argument("paths", nargs="+", type=Path)
    with_index(ingest)
    ingest.add_argument("--embedder", choices=["e5", "sentence-transformers", "hashing"])
    ingest.add_argument("--model", help="model name or path for the embedder")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")

    for name, help_text in (("ask", "answer a question with citations"), ("search", "ranked passages only")):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("question")
        with_index(sub)
        sub.add_argument("-k", type=int, default=None, help="number of passages")
        sub.add_argument("--mode", default="default",
                         help="retrieval mode: default, hybrid, dense, bm25; default-no-time/-no-dedup/-no-mmr "
                         "switch a stage of default off")
        sub.add_argument("--json", action="store_true", help="print the full result as JSON")
        sub.add_argument("--from", dest="published_from", type=_date, help="published on or after (YYYY-MM-DD)")
        sub.add_argument("--to", dest="published_to", type=_date, help="published on or before (YYYY-MM-DD)")
        sub.add_argument("--source", action="append", help="only this publisher (repeatable)")
        sub.add_argument("--as-of", dest="as_of", type=_date,
                         help="resolve 'next year', 'tahun lalu'… against this date (default: the archive's "
                              "newest article; 'the next summit': the newest article on the summit)")

    evaluate = commands.add_parser("eval", help="measure retrieval, answers, abstention and latency")
    evaluate.add_argument("--corpus", type=Path, nargs="+", required=True, help="what `kabar ingest` accepts")
    evaluate.add_argument("--questions", type=Path, required=True, help="questions.jsonl (datasets/FORMAT.md)")
    evaluate.add_argument("--modes", default="bm25,dense,hybrid,default")
    evaluate.add_argument("--index", type=Path, help="index directory (default: .kabar/eval/<corpus>-<hash>)")
    evaluate.add_argument("--out", type=Path, help="report folder (report.md, metrics.json, run.jsonl, plots)")
    evaluate.add_argument("-k", type=int, default=10)
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--llm", action="store_true",
                          help="also have the language model (KABAR_LLM_URL) write each answer; report its claims")
    evaluate.add_argument("--embedder", choices=["e5", "sentence-transformers", "hashing"])
    evaluate.add_argument("--model")

    bench = commands.add_parser("bench", help="speed and memory benchmark (prints a table, writes JSON)")
    bench.add_argument("--chunks", default="", help="comma-separated sizes for the quick search part "
                       "(shuffled sample sentences)")
    bench.add_argument("--articles", default="10000",
                       help="comma-separated archive sizes (varied articles from the shared corpora)")
    bench.add_argument("--datasets", type=Path, default=Path("../shared/datasets"),
                       help="where the shared corpora are (sentences for the generated articles)")
    bench.add_argument("--recall", help="indexes of real e5 vectors, comma-separated (e.g. kabar eval's): ANN recall@10 "
                       "against exact search, asked the data sets' questions")
    bench.add_argument("--embed-articles", type=int, default=20, help="articles for the embedder part (0: skip)")
    bench.add_argument("--embedder", default="e5", choices=["e5", "sentence-transformers", "hashing"])
    bench.add_argument("--model")
    bench.add_argument("--queries", type=int, default=200)
    bench.add_argument("--out", type=Path, help="write the JSON report here")
    bench.add_argument("--keep", type=Path, help="build the archives in this folder and keep them (default: a "
                       "temporary folder, removed after)")

    keys = commands.add_parser("keys", help="manage API keys (stored hashed)")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    new_key = keys_commands.add_parser("new", help="create a key; it is printed once and never stored")
    new_key.add_argument("--name", required=True)
    new_key.add_argument("--scopes", default="ask", help="comma-separated: ask, admin")
    new_key.add_argument("--file", type=Path, help="keys file (default: KABAR_API_KEYS_FILE)")

    load = commands.add_parser("loadtest", help="load-test a running server on this machine (loopback only)")
    load.add_argument("--url", default="http://127.0.0.1:8000")
    load.add_argument("--seconds", type=float, default=30.0)
    load.add_argument("--concurrency", type=int, default=8)
    load.add_argument("--max-requests", type=int, default=100_000)
    load.add_argument("--api-key")
    load.add_argument("--questions", type=Path, help="questions.jsonl to draw from (default: built-in set)")
    load.add_argument("--out", type=Path)
    load.add_argument("--mode", help="the mode every request asks for (dense, default-no-reader, …; "
                      "default: the server's)")

    check = commands.add_parser("check", help="verify an index (store, vectors, BM25 agree); --repair falls back "
                                "to the last whole generation")
    with_index(check)
    check.add_argument("--repair", action="store_true",
                       help="remove a dead writer's leftovers and rebuild what is derived (segments from the vector "
                       "matrix, the lexical index from the text, counts, FORMAT)")
    check.add_argument("--json", action="store_true")

    migrate = commands.add_parser("migrate", help="convert an index written by an older Kabar, in place")
    with_index(migrate)

    merge = commands.add_parser("merge", help="merge the index's vector segments (all into one with --all)")
    with_index(merge)
    merge.add_argument("--all", action="store_true", help="one segment, deleted vectors dropped")

    serve = commands.add_parser("serve", help="run the HTTP API")
    with_index(serve)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {}
    if getattr(args, "index", None) and args.command != "eval":
        overrides["index_dir"] = args.index
    if getattr(args, "embedder", None) and args.command != "bench":
        overrides["embedder"] = args.embedder
    if getattr(args, "model", None) and args.command != "bench":
        overrides["model"] = args.model
    try:
        settings = Settings(**overrides)
    except ValueError as exc:
        print(f"kabar: invalid settings: {exc}", file=sys.stderr)
        return EXIT_USAGE
    settings.apply_process_environment()
    handler = {"ingest": _ingest, "ask": _ask, "search": _ask, "serve": _serve, "eval": _eval,
               "bench": _bench, "keys": _keys, "loadtest": _loadtest, "check": _check, "migrate": _migrate,
               "merge": _merge}[args.command]
    try:
        return handler(args, settings)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("kabar: interrupted; the index keeps its last committed state", file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"kabar: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except sqlite3.DatabaseError as exc:
        print(f"kabar: the index's document store under {settings.index_dir} is damaged ({exc}); "
              f"run `kabar check --index {settings.index_dir} --repair`", file=sys.stderr)
        return EXIT_USAGE


def _check(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the index is whole (after repair, if asked), 1 when it is not."""
    from index.check import check_index

    report = check_index(settings.index_dir, repair=args.repair)
    if args.json:
        print(json.dumps({**report.model_dump(), "ok": report.ok}, indent=2))
    else:
        for line in report.repaired:
            print(f"repaired: {line}")
        for line in report.problems:
            print(f"problem: {line}")
        if report.ok:
            print(f"ok: {settings.index_dir} serves {report.generation}; store, segments, vectors and lexical index agree")
    return 0 if report.ok else 1


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from index.migrate import migrate

    report = migrate(settings.index_dir)
    print(f"{settings.index_dir}: {report.detail}"
          + (f" ({report.articles} articles, {report.chunks} chunks, {report.sentences} sentences)"
             if report.migrated else ""))
    return 0


def _merge(args: argparse.Namespace, settings: Settings) -> int:
    from index.directory import IndexDirectory
    from index.snapshot import committed_manifest
    from index.writer import IndexWriter

    manifest = committed_manifest(settings.index_dir)
    if manifest is None:
        IndexDirectory(settings.index_dir).require()
        raise FileNotFoundError(f"no committed index at {settings.index_dir}")
    with IndexWriter(settings.index_dir, manifest.embedder, manifest.chunking, manifest.kabar_version) as writer:
        merged = writer.merge(everything=args.all)
    print(f"{settings.index_dir}: merged {len(merged)} segments" if merged else f"{settings.index_dir}: nothing to merge")
    return 0


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from index.snapshot import committed_manifest
    from rag.chunk import Chunker
    from rag.embed.factory import load_embedder
    from rag.ingest.pipeline import Ingestor

    backend, model = settings.embedder, settings.model
    manifest = committed_manifest(settings.index_dir)
    if manifest is not None and backend is None:
        backend, model = manifest.embedder.backend, manifest.embedder.model
    embedder = load_embedder(backend or "e5", model, settings.cache_dir, settings.device)
    ingestor = Ingestor(embedder, Chunker(settings.chunk_size, settings.chunk_overlap), settings.checkpoint_seconds,
                        settings.max_article_bytes, settings.embed_batch)
    summary = ingestor.ingest_paths(args.paths, settings.index_dir, progress=not args.quiet)
    for error in summary.errors:
        print(f"kabar: skipped {error.location}: {error.message}", file=sys.stderr)
    print(f"{summary.line()} -> {settings.index_dir}")
    return 1 if summary.errors else 0


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from rag.retrieve import Filters
    from rag.service import Kabar

    service = Kabar(settings)
    filters = Filters(published_from=args.published_from, published_to=args.published_to, sources=args.source)
    k = args.k or settings.default_k
    if args.command == "search":
        result = service.search(args.question, k=k, mode=args.mode, filters=filters, as_of=args.as_of)
    else:
        result = service.ask(args.question, k=k, mode=args.mode, filters=filters, as_of=args.as_of)
    if args.json:
        print(result.model_dump_json(indent=2))
        return 0
    answer = getattr(result, "answer", None)
    if args.command == "ask":
        if answer:
            c = answer.citation
            print(f"Answer: {answer.text}\n  — {c.title} ({c.source}, {c.published}) "
                  f"[{c.article_id} {c.start}:{c.end}] confidence {answer.confidence:.2f}\n")
        else:
            print(f"No answer: {result.no_answer_reason}\n")
    for passage in result.passages:
        c = passage.citation
        print(f"{passage.rank}. [{passage.score:.3f}] {c.title} ({c.source}, {c.published}) "
              f"{c.article_id} {c.start}:{c.end}")
        print(f"   {passage.text[:300]}{'…' if len(passage.text) > 300 else ''}")
    print(json.dumps({"timings_ms": result.timings_ms}))
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from eval.command import print_result, run_eval

    result = run_eval(args.corpus, args.questions, [m.strip() for m in args.modes.split(",") if m.strip()],
                      settings, index_dir=args.index, out=args.out, k=args.k, progress=not args.json, llm=args.llm)
    print_result(result, args.json)
    if args.out:
        print(f"report: {args.out / 'report.md'}")
    return 0


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    from eval.bench import print_report, run_bench

    counts = [int(n) for n in args.chunks.split(",") if n.strip() and int(n) > 0]
    articles = [int(n) for n in args.articles.split(",") if n.strip() and int(n) > 0]
    report = run_bench(counts, args.embed_articles, args.embedder, args.model, args.queries, args.out,
                       articles=articles, datasets=args.datasets,
                       recall=[Path(p) for p in args.recall.split(",") if p.strip()] if args.recall else None,
                       keep=args.keep)
    print_report(report)
    return 0


def _keys(args: argparse.Namespace, settings: Settings) -> int:
    from api.security import create_key

    path = args.file or settings.api_keys_file
    if path is None:
        raise ValueError("no keys file: pass --file or set KABAR_API_KEYS_FILE")
    scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
    unknown = set(scopes) - {"ask", "admin"}
    if unknown or not scopes:
        raise ValueError(f"scopes must be ask and/or admin, got {args.scopes!r}")
    key = create_key(path, args.name, scopes)
    print(key)
    print(f"stored the hash of key {args.name!r} ({', '.join(scopes)}) in {path}; the key is not shown again",
          file=sys.stderr)
    return 0


def _loadtest(args: argparse.Namespace, settings: Settings) -> int:
    from eval.loadtest import print_load_report, run_load_test

    report = run_load_test(args.url, args.seconds, args.concurrency, args.max_requests, args.api_key,
                           args.questions, args.mode)
    print_load_report(report)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0 if report["errors"] == 0 else 1


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.main import create_app

    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    app = create_app(settings)
    # uvicorn trusts X-Forwarded-For from 127.0.0.1 by default: any local client could then choose
    # the address it is rate-limited as. Only the proxies an operator names are trusted.
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info",
                proxy_headers=bool(settings.trusted_proxies),
                forwarded_allow_ips=",".join(settings.trusted_proxies) or None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
