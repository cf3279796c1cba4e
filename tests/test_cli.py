"""The `kabar` command as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SAMPLES, SUMMIT_ARTICLE


def kabar(*args: str, cache_dir, check: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "KABAR_CACHE_DIR": str(cache_dir)}
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=check)


def test_ingest_is_idempotent_and_reports_a_summary(tmp_path, cache_dir):
    index = tmp_path / "index"
    first = kabar("ingest", str(SAMPLES), "--index", str(index), "--embedder", "hashing", cache_dir=cache_dir)
    assert first.returncode == 0, first.stderr
    assert "2 added" in first.stdout and "chunks" in first.stdout
    assert "ingest" in first.stderr  # the progress bar
    again = kabar("ingest", str(SAMPLES), "--index", str(index), "--quiet", cache_dir=cache_dir)
    assert "0 added" in again.stdout and "2 unchanged" in again.stdout


def test_bad_paths_and_questions_exit_with_a_message(tmp_path, cache_dir):
    missing = kabar("ask", "anything", "--index", str(tmp_path / "none"), cache_dir=cache_dir)
    assert missing.returncode == 2 and "kabar ingest" in missing.stderr
    bad = kabar("ingest", str(tmp_path / "nope.txt"), "--index", str(tmp_path / "i"), "--embedder", "hashing",
                "--quiet", cache_dir=cache_dir)
    assert bad.returncode == 1 and "no such file" in bad.stderr
    kabar("ingest", str(SAMPLES), "--index", str(tmp_path / "i"), "--quiet", cache_dir=cache_dir, check=True)
    empty = kabar("ask", "  ", "--index", str(tmp_path / "i"), cache_dir=cache_dir)
    assert empty.returncode == 2 and "question is empty" in empty.stderr


@pytest.mark.model
def test_ask_json_answers_the_summit_question_with_the_real_model(tmp_path, cache_dir):
    index = tmp_path / "e5"
    kabar("ingest", str(SAMPLES), "--index", str(index), "--quiet", cache_dir=cache_dir, check=True)
    result = kabar("ask", "--index", str(index), "--json", "where is the 2025 summit?", cache_dir=cache_dir)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert "Kazakhstan" in body["answer"]["text"]
    assert body["answer"]["citation"]["article_id"] == SUMMIT_ARTICLE
    assert body["answer"]["citation"]["published"] == "2024-12-02"
