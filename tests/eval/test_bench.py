"""`kabar bench` produces its numbers (what they are is for the machine to say, not a test)."""

import json

from eval.bench import print_report, run_bench
from rag.retrieve import MODES


def test_bench_reports_search_latency_per_mode_and_memory(tmp_path, capsys):
    out = tmp_path / "bench.json"
    report = run_bench([300], embed_articles=2, backend="hashing", model=None, queries=5, out=out)
    [search] = report["search"]
    assert search["chunks"] >= 300 and search["index_mb"] > 0
    for mode in MODES:
        assert search[mode]["p50_ms"] > 0
    assert report["embedding"]["raw_passages_per_s"] > 0 and report["embedding"]["ingest_passages_per_s"] > 0
    assert json.loads(out.read_text())["peak_rss_mb"] > 0
    print_report(report)
    assert "peak RSS" in capsys.readouterr().out
