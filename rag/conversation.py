"""Follow-up questions: "and who attended it?" only makes sense after the question before it.

Kabar answers extractively, so there is no language model to rewrite a follow-up into a
standalone question. What works without one: a follow-up that leans on the conversation
(it is short, opens with "and …"/"dan …", or names nothing and points back with "it",
"there", "itu") is searched together with the previous question, which names the topic. The answer
sentence is still chosen for the follow-up itself, so "who attended it?" is answered with
the attendance sentence of the summit article and not with the summit sentence again.
A question that stands on its own (it names its own topic) is left alone, so a reader who
changes the subject is not dragged back to the old one.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from rag.lexical import tokens

MAX_TURNS = 10

# Words that point back at something said earlier, in English and Indonesian.
_BACK_REFERENCES = frozenset(
    """
    it its it's they them their there then that this those these he him his she her same
    itu ini tersebut sana situ dia ia mereka beliau begitu sama
    """.split()
)
_CONTINUATIONS = frozenset("and also but so what how then lalu terus kemudian dan juga tapi bagaimana kalau".split())
_WORD = re.compile(r"[\w']+", re.UNICODE)
_CONTENT_WORDS_OF_A_STANDALONE_QUESTION = 4


class Turn(BaseModel):
    """One earlier exchange, as the client remembers it."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=1000)
    answer: str | None = Field(default=None, max_length=4000)


def is_follow_up(question: str) -> bool:
    words = [w.lower() for w in _WORD.findall(question)]
    if not words:
        return False
    if words[0] in _CONTINUATIONS:
        return True
    if _names_something(question):
        return False  # "when did it rain in Jakarta?" brings its own topic
    if any(w in _BACK_REFERENCES for w in words):
        return True
    return len(tokens(question)) < _CONTENT_WORDS_OF_A_STANDALONE_QUESTION and len(words) <= 6


def _names_something(question: str) -> bool:
    """A name (a capitalised word after the first) or a number: the question carries its own topic."""
    words = _WORD.findall(question)
    return any(w[0].isupper() or w.isdigit() for w in words[1:])


def search_text(question: str, history: list[Turn] | None) -> str:
    """The text to retrieve with: the question, preceded by the topic it refers back to."""
    if not history or not is_follow_up(question):
        return question
    # The nearest earlier question that stood on its own names the topic; follow-ups chain.
    context: list[str] = []
    for turn in reversed(history[-MAX_TURNS:]):
        context.insert(0, turn.question)
        if not is_follow_up(turn.question):
            break
    return " ".join([*context, question])
