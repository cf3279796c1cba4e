"""The ordinary-prose sentences answer confidence is measured against: where they come from, and that the shipped
vectors are theirs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval.reference_sentences import corpus_sentences, main, sample_sentences
from rag.answer import load_reference_sentences, reference_vectors
from tests.conftest import SHARED


def write_corpus(path: Path, texts: list[str]) -> None:
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps({"id": f"a{n}", "text": text}) + "\n" for n, text in enumerate(texts)))


def test_a_reference_sentence_is_one_whole_statement_of_the_corpus(tmp_path: Path):
    write_corpus(tmp_path / "news" / "corpus.jsonl", [
        "Presiden membuka pertemuan puncak di Astana pada hari Kamis pagi. Siapa yang datang ke sana hari itu?\n"
        "Foto: dok.\nHarga beras naik sepuluh persen di pasar-pasar Surabaya minggu ini.",
        "Harga beras naik sepuluh persen di pasar-pasar Surabaya minggu ini.",
    ])
    assert corpus_sentences(tmp_path / "news" / "corpus.jsonl") == [
        "Presiden membuka pertemuan puncak di Astana pada hari Kamis pagi.",
        "Harga beras naik sepuluh persen di pasar-pasar Surabaya minggu ini.",
    ]


def test_the_sample_is_the_same_for_the_same_seed_and_draws_from_every_set(tmp_path: Path):
    for name in ("one", "two"):
        write_corpus(tmp_path / name / "corpus.jsonl",
                     [f"Kalimat nomor {n} dari korpus {name} ini cukup panjang untuk dipakai." for n in range(30)])
    first = sample_sentences(tmp_path, ["one", "two"], per_set=5, seed=13)
    assert first == sample_sentences(tmp_path, ["one", "two"], per_set=5, seed=13)
    assert first != sample_sentences(tmp_path, ["one", "two"], per_set=5, seed=14)
    assert sum("korpus one" in s for s in first) == 5 and sum("korpus two" in s for s in first) == 5
    with pytest.raises(SystemExit, match="only 30 usable sentences, 40 asked"):
        sample_sentences(tmp_path, ["one"], per_set=40, seed=13)


def test_a_check_set_or_a_missing_corpus_is_a_clear_error(tmp_path: Path):
    with pytest.raises(SystemExit, match="belebele_id_en is a check set, never sampled from"):
        main(["--sets", "tydiqa_id,belebele_id_en", "--datasets", str(tmp_path)])
    with pytest.raises(SystemExit, match="no such corpus"):
        main(["--sets", "tydiqa_id", "--datasets", str(tmp_path)])


@pytest.mark.skipif(not (SHARED / "datasets" / "facqa").is_dir(), reason="needs ../shared/datasets")
def test_the_shipped_sentences_are_the_command_s_sample_of_sets_a_model_may_learn_from():
    shipped = load_reference_sentences()
    assert shipped == sample_sentences(SHARED / "datasets", ["tydiqa_id", "facqa"], per_set=200, seed=13)


@pytest.mark.model
def test_the_shipped_vectors_are_the_default_embedder_s_vectors_of_the_shipped_sentences():
    from rag.embed.factory import load_embedder

    embedder = load_embedder("e5")
    shipped = reference_vectors(embedder)
    sentences = load_reference_sentences()
    picked = [0, 199, 200, 399]
    fresh = np.asarray(embedder.encode_passages([sentences[n] for n in picked]), dtype=np.float32)
    assert np.all(np.sum(shipped[picked] * fresh, axis=1) > 0.999)
