"""The time a question asks about, and the years a sentence speaks of."""

from __future__ import annotations

import datetime as dt

import pytest

from rag.timeframe import TimeFrame, question_timeframe, years_in

DECEMBER_2024 = dt.date(2024, 12, 2)


@pytest.mark.parametrize("text, reference, years", [
    ("KTT berikutnya di Kazakhstan pada tahun 2025.", None, {2025}),
    ("pada Kamis (18/5/2023) untuk bertemu", None, {2023}),
    ("KTT tahun depan akan digelar di Astana.", DECEMBER_2024, {2025}),
    ("Last year the summit was held in Xi'an.", DECEMBER_2024, {2023}),
    ("Nomor 120345 dan kode 20251 bukan tahun.", None, set()),
    ("Tanpa waktu.", DECEMBER_2024, set()),
])
def test_years_are_read_from_text_and_resolved_against_the_publication_date(text, reference, years):
    assert years_in(text, reference) == years


def test_a_question_names_a_year_or_a_relative_time_resolved_against_as_of():
    assert question_timeframe("where is the 2025 summit?", DECEMBER_2024) == TimeFrame(years=frozenset({2025}))
    assert question_timeframe("Di mana KTT tahun depan?", DECEMBER_2024) == TimeFrame(years=frozenset({2025}))
    assert question_timeframe("where was it last year?", dt.date(2024, 6, 1)) == TimeFrame(years=frozenset({2023}))
    assert question_timeframe("where is the next summit?", DECEMBER_2024) == TimeFrame(after=2024)
    assert question_timeframe("who attended the summit?", DECEMBER_2024) is None


@pytest.mark.parametrize("question, timeframe", [
    ("下一届峰会在哪里举行？", TimeFrame(after=2024)),
    ("Где пройдет следующий саммит?", TimeFrame(after=2024)),
    ("上一届峰会在哪里举行？", TimeFrame(before=2025)),
    ("Где прошёл предыдущий саммит?", TimeFrame(before=2025)),
    ("明年的峰会在哪里？", TimeFrame(years=frozenset({2025}))),
    ("Где был саммит в прошлом году?", TimeFrame(years=frozenset({2023}))),
    ("Кто был на саммите?", None),
])
def test_next_last_and_relative_years_are_read_in_chinese_and_russian_too(question, timeframe):
    assert question_timeframe(question, DECEMBER_2024) == timeframe


def test_a_timeframe_matches_events_in_its_time():
    assert TimeFrame(years=frozenset({2025})).matches({2023, 2025})
    assert not TimeFrame(years=frozenset({2024})).matches({2023, 2025})
    assert TimeFrame(after=2024).matches({2023, 2025}) and not TimeFrame(after=2024).matches({2023})
    assert not TimeFrame(years=frozenset({2025})).matches(set())


@pytest.mark.model
@pytest.mark.parametrize("question, as_of, article, words", [
    ("where will the next summit be held?", dt.date(2024, 12, 5), "000_587714d13c2303dd", "Kazakhstan"),
    ("Di mana KTT tahun depan?", dt.date(2024, 12, 5), "000_587714d13c2303dd", "Kazakhstan"),
    ("Where was the summit held last year?", dt.date(2024, 6, 1), "004_e7ff7c033fefe0f1", "Xian"),
])
def test_relative_times_pick_the_event_of_that_time(e5_service, question, as_of, article, words):
    result = e5_service.ask(question, as_of=as_of)
    assert result.answer is not None, result.no_answer_reason
    assert result.answer.citation.article_id == article and words in result.answer.text
    assert result.passages[0].citation.article_id == article


@pytest.mark.model
def test_without_the_time_stage_the_next_summit_is_the_old_one(e5_service):
    """The ablation the report measures: by similarity alone, the time stage is what picks the 2025 summit.

    The chooser finds it too (a place the question asks for, "di Kazakhstan"), so it is switched off here.
    """
    result = e5_service.ask("where will the next summit be held?", as_of=dt.date(2024, 12, 5),
                            mode="default-no-time-no-chooser")
    assert result.answer is None or "Kazakhstan" not in result.answer.text
    chosen = e5_service.ask("where will the next summit be held?", as_of=dt.date(2024, 12, 5),
                            mode="default-no-time")
    assert chosen.answer is not None and "Kazakhstan" in chosen.answer.text
