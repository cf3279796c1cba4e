"""The answer head: fitted for one reader and one chooser, refused for any other, and trainable end to end."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from rag.chooser import load_chooser
from rag.reader.head import (
    HEAD_FILE,
    AnswerHead,
    AnswerHeadLoadError,
    chooser_digest,
    load_answer_head,
    save_answer_head,
)
from rag.service import Kabar
from tests.conftest import ROOT
from tests.shared_sets import write_subset

BUNDLED = ROOT / "rag" / "data" / "reader"
E5_KEY = "e5:multilingual-e5-small-q4/original"


def bundled_sha() -> str:
    return json.loads((BUNDLED / "config.json").read_text())["sha256"]


def small_head(directory, reader_sha: str, chooser: str, units: int = 4, width: int = 8):
    rng = np.random.default_rng(0)
    tensors = {"hidden.weight": rng.normal(size=(units, width)), "hidden.bias": np.zeros(units),
               "out.weight": rng.normal(size=units), "out.bias": np.zeros(1), "read.weight": np.array([1.0, 0.5])}
    return save_answer_head(directory, tensors, {"reader_sha256": reader_sha, "chooser": chooser})


def test_the_shipped_head_fits_the_shipped_reader_and_chooser_and_is_used(e5_service: Kabar):
    assert (BUNDLED / HEAD_FILE).stat().st_size < 1_000_000
    assert e5_service.reader is not None and e5_service.answer_head is not None
    choice = e5_service.considered("Berapa kota yang dihubungkan layanan truk Tianfu?", mode="default")
    assert choice is not None
    read = [n for n, vector in enumerate(choice.reader_vectors) if vector is not None]
    assert read and len(choice.reader_vectors) == len(choice.considered) == len(choice.reader_passage_logits)


def test_a_head_with_no_hidden_say_is_the_plain_sum_of_its_logits():
    head = AnswerHead(hidden_weight=np.zeros((2, 3), np.float32), hidden_bias=np.zeros(2, np.float32),
                      out_weight=np.zeros(2, np.float32), out_bias=0.0, logit_weight=1.0, passage_weight=0.0,
                      metadata={})
    added = head.scores([2.0, -1.0], [5.0, 5.0], np.ones((2, 3)))
    assert added.tolist() == [2.0, -1.0]


def test_a_head_fitted_with_span_logits_adds_them_and_insists_on_them(tmp_path):
    tensors = {"hidden.weight": np.zeros((2, 3)), "hidden.bias": np.zeros(2), "out.weight": np.zeros(2),
               "out.bias": np.zeros(1), "read.weight": np.array([1.0, 0.0, 0.5])}
    save_answer_head(tmp_path, tensors, {"reader_sha256": bundled_sha(), "chooser": "abc"})
    head = load_answer_head(tmp_path, bundled_sha(), "abc")
    assert head.span_weight == 0.5
    added = head.scores([2.0, -1.0], [5.0, 5.0], np.ones((2, 3)), span_scores=[4.0, 0.0])
    assert added.tolist() == pytest.approx([2.0 + 2.0, -1.0])
    with pytest.raises(ValueError, match="span_scores"):
        head.scores([2.0], [5.0], np.ones((1, 3)))
    # A head fitted without them (two read weights, as the shipped one) ignores them.
    tensors["read.weight"] = np.array([1.0, 0.0])
    save_answer_head(tmp_path, tensors, {"reader_sha256": bundled_sha(), "chooser": "abc"})
    plain = load_answer_head(tmp_path, bundled_sha(), "abc")
    assert plain.span_weight == 0.0 and plain.scores([2.0], [5.0], np.ones((1, 3))).tolist() == [2.0]


def test_a_reader_folder_without_a_head_reads_as_before(tmp_path):
    assert load_answer_head(tmp_path, bundled_sha(), "any") is None


def test_a_head_fitted_for_another_reader_or_chooser_is_refused(tmp_path):
    small_head(tmp_path, "0" * 64, "abc")
    with pytest.raises(AnswerHeadLoadError, match="another reader"):
        load_answer_head(tmp_path, bundled_sha(), "abc")
    small_head(tmp_path, bundled_sha(), "abc")
    with pytest.raises(AnswerHeadLoadError, match="another chooser"):
        load_answer_head(tmp_path, bundled_sha(), "def")
    assert load_answer_head(tmp_path, bundled_sha(), "abc") is not None


def test_a_damaged_head_is_refused_and_names_the_command_that_refits_it(tmp_path):
    path = small_head(tmp_path, bundled_sha(), "abc")
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(AnswerHeadLoadError, match="eval.train_answer_head"):
        load_answer_head(tmp_path, bundled_sha(), "abc")


def test_fitting_runs_end_to_end_on_a_tiny_subset(tmp_path):
    data = tmp_path / "datasets"
    write_subset(data, "tydiqa_id", 15, 20, unanswerable=5)
    write_subset(data, "facqa", 10, 20)
    chooser = tmp_path / "chooser.json"
    common = {"cwd": ROOT, "capture_output": True, "text": True, "timeout": 600, "check": False}
    run = subprocess.run([sys.executable, "-m", "eval.train_chooser", "--datasets", str(data), "--embedder", "hashing",
                          "--work", str(tmp_path / "work"), "--out", str(chooser)], **common)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    out = tmp_path / "head"
    fit = [sys.executable, "-m", "eval.train_answer_head", "--datasets", str(data), "--embedder", "hashing",
           "--reader", "fast", "--chooser", str(chooser), "--epochs", "2", "--work", str(tmp_path / "work"),
           "--out", str(out), "--rows", str(tmp_path / "rows.bin")]
    run = subprocess.run(fit, **common)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    (key,) = json.loads(chooser.read_text())
    head = load_answer_head(out, bundled_sha(), chooser_digest(load_chooser(key, chooser).weights))
    assert head is not None and head.hidden_weight.shape[1] == 384
    assert {"tydiqa_id/train", "facqa/train"} <= set(head.metadata["metrics"])
    # Refitting from the kept readings asks no question again and fits the same head.
    again = subprocess.run(fit, **common)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "readings reused from" in again.stdout
    refit = load_answer_head(out, bundled_sha(), chooser_digest(load_chooser(key, chooser).weights))
    assert refit.metadata["metrics"] == head.metadata["metrics"]
    # The kept readings hold the reader's span logits too: a head that reads them is fitted from them.
    wider = subprocess.run(fit + ["--span"], **common)
    assert wider.returncode == 0 and "readings reused from" in wider.stdout, wider.stdout[-2000:] + wider.stderr[-2000:]
    wide = load_answer_head(out, bundled_sha(), chooser_digest(load_chooser(key, chooser).weights))
    assert wide.span_weight != 0.0 and wide.metadata["settings"]["span"] is True
    # Readings kept while one folder was read, reused for a copy of the same weights: the head goes beside the copy.
    first, copy = tmp_path / "reader-a", tmp_path / "reader-b"
    for folder in (first, copy):
        shutil.copytree(ROOT / "rag" / "data" / "reader", folder,
                        ignore=shutil.ignore_patterns("dev", "answer_head.safetensors"))
    beside = [*fit[:fit.index("--reader")], "--reader", str(first), "--chooser", str(chooser), "--epochs", "2",
              "--work", str(tmp_path / "work"), "--rows", str(tmp_path / "rows-a.bin")]
    assert subprocess.run(beside, **common).returncode == 0 and (first / "answer_head.safetensors").is_file()
    written = (first / "answer_head.safetensors").read_bytes()
    beside[beside.index(str(first))] = str(copy)
    moved = subprocess.run(beside, **common)
    assert moved.returncode == 0 and "readings reused from" in moved.stdout, moved.stdout[-2000:] + moved.stderr[-2000:]
    assert (copy / "answer_head.safetensors").is_file() and (first / "answer_head.safetensors").read_bytes() == written
    # Questions in other languages (data/crosslingual): the train file is fitted on, the dev file measured.
    translated = tmp_path / "translated"
    translated.mkdir()
    for part in ("train", "dev"):
        rows = (ROOT / "data" / "crosslingual" / f"tydiqa_id-{part}.jsonl").read_text().splitlines()[:3]
        (translated / f"tydiqa_id-{part}.jsonl").write_text("\n".join(rows) + "\n")
    both = subprocess.run(fit[:-2] + ["--rows", str(tmp_path / "rows-translated.bin"),
                                      "--translated", str(translated)], **common)
    assert both.returncode == 0, both.stdout[-2000:] + both.stderr[-2000:]
    digest = chooser_digest(load_chooser(key, chooser).weights)
    with_translations = load_answer_head(out, bundled_sha(), digest)
    assert with_translations.metadata["metrics"]["tydiqa_id-translated/dev"]["questions"] == 3
    assert "with their translations in" in with_translations.metadata["fitted_on"]
    # Readings kept for other sets are not reused, and a damaged file is asked again, not a crash.
    other = subprocess.run(fit[:-2] + ["--sets", "tydiqa_id", "--rows", str(tmp_path / "rows.bin")], **common)
    assert other.returncode == 0 and "readings reused" not in other.stdout
    (tmp_path / "rows.bin").write_bytes(b"PK\x03\x04 cut short")
    damaged = subprocess.run(fit, **common)
    assert damaged.returncode == 0, damaged.stdout[-2000:] + damaged.stderr[-2000:]
    assert "not a readable file of kept readings" in damaged.stdout


def test_a_service_with_a_damaged_head_refuses_to_start(tmp_path, e5_seed_settings):
    reader = tmp_path / "reader"
    shutil.copytree(BUNDLED, reader, ignore=shutil.ignore_patterns("dev"))
    (reader / HEAD_FILE).write_bytes(b"not a safetensors file")
    with pytest.raises(AnswerHeadLoadError, match="not a readable answer head"):
        Kabar(e5_seed_settings.model_copy(update={"reader": str(reader)}))
    # Off, the head is not read at all: the reader adds its logit as before.
    service = Kabar(e5_seed_settings.model_copy(update={"reader": str(reader), "reader_head": False}))
    assert service.answer_head is None and service.reader is not None
