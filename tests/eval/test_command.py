"""`kabar eval` end to end on the sample articles (hashing embedder: fast, deterministic)."""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest

from eval.command import git_commit, reader_meta, run_eval
from rag.service import Kabar
from rag.settings import Settings
from tests.conftest import ROOT, SAMPLES

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
    report = (out / "report.md").read_text()
    assert "git commit" in report
    # The numbers name the reader and answer head that chose the answers, and how they read.
    deep = json.loads((ROOT / "rag" / "data" / "reader-deep" / "config.json").read_text())
    reader = result["meta"]["reader"]
    assert reader["sha256"] == deep["sha256"] and reader["weights"] == "int8"
    assert reader["answer_head"] is None  # the hashing embedder has no chooser, so no head adds to one
    assert reader["precision"] in ("bf16", "fp32") and reader["rerank"] is True
    assert reader["question_languages"] == "any"  # measured on data/crosslingual; the six-layer one was not
    assert f"- reader: {{\"name\": \"{reader['name']}\"" in report

    # The index is reused while the corpus and settings are unchanged.
    marker = (tmp_path / "index" / "eval-fingerprint.txt").stat().st_mtime
    run_eval([SAMPLES], questions, ["dense"], settings, index_dir=tmp_path / "index", progress=False)
    assert (tmp_path / "index" / "eval-fingerprint.txt").stat().st_mtime == marker


def test_eval_with_a_language_model_reports_claim_support_answer_hit_and_latency(tmp_path, cache_dir):
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
    assert result["meta"]["reader"] is None
    assert "- reader: off" in (tmp_path / "report" / "report.md").read_text()


@pytest.mark.model
def test_the_report_names_the_answer_head_that_chose_with_the_reader(e5_seed_settings):
    reader = reader_meta(Kabar(e5_seed_settings))  # the shared e5 services read with the six-layer reader
    assert reader["directory"] == str(ROOT / "rag" / "data" / "reader")
    head = ROOT / "rag" / "data" / "reader" / "answer_head.safetensors"
    assert reader["answer_head"] == hashlib.sha256(head.read_bytes()).hexdigest()[:16]
    assert reader["head_settings"]["units"] == 64 and reader["passages"] == 3
    assert reader["question_languages"] == "indonesian"


def test_a_report_from_uncommitted_changes_says_so(tmp_path):
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=k", "-c", "user.email=k@example.org", *args], cwd=tmp_path,
                       check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", "code.py")
    git("commit", "-qm", "first")
    commit = git_commit(tmp_path)
    assert commit and "+" not in commit
    (tmp_path / "notes.txt").write_text("untracked files are not the measured code\n")
    assert git_commit(tmp_path) == commit
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_commit(tmp_path) == f"{commit}+dirty"
