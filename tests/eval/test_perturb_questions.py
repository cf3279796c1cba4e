"""Edits that turn a question its passage answers into one it does not, as IDK-MRC's annotators wrote them."""

from __future__ import annotations

import random

from eval.perturb_questions import _NUMBER, _words, edits, name_pool, name_words, perturb, word_surroundings

PASSAGE = ("Universitas Leiden didirikan pada tahun 1575 oleh Willem van Oranje. Universitas ini terletak di "
           "kota Leiden, Belanda, dan memiliki 29.000 mahasiswa.")
NAMES = name_pool(["Kapan Universitas Utrecht dibuka?", "Siapa pendiri Universitas Gadjah Mada?",
                   "Di mana Willem lahir?"])


def every_edit(question: str, passage: str = PASSAGE, seeds: int = 20) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {}
    for seed in range(seeds):
        for rule, text in edits(question, passage, NAMES, random.Random(seed)).items():
            seen.setdefault(rule, set()).add(text)
    return seen


def test_a_year_in_the_question_becomes_a_year_the_passage_never_names():
    changed = every_edit("Kapan Universitas Leiden didirikan pada tahun 1575?")["number"]
    for text in changed:
        year = _NUMBER.findall(text)[0]
        assert text == f"Kapan Universitas Leiden didirikan pada tahun {year}?"
        assert year not in _NUMBER.findall(PASSAGE) and abs(int(year) - 1575) <= 12


def test_the_opposite_event_is_asked_only_when_the_passage_does_not_tell_it():
    opposite = every_edit("Kapan Universitas Leiden didirikan?")["opposite"]
    assert opposite == {"Kapan Universitas Leiden dibubarkan?"}
    told = PASSAGE + " Universitas itu tidak pernah dibubarkan."
    assert "opposite" not in every_edit("Kapan Universitas Leiden didirikan?", told)


def test_a_name_the_passage_holds_is_swapped_for_another_questions_name_it_does_not():
    swapped = every_edit("Kapan Universitas Leiden didirikan?")["entity"]
    assert swapped == {"Kapan Universitas Utrecht didirikan?", "Kapan Universitas Mada didirikan?"}
    assert "entity" not in every_edit("Kapan kampus itu didirikan?")  # no name to swap


def test_a_question_without_a_number_gains_a_year_the_passage_never_names():
    for text in every_edit("Siapa pendiri Universitas Leiden?")["year"]:
        assert text.startswith("Siapa pendiri Universitas Leiden pada tahun ") and text.endswith("?")
        assert _NUMBER.findall(text)[0] not in _NUMBER.findall(PASSAGE)
    assert "year" not in every_edit("Berapa mahasiswa Leiden pada 2020?")  # it has a number: that rule edits


def test_a_name_is_the_last_word_of_a_capitalised_run_after_the_first_word_and_never_a_question_word():
    assert name_words("Siapa pendiri Universitas Leiden?") == ["Leiden"]
    assert name_words("Di Mana letak Leiden dan Universitas Gadjah Mada?") == ["Leiden", "Mada"]
    assert name_words("Universitas mana yang tertua?") == []


def test_perturb_draws_one_edit_the_passage_fails_and_the_same_seed_draws_the_same():
    question = "Kapan Universitas Leiden didirikan?"
    first = perturb(question, PASSAGE, NAMES, random.Random(7))
    assert first == perturb(question, PASSAGE, NAMES, random.Random(7))
    assert first in {t for texts in every_edit(question).values() for t in texts}
    new_words = _words(first) - _words(question)
    assert new_words and not new_words & _words(PASSAGE)


def test_the_surroundings_of_a_word_are_the_marks_written_against_it():
    found = word_surroundings(["Siapa direktur Institute (IRRI)?", "Apa arti \"merdeka\", kata itu?"])
    assert {("(", ")?"), ('"', '",'), ("", "?"), ("", "")} <= found
    assert all(" " not in before + after for before, after in found)  # a word's own token, never the next
