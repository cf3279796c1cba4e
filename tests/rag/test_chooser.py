"""The answer sentence is the one that offers what the question asks for, weighed by fitted weights."""

from __future__ import annotations

import json

import pytest

from rag.answer_types import asked_kind, offered
from rag.chooser import FEATURES, ChooserLoadError, SentenceSignals, feature_matrix, load_chooser
from rag.service import Kabar
from tests.conftest import ROOT
from tests.shared_sets import write_subset

E5_KEY = "e5:multilingual-e5-small-q4/original"


@pytest.mark.parametrize("question, kind", [
    ("Berapa kota yang dihubungkan layanan truk Tianfu?", "number"),
    ("How many cities does the truck service connect?", "number"),
    ("Сколько городов соединяет служба?", "number"),
    ("Tahun berapa KTT pertama digelar?", "date"),
    ("Kapan PBB dibentuk?", "date"),
    ("When will the next summit be held?", "date"),
    ("Siapakah pendiri PBB?", "person"),
    ("Who represented Tajikistan at the Chengdu meeting?", "person"),
    ("谁代表塔吉克斯坦出席了会议?", "person"),
    ("哪位部长代表塔吉克斯坦出席了会议?", "person"),
    ("Какой министр представлял Таджикистан?", "person"),
    ("В какой стране пройдёт саммит?", "place"),
    ("Какой город примет саммит?", "place"),
    ("峰会在哪座城市举行?", "place"),
    ("Какое соглашение подписали?", "thing"),
    ("Di kota mana pertemuan menteri digelar?", "place"),
    ("Where is the 2025 summit?", "place"),
    ("Где пройдёт следующий саммит?", "place"),
    ("Apa nama kapsul karya Rusia itu?", "thing"),
    ("Mengapa Kerajaan Joseon berakhir?", "other"),
])
def test_the_question_says_what_kind_of_answer_it_wants(question, kind):
    assert asked_kind(question) == kind


def test_a_sentence_offers_only_what_the_question_does_not_already_say():
    question = "Where will the 2025 summit be held?"
    answering = offered("Para menteri bersiap untuk KTT berikutnya di Kazakhstan pada tahun 2025.", question)
    assert answering.place == 1.0 and answering.name == 1.0
    assert answering.date == 0.0  # 2025 is the question's own year, not news
    topical = offered("KTT tersebut akan membahas kerja sama ekonomi.", question)
    assert (topical.place, topical.name, topical.number, topical.date) == (0.0, 0.0, 0.0, 0.0)
    assert offered("Layanan truk menghubungkan 12 kota.", "Berapa kota?").number == 1.0
    assert offered("Layanan truk menghubungkan dua belas kota.", "Berapa kota?").number == 1.0


def _signals(text: str, cosine: float) -> SentenceSignals:
    return SentenceSignals(text=text, cosine=cosine, bonus=0.0, overlap=0.5, passage_rank=1, passage_score=0.85,
                           passage_overlap=0.5, lead=False)


def test_the_shipped_chooser_prefers_the_sentence_with_the_asked_for_number_over_a_closer_topical_one():
    chooser = load_chooser(E5_KEY)
    assert chooser is not None, "rag/data/chooser.json has weights for the default embedder"
    question = "Berapa kota yang dihubungkan layanan truk Tianfu?"
    topical = _signals("Layanan truk Tianfu menghubungkan kota-kota di Asia Tengah dengan Chengdu.", 0.88)
    answering = _signals("Layanan itu kini menjangkau 12 kota di lima negara.", 0.87)
    scores = chooser.scores(question, [topical, answering], unseen=0.0)
    assert scores[1] > scores[0]
    # Asked for a place instead, the number is no reason to prefer the second sentence.
    where = chooser.scores("Di mana layanan truk Tianfu berangkat?", [topical, answering], unseen=0.0)
    assert where[0] > where[1]


def test_rank_features_say_how_a_sentence_stands_among_the_questions_candidates():
    matrix = feature_matrix("Berapa kota?", [_signals("a", 0.8), _signals("b", 0.9), _signals("c", 0.7)], 0.0)
    assert matrix.shape == (3, len(FEATURES))
    assert matrix[:, FEATURES.index("cosine_rank")].tolist() == [0.5, 1.0, 1 / 3]


def test_named_weights_that_cannot_be_used_are_an_error_not_a_silent_fallback(tmp_path):
    broken = tmp_path / "chooser.json"
    broken.write_text("{not json")
    with pytest.raises(ChooserLoadError, match="cannot use the chooser weights"):
        load_chooser(E5_KEY, broken)
    with pytest.raises(ChooserLoadError, match="No such file"):
        load_chooser(E5_KEY, tmp_path / "missing.json")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hashing:x": {}}))
    with pytest.raises(ChooserLoadError, match="no weights for the embedder"):
        load_chooser(E5_KEY, other)
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps({E5_KEY: {"features": ["cosine"], "mean": [0], "scale": [1], "weights": [1]}}))
    with pytest.raises(ChooserLoadError, match="other features"):
        load_chooser(E5_KEY, stale)


def test_an_embedder_the_shipped_weights_were_not_fitted_for_gets_the_hand_set_rule():
    assert load_chooser("hashing:never-fitted/7") is None


def test_the_service_answers_with_the_chooser_and_measures_the_rule_as_default_no_chooser(e5_service: Kabar):
    assert e5_service.chooser is not None
    question = "Within how many years should the truck service cover the major cities of Central Asia?"
    with_chooser = e5_service.ask(question, mode="default-no-reader")
    assert with_chooser.answer is not None and "tiga tahun" in with_chooser.answer.text
    choice = e5_service.considered(question, mode="default-no-reader")
    assert choice is not None and len(choice.considered) >= 3
    by_rule = e5_service.ask(question, mode="default-no-chooser-no-reader")
    assert by_rule.passages == with_chooser.passages
    # Whether to answer at all is judged as before: the chooser changes which sentence, not how sure.
    assert by_rule.confidence == with_chooser.confidence


def test_a_service_refuses_to_start_on_broken_chooser_weights(e5_seed_settings, tmp_path):
    broken = tmp_path / "chooser.json"
    broken.write_text("[]")
    with pytest.raises(ChooserLoadError):
        Kabar(e5_seed_settings.model_copy(update={"chooser": broken}))


def test_the_training_command_runs_end_to_end_on_a_tiny_subset_and_its_weights_load(tmp_path):
    import subprocess
    import sys

    data = tmp_path / "datasets"
    for name in ("tydiqa_id", "facqa"):
        write_subset(data, name, 15, 30)
    out = tmp_path / "chooser.json"
    run = subprocess.run([sys.executable, "-m", "eval.train_chooser", "--datasets", str(data), "--embedder", "hashing",
                          "--work", str(tmp_path / "work"), "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    fitted = json.loads(out.read_text())
    (key, weights), = fitted.items()
    assert key.startswith("hashing:") and len(weights["weights"]) == len(FEATURES)
    assert {"tydiqa_id/train", "facqa/train"} <= set(weights["metrics"])
    assert load_chooser(key, out) is not None


def test_with_the_reader_on_the_chooser_score_and_the_reader_logit_weigh_the_same_sentences(e5_service: Kabar):
    choice = e5_service.considered("Berapa kota yang dihubungkan layanan truk Tianfu?", mode="default")
    assert choice is not None and e5_service.reader is not None
    assert len(choice.reader_logits) == len(choice.considered) > 0
    assert any(logit is not None for logit in choice.reader_logits)
    assert choice.features.reader != 0.0  # the chosen sentence was read


def test_with_the_reader_on_whether_to_answer_is_still_judged_as_without_it(e5_service: Kabar):
    """The similarity curve decides (KABAR_READER_CONFIDENCE off): the reader changes the sentence, not the refusals."""
    for question in ("Berapa kota yang dihubungkan layanan truk Tianfu?", "Who won the 1998 World Cup?"):
        read = e5_service.ask(question, mode="default")
        unread = e5_service.ask(question, mode="default-no-reader")
        assert read.confidence == unread.confidence
        assert (read.answer is None) == (unread.answer is None)
