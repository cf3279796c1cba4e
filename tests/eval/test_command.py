"""`kabar eval` end to end on the sample articles (hashing embedder: fast, deterministic)."""

from __future__ import annotations

import json

from eval.command import run_eval
from rag.settings import Settings
from tests.conftest import SAMPLES

QUESTIONS = [
    {"id": "q1", "question": "KTT berikutnya di Kazakhstan pada tahun 2025", "lang": "id", "answers": ["Kazakhstan"],
     "gold_doc_ids": ["000_587714d13c2303dd"]},
    {"id": "q2", "question": "Jalur Sutra kuno kota Xian", "lang": "id", "answers": [],
     "gold_doc_ids": ["004_e7ff7c033fefe0f1"]},
    {"id": "q3", "question": "Why did Saudi Arabia stop umrah permits?", "lang": "en", "answers": [],
     "gold_doc_ids": []},
]


def test_eval_reports_every_mode_and_writes_the_report_folder(tmp_path, cache_dir):
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in QUESTIONS), encoding="utf-8")
    settings = Settings(cache_dir=cache_dir, embedder="hashing")
    out = tmp_path / "report"
    result = run_eval([SAMPLES], questions, ["bm25", "dense", "hybrid", "default"], settings,
                      index_dir=tmp_path / "index", out=out, progress=False)
    overall = result["metrics"]["all"]
    assert set(overall) == {"bm25", "dense", "hybrid", "default"}
    for metrics in overall.values():
        assert metrics["citation_validity"] == 1.0
        assert metrics["questions"] == 3
        assert {"recall@1", "mrr@10", "ndcg@10", "answer_hit@5", "unanswerable_refused"} <= set(metrics)
    assert overall["bm25"]["recall@1"] == 1.0  # both retrievable questions share words with their article
    assert {"lang=id", "lang=en"} <= set(result["metrics"])
    assert set(result["significance_vs_default"]) == {"bm25", "dense", "hybrid"}
    for name in ("report.md", "metrics.json", "run.jsonl", "recall_at_k.png", "latency.png"):
        assert (out / name).stat().st_size > 0, name
    assert len((out / "run.jsonl").read_text().splitlines()) == 12
    assert "git commit" in (out / "report.md").read_text()

    # The index is reused while the corpus and settings are unchanged.
    marker = (tmp_path / "index" / "eval-fingerprint.txt").stat().st_mtime
    run_eval([SAMPLES], questions, ["dense"], settings, index_dir=tmp_path / "index", progress=False)
    assert (tmp_path / "index" / "eval-fingerprint.txt").stat().st_mtime == marker


def test_eval_with_a_language_model_reports_claim_support_answer_hit_and_latency(tmp_path, cache_dir):
    import pytest

    from tests.fake_llm import FakeLLM

    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in QUESTIONS), encoding="utf-8")
    with pytest.raises(ValueError, match="KABAR_LLM_URL"):
        run_eval([SAMPLES], questions, ["dense"], Settings(cache_dir=cache_dir, embedder="hashing"),
                 index_dir=tmp_path / "index", progress=False, llm=True)
    with FakeLLM("unsupported") as llm:
        settings = Settings(cache_dir=cache_dir, embedder="hashing", llm_url=llm.url, min_answer_confidence=0.0,
                            reader="off")
        result = run_eval([SAMPLES], questions, ["dense"], settings, index_dir=tmp_path / "index",
                          out=tmp_path / "report", progress=False, llm=True)
    dense = result["metrics"]["all"]["dense"]
    assert dense["llm_answers"] == 1 and dense["llm_errors"] == 0.0  # over the answerable question
    assert dense["claim_support"] == 0.5  # one restated sentence, one invented number, per answer
    assert 0.0 <= dense["llm_answer_hit_supported"] <= 1.0 and dense["llm_p50_ms"] > 0
    assert "claim_support" in (tmp_path / "report" / "report.md").read_text()
