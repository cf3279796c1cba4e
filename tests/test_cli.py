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


def test_binary_oversized_and_boilerplate_files_are_reported_and_skipped(tmp_path, cache_dir):
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "photo.txt").write_bytes(os.urandom(4000))
    (folder / "promo.txt").write_text("Baca juga: Harga emas naik\nAdvertisement\nBerlangganan sekarang, diskon 50%!\n")
    with (folder / "dump.txt").open("wb") as handle:
        handle.truncate(3_000_000)
    (folder / "good.txt").write_text((SAMPLES / f"{SUMMIT_ARTICLE}.txt").read_text())
    index = tmp_path / "index"
    result = kabar("ingest", str(folder), "--index", str(index), "--embedder", "hashing", "--quiet",
                   cache_dir=cache_dir)
    assert result.returncode == 1
    assert "photo.txt: not UTF-8 text" in result.stderr
    assert "promo.txt" in result.stderr and "dump.txt" in result.stderr and "KABAR_MAX_ARTICLE_BYTES" in result.stderr
    assert "1 added" in result.stdout
    listed = kabar("search", "Kazakhstan", "--index", str(index), "--json", cache_dir=cache_dir)
    assert {p["citation"]["article_id"] for p in json.loads(listed.stdout)["passages"]} == {"good"}


def test_a_damaged_index_gives_one_line_and_check_repairs_it(tmp_path, cache_dir):
    index = tmp_path / "index"
    kabar("ingest", str(SAMPLES), "--index", str(index), "--embedder", "hashing", "--quiet", cache_dir=cache_dir,
          check=True)
    (index / "FORMAT").write_bytes(b"\xff\xfe garbage")
    asked = kabar("ask", "where is the 2025 summit?", "--index", str(index), cache_dir=cache_dir)
    assert asked.returncode == 2 and "Traceback" not in asked.stderr
    assert "FORMAT is damaged" in asked.stderr
    checked = kabar("check", "--index", str(index), cache_dir=cache_dir)
    assert checked.returncode == 1 and "problem:" in checked.stdout
    repaired = kabar("check", "--index", str(index), "--repair", cache_dir=cache_dir)
    assert repaired.returncode == 0 and "ok:" in repaired.stdout
    assert kabar("ask", "where is the 2025 summit?", "--index", str(index), cache_dir=cache_dir).returncode == 0
    database = index / "docs.sqlite"
    database.write_bytes(database.read_bytes()[:2048])
    broken = kabar("ask", "where is the 2025 summit?", "--index", str(index), cache_dir=cache_dir)
    assert broken.returncode == 2 and "Traceback" not in broken.stderr and "docs.sqlite" in broken.stderr
