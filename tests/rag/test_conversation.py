"""Follow-up questions are searched with the question they refer back to."""

from __future__ import annotations

import pytest

from rag.conversation import Turn, is_follow_up, search_text
from tests.conftest import SUMMIT_ARTICLE

SUMMIT = "where is the 2025 summit?"


@pytest.mark.parametrize("question", [
    "and when was it held?",
    "who attended it?",
    "siapa saja menteri yang hadir di sana?",
    "kapan acaranya?",
    "dan siapa yang hadir?",
    "what about Uzbekistan?",
    "why?",
])
def test_questions_that_lean_on_the_conversation_are_follow_ups(question):
    assert is_follow_up(question)


@pytest.mark.parametrize("question", [
    "Di mana KTT Tiongkok-Asia Tengah berikutnya tahun 2025?",
    "Which cities does the Tianfu truck service connect in Central Asia?",
    "Siapa Menteri Luar Negeri Kirgistan yang hadir di Chengdu?",
])
def test_questions_that_name_their_own_topic_stand_alone(question):
    assert not is_follow_up(question)


def test_a_follow_up_is_searched_with_the_question_that_named_the_topic():
    history = [Turn(question=SUMMIT, answer="… di Kazakhstan pada tahun 2025."), Turn(question="who attended it?")]
    assert search_text("and when was it?", history) == f"{SUMMIT} who attended it? and when was it?"


def test_without_history_or_for_a_new_topic_the_question_is_searched_as_asked():
    assert search_text("who attended it?", []) == "who attended it?"
    new_topic = "Which cities does the Tianfu truck service connect in Central Asia?"
    assert search_text(new_topic, [Turn(question=SUMMIT)]) == new_topic


@pytest.mark.model
def test_a_follow_up_is_answered_from_the_topic_of_the_conversation(e5_service):
    first = e5_service.ask(SUMMIT)
    assert first.answer and "Kazakhstan" in first.answer.text
    history = [Turn(question=SUMMIT, answer=first.answer.text)]
    follow_up = e5_service.ask("siapa saja menteri yang hadir di sana?", history=history)
    assert follow_up.searched_for == f"{SUMMIT} siapa saja menteri yang hadir di sana?"
    assert follow_up.answer is not None, follow_up.no_answer_reason
    assert "turut hadir" in follow_up.answer.text
    assert follow_up.answer.citation.article_id == SUMMIT_ARTICLE


@pytest.mark.model
def test_a_follow_up_is_never_answered_with_the_answer_already_given(e5_service):
    first = e5_service.ask(SUMMIT)
    again = e5_service.ask("and where is it?", history=[Turn(question=SUMMIT, answer=first.answer.text)])
    assert again.answer is None or again.answer.text != first.answer.text
