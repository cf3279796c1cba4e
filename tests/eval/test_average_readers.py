"""Averaging readers (a model soup): one reader whose weights are the weighted mean of others of its shape, measured
and carded like a trained one, and readers of different shapes refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.reader.read import Passage, Reader
from tests.shared_sets import write_subset

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=False)


@pytest.fixture(scope="module")
def two_readers(tmp_path_factory) -> tuple[Path, Path, Path]:
    """Two tiny readers of one shape, trained with different seeds, and the data they were trained on."""
    root = tmp_path_factory.mktemp("soup")
    data = root / "datasets"
    write_subset(data, "tydiqa_id", 10, 30, unanswerable=1)
    write_subset(data, "facqa", 6, 30)
    readers = []
    for seed in ("13", "14"):
        out = root / f"reader-{seed}"
        trained = run("eval.train_reader", "--datasets", str(data), "--out", str(out), "--work", str(root / "work"),
                      "--layers", "2", "--freeze-layers", "1", "--batch", "4", "--epochs", "1", "--seed", seed,
                      "--threads", "1")
        assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-2000:]
        readers.append(out)
    return readers[0], readers[1], data


def test_the_average_holds_the_weighted_mean_of_every_trained_tensor_and_reads(two_readers, tmp_path):
    first, second, data = two_readers
    out = tmp_path / "soup"
    averaged = run("eval.average_readers", str(first), f"{second}:3", "--out", str(out), "--datasets", str(data),
                   "--weights", "fp16", "--threads", "1")
    assert averaged.returncode == 0, averaged.stdout[-2000:] + averaged.stderr[-2000:]
    one, three, soup = (Reader(folder).model.trained_state(1) for folder in (first, second, out))
    assert set(soup) == set(one)
    import torch

    for name, tensor in soup.items():
        expected = (one[name] + 3 * three[name]) / 4
        assert torch.allclose(tensor, expected, rtol=1e-2, atol=1e-3), name  # fp16 storage
    assert any(not torch.equal(one[name], three[name]) for name in one)  # two different readers were averaged
    config = json.loads((out / "config.json").read_text())
    weights = [(r["sha256"], r["weight"]) for r in config["settings"]["averaged_from"]]
    assert weights == [(json.loads((first / "config.json").read_text())["sha256"], 0.25),
                       (json.loads((second / "config.json").read_text())["sha256"], 0.75)]
    assert set(config["dev"]) == set(json.loads((first / "config.json").read_text())["dev"])  # measured again
    card = (out / "MODEL_CARD.md").read_text()
    assert "Averaged: the mean of 2 readers" in card and "weight 0.750" in card and "--seed 14" in card
    assert Reader(out).read("siapa?", [Passage(None, "Budi pergi ke pasar.", [(0, 20)])])


def test_readers_of_different_shapes_are_refused_with_what_differs(two_readers, tmp_path):
    first, _, data = two_readers
    other = tmp_path / "three-layers"
    trained = run("eval.train_reader", "--datasets", str(data), "--out", str(other), "--work", str(tmp_path / "w"),
                  "--layers", "3", "--freeze-layers", "1", "--batch", "4", "--epochs", "1", "--limit", "3",
                  "--threads", "1")
    assert trained.returncode == 0, trained.stderr[-2000:]
    refused = run("eval.average_readers", str(first), str(other), "--out", str(tmp_path / "soup"),
                  "--datasets", str(data))
    assert refused.returncode == 2 and "differs" in refused.stderr and "layers" in refused.stderr
    assert not (tmp_path / "soup").exists()


@pytest.mark.parametrize("arguments, message", [
    (["{first}"], "at least two readers"),
    (["{first}", "{first}:0"], "above 0"),
    (["{first}", "{first}:half"], "must be a number"),
    (["{first}", "{first}"], "must not be one of the readers"),
])
def test_a_wrong_list_of_readers_is_a_clear_error(two_readers, arguments, message):
    first = two_readers[0]
    out = ["--out", str(first)] if message == "must not be one of the readers" else ["--out", str(first) + "-x"]
    refused = run("eval.average_readers", *[a.format(first=first) for a in arguments], *out)
    assert refused.returncode == 2 and message in refused.stderr


def test_the_average_reads_any_language_only_when_every_reader_in_it_was_measured_to(two_readers, tmp_path):
    first, second, data = two_readers
    copies = []
    for reader in (first, second):  # copies: the fixture's readers are shared with the other tests
        copy = tmp_path / reader.name
        shutil.copytree(reader, copy)
        config = json.loads((copy / "config.json").read_text())
        (copy / "config.json").write_text(json.dumps(config | {"question_languages": "any"}))
        copies.append(copy)
    both = run("eval.average_readers", str(copies[0]), str(copies[1]), "--out", str(tmp_path / "both"),
               "--datasets", str(data), "--threads", "1")
    assert both.returncode == 0, both.stdout[-2000:] + both.stderr[-2000:]
    assert Reader(tmp_path / "both").question_languages == "any"

    mixed = run("eval.average_readers", str(copies[0]), str(first), "--out", str(tmp_path / "mixed"),
                "--datasets", str(data), "--threads", "1")
    assert mixed.returncode == 0, mixed.stdout[-2000:] + mixed.stderr[-2000:]
    assert Reader(tmp_path / "mixed").question_languages == "indonesian"
    assert "not every reader reads questions in any language" in mixed.stdout
