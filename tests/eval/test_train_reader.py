"""The reader's training examples: what a question is taught with, by the recipe that builds them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.train_reader import Example, build_dataset, rank_auc, split_of, without_answer

BIRTH = "Budi lahir di kota Bandung pada tahun 1950 dan tumbuh besar di sana bersama keluarganya. " * 4
CAREER = "Ia kemudian bekerja sebagai guru sekolah dasar selama tiga puluh tahun di pedesaan. " * 4
ELSEWHERE = "Kota Bandung dikenal sebagai kota kembang dan kota pelajar di Jawa Barat."
UNRELATED = "Harga cabai di pasar naik dua kali lipat menjelang hari raya, kata pedagang yang lahir di Garut."


def tiny_set(folder: Path) -> None:
    """One article about Budi in two chunks (the first holds the answer), one that names the answer for
    another reason, one about something else; a question about Budi and one nobody answers."""
    (folder / "tiny").mkdir(parents=True)
    articles = [{"id": "budi", "title": "Budi", "text": BIRTH + "\n\n" + CAREER},
                {"id": "kota", "title": "Bandung", "text": ELSEWHERE},
                {"id": "pasar", "title": "Pasar", "text": UNRELATED}]
    questions = [{"id": "q1", "question": "Di kota mana Budi lahir?", "answers": ["Bandung"], "gold_doc_ids": ["budi"]},
                 {"id": "q2", "question": "Kapan Budi menikah?", "answers": [], "gold_doc_ids": []}]
    (folder / "tiny" / "corpus.jsonl").write_text("".join(json.dumps(a) + "\n" for a in articles))
    (folder / "tiny" / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))


def kinds_of(examples, question: str) -> list[tuple[str, str, bool]]:
    return [(e.kind, e.text[:12], e.answer is not None) for e in examples if e.question == question]


def test_with_the_passages_read_a_question_learns_from_what_retrieval_showed_it(tmp_path):
    tiny_set(tmp_path)
    assert split_of("tiny:budi") == "train"
    career_start = len(BIRTH) + 2
    shown = {"tiny": {
        # Retrieval showed the right article's second chunk first, then the article that also says "Bandung",
        # then one on another topic; it missed the answering chunk.
        "q1": [("budi", career_start, career_start + 300), ("kota", 0, len(ELSEWHERE)), ("pasar", 0, len(UNRELATED))],
        "q2": [("budi", 0, 300), ("pasar", 0, len(UNRELATED))]}}
    data = build_dataset(tmp_path, ("tiny",), None, seed=1, code_switch_share=0.0, shown=shown)

    # The answering chunk is always taught; the right article's other chunk and the unrelated article are the
    # negatives; the article that names "Bandung" might answer too, so it teaches nothing either way.
    assert sorted(kinds_of(data.train, "Di kota mana Budi lahir?")) == sorted([
        ("positive", BIRTH[:12], True), ("read-negative", CAREER[:12], False), ("read-negative", UNRELATED[:12], False)])
    # A question nobody answers learns "no" from each passage it was shown.
    assert sorted(kinds_of(data.train, "Kapan Budi menikah?")) == sorted([
        ("unanswerable", BIRTH[:12], False), ("unanswerable", UNRELATED[:12], False)])


def test_without_them_a_question_gets_one_bm25_near_miss_from_another_article(tmp_path):
    tiny_set(tmp_path)
    data = build_dataset(tmp_path, ("tiny",), None, seed=1, code_switch_share=0.0)
    taught = kinds_of(data.train, "Di kota mana Budi lahir?")
    assert ("positive", BIRTH[:12], True) in taught
    assert [kind for kind, text, _ in taught if kind != "positive"] == ["hard-negative"]
    assert all(not text.startswith(CAREER[:12]) for _, text, _ in taught)


def translations(folder: Path, train: list[dict], dev: list[dict]) -> Path:
    (folder / "translated").mkdir()
    for part, rows in (("train", train), ("dev", dev)):
        (folder / "translated" / f"tiny-{part}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder / "translated"


def test_a_translated_question_is_taught_with_its_indonesian_questions_passages(tmp_path):
    tiny_set(tmp_path)
    english = {"id": "q1:en", "question": "In which city was Budi born?", "translated_from": "q1"}
    folder = translations(tmp_path, [english], [])
    data = build_dataset(tmp_path, ("tiny",), None, seed=1, code_switch_share=0.0, translated=folder,
                         translated_copies=2)

    indonesian = kinds_of(data.train, "Di kota mana Budi lahir?")
    taught = [e for e in data.train if e.question == "In which city was Budi born?"]
    # Twice, each copy its own question (the per-question loss never mixes them), with the same passages.
    assert sorted(kinds_of(taught, "In which city was Budi born?")) == sorted(indonesian * 2)
    assert len({e.group for e in taught}) == 2
    assert not {e.group for e in taught} & {e.group for e in data.train if e.question.startswith("Di kota")}
    assert data.counts["tiny"]["translated_train"] == 1
    # Each translated row remembers its Indonesian question, for the teacher to read (--distill-weight);
    # the Indonesian rows have nothing to be distilled from.
    assert {e.source_question for e in taught} == {"Di kota mana Budi lahir?"}
    assert all(e.source_question is None for e in data.train if e.question.startswith(("Di kota", "Kapan")))


def test_a_translation_can_learn_from_what_retrieval_showed_it_not_its_source(tmp_path):
    tiny_set(tmp_path)
    career_start = len(BIRTH) + 2
    english = {"id": "q1:en", "question": "In which city was Budi born?", "translated_from": "q1"}
    folder = translations(tmp_path, [english], [])
    shown = {"tiny": {"q1": [("budi", career_start, career_start + 300)]}}
    # The English question is shown other passages than its Indonesian source: it is taught with those.
    translated_shown = {"tiny": {"q1:en": [("pasar", 0, len(UNRELATED)), ("kota", 0, len(ELSEWHERE))]}}
    data = build_dataset(tmp_path, ("tiny",), None, seed=1, code_switch_share=0.0, shown=shown,
                         translated=folder, translated_copies=2, translated_shown=translated_shown)

    assert sorted(kinds_of(data.train, "Di kota mana Budi lahir?")) == sorted([
        ("positive", BIRTH[:12], True), ("read-negative", CAREER[:12], False)])
    taught = kinds_of(data.train, "In which city was Budi born?")
    once = [("positive", BIRTH[:12], True), ("read-negative", UNRELATED[:12], False)]
    assert sorted(taught) == sorted(once * 2)


def test_translated_dev_questions_are_measured_apart_and_never_taught(tmp_path):
    tiny_set(tmp_path)
    assert split_of("tiny:dewi") == "dev"
    dewi = {"id": "dewi", "title": "Dewi", "text": "Dewi menjadi juara lomba lari di Surabaya pada tahun 1999."}
    asked = {"id": "q3", "question": "Di mana Dewi menjadi juara?", "answers": ["Surabaya"], "gold_doc_ids": ["dewi"]}
    with (tmp_path / "tiny" / "corpus.jsonl").open("a") as corpus:
        corpus.write(json.dumps(dewi) + "\n")
    with (tmp_path / "tiny" / "questions.jsonl").open("a") as questions:
        questions.write(json.dumps(asked) + "\n")
    english = {"id": "q3:en", "question": "Where did Dewi win?", "translated_from": "q3"}
    folder = translations(tmp_path, [], [english])
    data = build_dataset(tmp_path, ("tiny",), None, seed=1, code_switch_share=0.0, translated=folder)

    assert all(e.question != "Where did Dewi win?" for e in data.train)
    measured = [e for e in data.dev if e.set_name == "tiny-translated"]
    assert [e.question for e in measured if e.answer] == ["Where did Dewi win?"]
    assert [q["id"] for q in data.dev_questions["tiny"]] == ["q3"]  # the shipped dev file stays Indonesian


def test_a_translation_filed_in_the_other_split_is_refused(tmp_path):
    tiny_set(tmp_path)
    misfiled = {"id": "q1:en", "question": "Where was Budi born?", "translated_from": "q1"}
    folder = translations(tmp_path, [], [misfiled])
    with pytest.raises(ValueError, match="q1: translated in its dev file, but it is a train question"):
        build_dataset(tmp_path, ("tiny",), None, seed=1, code_switch_share=0.0, translated=folder)


def test_reading_translations_no_times_is_a_clear_error(tmp_path, capsys):
    from eval.train_reader import main

    tiny_set(tmp_path)
    folder = translations(tmp_path, [], [])
    assert main(["--datasets", str(tmp_path), "--sets", "tiny", "--translated", str(folder),
                 "--translated-copies", "0", "--work", str(tmp_path / "work")]) == 2
    assert "--translated-copies must be 1 or more" in capsys.readouterr().err


def test_a_share_of_answer_removed_passages_outside_0_to_1_is_a_clear_error(tmp_path, capsys):
    from eval.train_reader import main

    tiny_set(tmp_path)
    assert main(["--datasets", str(tmp_path), "--sets", "tiny", "--answer-removed", "1.5",
                 "--work", str(tmp_path / "work")]) == 2
    assert "--answer-removed is a share of the questions, 0 to 1, not 1.5" in capsys.readouterr().err


def test_reading_the_passages_shown_to_translations_without_translations_is_a_clear_error(tmp_path, capsys):
    from eval.train_reader import main

    tiny_set(tmp_path)
    assert main(["--datasets", str(tmp_path), "--sets", "tiny", "--translated-passages", "read",
                 "--work", str(tmp_path / "work")]) == 2
    assert "--translated-passages read needs --translated" in capsys.readouterr().err


ANI = "Ani lahir di Medan pada tahun 1990. Ia suka membaca buku sejarah. Sejak 2015 ia tinggal di Jakarta."


def test_an_answer_removed_passage_keeps_its_topic_and_loses_every_sentence_that_answers():
    sentences = [(0, 35), (36, 65), (66, 99)]
    assert [ANI[s:e] for s, e in sentences][0] == "Ani lahir di Medan pada tahun 1990."
    answering = Example("Di mana Ani lahir?", "Ani", ANI, sentences, (13, 18), "positive", "tiny", 7)

    cut = without_answer(answering, ["Medan", "kota Medan"])

    assert cut is not None and cut.kind == "answer-removed" and cut.answer is None and cut.group == 7
    assert cut.text == "Ia suka membaca buku sejarah. Sejak 2015 ia tinggal di Jakarta."
    assert [cut.text[s:e] for s, e in cut.sentences] == ["Ia suka membaca buku sejarah.",
                                                          "Sejak 2015 ia tinggal di Jakarta."]
    # Nothing left once every sentence answers; a passage whose answer no sentence holds whole is left alone.
    assert without_answer(answering, ["Medan", "buku", "Jakarta"]) is None
    assert without_answer(answering, ["sejarah. Sejak"]) is None


def test_answer_removed_adds_the_answering_chunk_without_its_answer_and_changes_nothing_else(tmp_path):
    (tmp_path / "tiny").mkdir()
    articles = [{"id": "ani", "title": "Ani", "text": ANI},
                {"id": "pasar", "title": "Pasar", "text": UNRELATED}]
    questions = [{"id": "q1", "question": "Di mana Ani lahir?", "answers": ["Medan"],
                  "gold_doc_ids": ["ani"]}]
    (tmp_path / "tiny" / "corpus.jsonl").write_text("".join(json.dumps(a) + "\n" for a in articles))
    (tmp_path / "tiny" / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    assert split_of("tiny:ani") == "train"

    plain = build_dataset(tmp_path, ("tiny",), None, seed=1, code_switch_share=0.0)
    taught = build_dataset(tmp_path, ("tiny",), None, seed=1, code_switch_share=0.0, answer_removed=1.0)

    removed = [e for e in taught.train if e.kind == "answer-removed"]
    assert len(removed) == 1 and "Medan" not in removed[0].text and removed[0].text.startswith("Ia suka")
    assert removed[0].answer is None and removed[0].question == "Di mana Ani lahir?"
    assert [e for e in taught.train if e.kind != "answer-removed"] == plain.train
    assert taught.counts["tiny"]["answer_removed"] == 1 and "answer_removed" not in plain.counts["tiny"]


def test_rank_auc_is_the_chance_an_answerable_question_outscores_an_unanswerable_one():
    assert rank_auc([3.0, 2.0], [1.0, 0.0]) == 1.0
    assert rank_auc([0.0], [1.0]) == 0.0
    assert rank_auc([1.0, 0.0], [1.0]) == 0.25
    assert rank_auc([1.0], []) is None


def test_unanswerable_copies_reread_the_questions_with_no_answer_and_nothing_else(tmp_path):
    tiny_set(tmp_path)
    plain = build_dataset(tmp_path, ("tiny",), None, seed=1, code_switch_share=0.0)
    tripled = build_dataset(tmp_path, ("tiny",), None, seed=1, code_switch_share=0.0, unanswerable_copies=3)

    unanswered = [e for e in plain.train if e.kind == "unanswerable"]
    assert unanswered and {e.question for e in unanswered} == {"Kapan Budi menikah?"}
    once = kinds_of(unanswered, "Kapan Budi menikah?")
    assert sorted(kinds_of(tripled.train, "Kapan Budi menikah?")) == sorted(once * 3)
    answered = "Di kota mana Budi lahir?"  # the same passages, in the order the longer epoch shuffles them
    assert sorted(kinds_of(tripled.train, answered)) == sorted(kinds_of(plain.train, answered))
    assert tripled.dev == plain.dev


@pytest.mark.parametrize("option, value, message", [
    ("--unanswerable-copies", "0", "--unanswerable-copies must be 1 or more"),
    ("--perturbed", "1.5", "--perturbed is a share between 0 and 1"),
    ("--perturbed", "-0.1", "--perturbed is a share between 0 and 1"),
])
def test_a_count_below_one_or_a_share_outside_0_to_1_is_a_clear_error(tmp_path, capsys, option, value, message):
    from eval.train_reader import main

    tiny_set(tmp_path)
    assert main(["--datasets", str(tmp_path), "--sets", "tiny", option, value,
                 "--out", str(tmp_path / "out"), "--work", str(tmp_path / "work")]) == 2
    assert message in capsys.readouterr().err


def test_perturbed_questions_are_read_with_the_chunk_they_no_longer_ask_about_and_nothing_else_changes(
        tmp_path):
    tiny_set(tmp_path)
    plain = build_dataset(tmp_path, ("tiny",), None, seed=1, code_switch_share=0.0)
    twinned = build_dataset(tmp_path, ("tiny",), None, seed=1, code_switch_share=0.0, perturbed=1.0)

    twins = [e for e in twinned.train if e.kind == "perturbed"]
    assert len(twins) == 1 and twinned.counts["tiny"]["perturbed"] == 1
    twin = twins[0]
    answering = next(e for e in plain.train if e.question == "Di kota mana Budi lahir?" and e.answer)
    assert twin.text == answering.text and twin.answer is None and twin.question != answering.question
    assert twin.group not in {e.group for e in twinned.train if e is not twin}  # a question of its own
    for question in ("Di kota mana Budi lahir?", "Kapan Budi menikah?"):
        assert sorted(kinds_of(twinned.train, question)) == sorted(kinds_of(plain.train, question))
    assert twinned.dev == plain.dev


def test_distillation_pulls_the_translations_reading_to_the_teachers_reading_of_the_indonesian_question():
    import torch

    from eval.train_reader import distillation_loss

    valid = torch.tensor([[True, True, True], [True, False, False]])
    teacher = {"sentence": torch.tensor([[2.0, 0.0, -1.0]]), "passage": torch.tensor([1.5])}
    agreeing = {"sentence": torch.tensor([[2.0, 0.0, -1.0], [9.0, 0.0, 0.0]]), "passage": torch.tensor([1.5, -3.0])}
    kl, passage = distillation_loss(agreeing, teacher, valid, valid[:1], [0], torch)
    assert kl.item() == pytest.approx(0.0, abs=1e-6) and passage.item() == pytest.approx(0.0, abs=1e-6)

    # Row 1 is no translation: whatever it reads is not compared. Row 0 reading its sentences the other way round
    # is far from the teacher, and a passage logit off by 2 costs its square.
    disagreeing = {"sentence": torch.tensor([[-1.0, 0.0, 2.0], [9.0, 0.0, 0.0]]), "passage": torch.tensor([-0.5, 7.0])}
    kl, passage = distillation_loss(disagreeing, teacher, valid, valid[:1], [0], torch)
    assert kl.item() > 1.0 and passage.item() == pytest.approx(4.0)

    # A passage with one sentence both can read has no distribution to match.
    lonely = torch.tensor([[True, False, False]])
    kl, _ = distillation_loss(disagreeing, teacher, valid, lonely, [0], torch)
    assert kl.item() == 0.0


@pytest.mark.parametrize("arguments, message", [
    (["--distill-weight", "1"], "--distill-weight needs --teacher"),
    (["--distill-weight", "-1"], "--distill-weight must be 0 or more"),
])
def test_distilling_without_a_teacher_and_translations_is_a_clear_error(tmp_path, capsys, arguments, message):
    from eval.train_reader import main

    tiny_set(tmp_path)
    assert main(["--datasets", str(tmp_path), "--sets", "tiny", "--work", str(tmp_path / "work"), *arguments]) == 2
    assert message in capsys.readouterr().err


def test_a_reader_trained_on_translations_reads_any_language_and_names_the_teacher_it_was_distilled_from(
        tmp_path, capsys):
    """The config's question_languages is what the answer head and the service trust the reader by; a writer that
    dropped it once had every later head hear a translation-trained reader less on foreign questions."""
    from eval.train_reader import main
    from rag.reader.read import Reader

    tiny_set(tmp_path)
    english = {"id": "q1:en", "question": "In which city was Budi born?", "translated_from": "q1"}
    folder = translations(tmp_path, [english], [])
    quick = ["--datasets", str(tmp_path), "--sets", "tiny", "--batch", "4", "--epochs", "1", "--threads", "1"]
    small = [*quick, "--layers", "2", "--freeze-layers", "1"]
    teacher = tmp_path / "teacher"
    assert main([*small, "--out", str(teacher), "--work", str(tmp_path / "w1")]) == 0
    assert Reader(teacher).question_languages == "indonesian"  # never read a translation

    student = tmp_path / "student"
    assert main([*small, "--out", str(student), "--work", str(tmp_path / "w2"), "--init", str(teacher),
                 "--translated", str(folder), "--distill-weight", "1", "--teacher", str(teacher)]) == 0
    log = (tmp_path / "w2" / "train.log").read_text()
    assert "distilling from" in log and " distill " in log  # the loss was computed and logged
    settings = json.loads((student / "config.json").read_text())["settings"]
    assert settings["distill_weight"] == 1.0
    assert settings["teacher"]["sha256"] == json.loads((teacher / "config.json").read_text())["sha256"]
    assert Reader(student).question_languages == "any"
    # A teacher of another shape cannot read for this reader: a clear error, not a half-loaded teacher.
    capsys.readouterr()
    wrong = ["--layers", "3", "--freeze-layers", "1", "--out", str(tmp_path / "wrong"), "--work", str(tmp_path / "w4")]
    assert main([*quick, *wrong, "--translated", str(folder), "--distill-weight", "1",
                 "--teacher", str(teacher)]) == 2
    assert f"--teacher {teacher}: a 2-layer reader" in capsys.readouterr().err

    # Said otherwise on the command line, the config says what was asked.
    assert main([*small, "--out", str(tmp_path / "told"), "--work", str(tmp_path / "w3"), "--translated", str(folder),
                 "--question-languages", "indonesian", "--epochs", "0"]) == 0
    assert Reader(tmp_path / "told").question_languages == "indonesian"


def test_read_together_a_question_is_its_answering_chunk_and_two_passages_it_was_shown_in_a_shuffled_order(tmp_path):
    """Served passages come in retrieval's order; trained in a fixed one, the reader would learn that the first
    (or the answering chunk's usual place) answers."""
    import random

    from eval.train_reader import together_groups

    tiny_set(tmp_path)
    career_start = len(BIRTH) + 2
    shown = {"tiny": {
        "q1": [("budi", career_start, career_start + 300), ("pasar", 0, len(UNRELATED)), ("kota", 0, len(ELSEWHERE))],
        "q2": [("budi", 0, 300), ("pasar", 0, len(UNRELATED)), ("kota", 0, len(ELSEWHERE))]}}
    data = build_dataset(tmp_path, ("tiny",), None, seed=1, code_switch_share=0.0, grouped=True, shown=shown)
    places = set()
    for seed in range(12):
        kept = together_groups(data.train, random.Random(seed))
        answerable = [e for e in kept if e.question == "Di kota mana Budi lahir?"]
        assert sorted(e.text[:12] for e in answerable) == sorted([BIRTH[:12], CAREER[:12], UNRELATED[:12]])
        places.add(next(n for n, e in enumerate(answerable) if e.answer is not None))
        # A question with no answer reads three passages that say nothing, together too.
        assert [e.answer for e in kept if e.question == "Kapan Budi menikah?"] == [None, None, None]
        # Each question's passages stay together, one group after the other.
        groups = [e.group for e in kept]
        assert groups == sorted(groups, key=groups.index)
    assert places == {0, 1, 2}


def test_read_together_the_answer_sentence_and_span_are_labelled_inside_the_passage_that_holds_them(tmp_path):
    import torch

    from eval.train_reader import collate_together, question_batches, together_groups
    from rag.reader.e5_file import E5Tokenizer, read_e5_file

    tiny_set(tmp_path)
    shown = {"tiny": {"q1": [("pasar", 0, len(UNRELATED)), ("budi", 0, 300)], "q2": [("pasar", 0, len(UNRELATED))]}}
    data = build_dataset(tmp_path, ("tiny",), None, seed=1, code_switch_share=0.0, grouped=True, shown=shown)
    import random

    kept = together_groups(data.train, random.Random(3))
    (batch,) = question_batches(kept, 8)
    ids, mask, sentence_of, n, labels, valid, start, end, passage, group, read = collate_together(
        batch, E5Tokenizer(read_e5_file()), torch)
    assert group.tolist() == list(range(len(read))) == [0, 1]  # one row a question
    for row, (made, item) in enumerate(read):
        answering = [number for number, e in enumerate(made) if e.answer is not None]
        assert passage[row] == float(bool(answering))
        if not answering:
            assert labels[row].sum() == 0 and start[row] == -100
            continue
        (number,) = answering
        example = made[number]
        labelled = [k for k in range(n) if labels[row, k] > 0]
        assert labelled and all(item.sentence_passage[k] == number for k in labelled)
        assert all(example.answer[0] < item.sentences[k][1] and item.sentences[k][0] < example.answer[1]
                   for k in labelled)
        assert item.passage_of[int(start[row])] == item.passage_of[int(end[row])] == number
        first, last = item.offsets[int(start[row])][0], item.offsets[int(end[row])][1]
        assert example.text[first:last].strip(" .,") == "Bandung"
        assert valid[row, :len(item.sentences)].all() and not valid[row, len(item.sentences):].any()


def test_reading_together_without_the_passages_retrieval_shows_is_a_clear_error(tmp_path, capsys):
    from eval.train_reader import main

    tiny_set(tmp_path)
    assert main(["--datasets", str(tmp_path), "--sets", "tiny", "--work", str(tmp_path / "work"),
                 "--read-together"]) == 2
    assert "--read-together learns from the passages retrieval shows each question" in capsys.readouterr().err


def test_a_reader_is_measured_on_its_dev_questions_the_way_it_reads(monkeypatch):
    """pack_reader and average_readers measure a reader again after changing its weights: one that reads together
    measured passage by passage would report numbers of a reader nobody serves."""
    import eval.train_reader as training
    from eval.train_reader import Dataset, dev_metrics

    data = Dataset(dev=[Example("q", None, "t", [(0, 1)], None, set_name="tydiqa_id", group=0)])
    monkeypatch.setattr(training, "evaluate", lambda *a, **k: {"read": "alone", "null_span": k["null_span"]})
    monkeypatch.setattr(training, "evaluate_together", lambda *a, **k: {"read": "together", "seed": k["seed"]})
    assert dev_metrics(None, data, None, None, {"read_together": True, "seed": 7}) == {
        "tydiqa_id": {"read": "together", "seed": 7}}
    assert dev_metrics(None, data, None, None, {"null_span": True}) == {
        "tydiqa_id": {"read": "alone", "null_span": True}}
    assert dev_metrics(None, data, None, None, {}) == {"tydiqa_id": {"read": "alone", "null_span": False}}
