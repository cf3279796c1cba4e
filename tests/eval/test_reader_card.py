"""The model card says how the reader was trained, from the config `eval.train_reader` saved beside it."""

import json

from eval.reader_card import write_card


def write_reader_folder(folder, question_languages="indonesian", **settings):
    folder.mkdir()
    (folder / "reader.safetensors").write_bytes(b"0" * 1000)
    base = {"layers": 12, "batch": 16, "lr": 5e-5, "head_lr": 5e-4, "epochs": 0.6, "total_steps": 10,
            "steps": 10, "stopped_by": "steps", "seed": 13, "code_switch": 0.25,
            "train_examples": 100, "dev_examples": 20, "counts": {"tydiqa_id": {"train_questions": 80}},
            "translated": "data/crosslingual", "translated_copies": 2}
    config = {"sha256": "ab" * 32, "settings": {**base, **settings}, "question_languages": question_languages,
              "machine": {"device": "cpu", "cpu": "x86_64", "cores": 2, "torch": "2.13.0", "threads": 2,
                          "training_minutes": 1.0},
              "dev": {"tydiqa_id": {"passages": 10, "positives": 5, "sentence_top1": 0.9, "span_exact": 0.6,
                                    "span_f1": 0.7, "passage_accuracy": 0.8}}}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def test_a_reader_taught_translations_with_the_passages_retrieval_shows_says_so(tmp_path):
    folder = write_reader_folder(tmp_path / "reader", translated_passages="read")
    command = "python -m eval.train_reader --translated-passages read"
    card = write_card(folder, command).read_text(encoding="utf-8")
    assert "the passages Kabar's own retrieval shows for the translated question" in card
    assert "its Indonesian question's passages" not in card
    assert "2× an epoch" in card


def test_an_older_reader_without_the_setting_was_taught_with_its_indonesian_questions_passages(tmp_path):
    folder = write_reader_folder(tmp_path / "reader")
    card = write_card(folder, "python -m eval.train_reader").read_text(encoding="utf-8")
    assert "each read with its Indonesian question's passages" in card


def test_a_reader_taught_with_answers_cut_out_says_how_many(tmp_path):
    folder = write_reader_folder(tmp_path / "reader", answer_removed=0.5)
    card = write_card(folder, "python -m eval.train_reader --answer-removed 0.5").read_text(encoding="utf-8")
    assert "50 % of the answerable training questions also read their answering chunk" in card


def test_a_reader_taught_without_them_does_not_mention_them(tmp_path):
    folder = write_reader_folder(tmp_path / "reader", answer_removed=0.0)
    card = write_card(folder, "python -m eval.train_reader").read_text(encoding="utf-8")
    assert "--answer-removed" not in card


def test_a_reader_distilled_from_a_teacher_names_it_and_the_languages_it_is_trusted_with(tmp_path):
    teacher = {"path": "rag/data/reader-deep", "sha256": "fd252c38d145" + "0" * 52}
    folder = write_reader_folder(tmp_path / "reader", question_languages="any", distill_weight=1.0, teacher=teacher)
    card = write_card(folder, "python -m eval.train_reader --distill-weight 1").read_text(encoding="utf-8")
    assert "as the teacher (sha256 `fd252c38d145…`, `rag/data/reader-deep` then)" in card
    assert "weight 1.0 (`--distill-weight`)" in card
    assert "`question_languages: any`" in card


def test_a_reader_taught_without_a_teacher_says_neither(tmp_path):
    card = write_card(write_reader_folder(tmp_path / "reader"), "python -m eval.train_reader").read_text()
    assert "teacher" not in card and "`question_languages: indonesian`" in card


def test_a_reader_that_reads_passages_together_says_so_and_what_one_sequence_holds(tmp_path):
    together = write_card(write_reader_folder(tmp_path / "together", read_together=True),
                          "python -m eval.train_reader --read-together").read_text(encoding="utf-8")
    assert "all in one sequence" in together and "| max tokens | 512" in together
    assert "per answering passage, read with its question's other dev passage" in together
    alone = write_card(write_reader_folder(tmp_path / "alone"),
                       "python -m eval.train_reader").read_text(encoding="utf-8")
    assert "reads a question with one passage" in alone and "| max tokens | 256" in alone
