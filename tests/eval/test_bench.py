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


def test_the_archive_bench_measures_commits_first_and_later_questions_and_memory(tmp_path, capsys):
    report = run_bench([], embed_articles=0, backend="hashing", model=None, queries=6, out=None, articles=[60],
                       datasets=tmp_path / "no-datasets")  # falls back to the sample articles' sentences
    [row] = report["archive"]
    assert row["articles"] == 60 and row["chunks"] >= 60 and row["disk_mb"] > 0 and row["server_rss_mb"] > 0
    assert row["one_article_commit_ms"] > 0 and row["segments"] >= 1
    for mode in ("dense", "bm25", "default"):
        assert row["modes"][mode]["later_p50_ms"] > 0 and row["modes"][mode]["first_after_commit_ms"] > 0
    print_report(report)
    assert "one-article commit" in capsys.readouterr().out


def test_the_recall_bench_asks_real_questions_of_an_ivf_segment_built_as_a_merge_builds_it(tmp_path):
    from eval.bench import bench_recall, generated_articles, sample_sentences
    from rag.chunk import Chunker
    from rag.embed.factory import load_embedder
    from rag.ingest.pipeline import Ingestor

    index = tmp_path / "index"
    Ingestor(load_embedder("hashing"), Chunker()).ingest_articles(
        generated_articles(40, sample_sentences()), index, progress=False)
    result = bench_recall([index], ["Di mana KTT berikutnya?", "Berapa kota dihubungkan truk?", "Who spoke?"])
    assert result["kind"] == "ivf-sq8" and result["queries"] == 3 and result["vectors"] >= 100
    assert 0.0 < result["recall_at_10"] <= 1.0 and 1 <= result["nprobe"] <= result["nlist"]


def test_a_kept_archive_stays_for_inspection_and_is_never_built_over(tmp_path):
    import pytest

    keep = tmp_path / "kept"
    run_bench([], embed_articles=0, backend="hashing", model=None, queries=3, out=None, articles=[20],
              datasets=tmp_path / "no-datasets", keep=keep)
    assert (keep / "archive-20" / "docs.sqlite").exists()
    with pytest.raises(ValueError, match="exists"):
        run_bench([], embed_articles=0, backend="hashing", model=None, queries=3, out=None, articles=[20],
                  datasets=tmp_path / "no-datasets", keep=keep)
