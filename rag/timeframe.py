"""Time in questions and in articles: "the 2025 summit", "tahun depan", "last year", "the next summit".

A news archive holds the same kind of event many times over: every year has its summit. The
question's time is resolved against `as_of` (the reader's today, or a fixed date for
reproducible answers); a sentence's time is resolved against its article's publication date,
because "tahun depan" in an article of December 2024 means 2025. A passage whose events fall
in the asked-for time gets a small bonus; nothing is filtered out, so a question whose time
the archive does not cover still gets the nearest passages.

Only years are resolved. Day-level expressions ("Minggu (1/12)") locate an event inside its
article's year and rarely decide between articles; years and "next/last year" do.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)")
# Phrases that shift the year of their reference date: English, Indonesian, and the other languages questions
# come in (Chinese has no spaces to bound a word, so its phrases stand alone).
_YEAR_SHIFTS = [
    (re.compile(r"\b(next year|the coming year|tahun depan|tahun mendatang|tahun berikutnya"
                r"|в следующем году|в будущем году)\b|明年|来年", re.I), 1),
    (re.compile(r"\b(last year|previous year|a year ago|tahun lalu|tahun kemarin|tahun sebelumnya"
                r"|setahun lalu|в прошлом году|год назад)\b|去年", re.I), -1),
    (re.compile(r"\b(this year|tahun ini|в этом году|в текущем году)\b|今年", re.I), 0),
]
_FUTURE = re.compile(r"\b(next|upcoming|coming|future|berikutnya|mendatang|selanjutnya|akan datang|yang akan"
                     r"|следующ\w*|предстоящ\w*|будущ\w*)\b|下一|下届|下次|下个|即将", re.I)
_PAST = re.compile(r"\b(previous|last|former|earlier|sebelumnya|terakhir|предыдущ\w*|прошл\w*|последн\w*)\b"
                   r"|上一|上届|上次|上个|最近一", re.I)


@dataclass(frozen=True)
class TimeFrame:
    """When the question's events happen: named years, or just after / before the reference date."""

    years: frozenset[int] = frozenset()
    after: int | None = None   # events in this year or later ("the next summit")
    before: int | None = None  # events before this year ("the previous summit")

    def matches(self, years: set[int]) -> bool:
        if not years:
            return False
        if self.years:
            return bool(self.years & years)
        if self.after is not None:
            return max(years) >= self.after
        if self.before is not None:
            return min(years) < self.before
        return False


def years_in(text: str, reference: dt.date | None) -> set[int]:
    """The years a text speaks of: written out, or relative to `reference` (its publication date)."""
    years = {int(y) for y in _YEAR.findall(text)}
    if reference is not None:
        for pattern, shift in _YEAR_SHIFTS:
            if pattern.search(text):
                years.add(reference.year + shift)
    return years


def question_timeframe(question: str, as_of: dt.date) -> TimeFrame | None:
    """The time a question asks about, or None when it names none."""
    years = years_in(question, as_of)
    if years:
        return TimeFrame(years=frozenset(years))
    if _FUTURE.search(question):
        return TimeFrame(after=as_of.year)
    if _PAST.search(question):
        return TimeFrame(before=as_of.year + 1)
    return None
