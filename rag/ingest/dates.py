"""Publication dates as Indonesian news sites write them, parsed by dateparser."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

import dateparser

_PARSER_SETTINGS = {"DATE_ORDER": "DMY", "PREFER_DAY_OF_MONTH": "first", "REQUIRE_PARTS": ["day", "month", "year"]}

# Something date-like must be present before we ask dateparser, which is slow and
# generous enough to read "Senin" alone as "last Monday".
_DATE_HINT = re.compile(
    r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b|"
    r"\b\d{1,2}\s+[A-Za-z]{3,9}\.?\s+\d{4}\b|\b[A-Za-z]{3,9}\.?\s+\d{1,2},?\s+\d{4}\b"
)


@lru_cache(maxsize=4096)
def parse_date(text: str) -> dt.date | None:
    """The calendar date in `text` ("Senin, 2 Desember 2024 15:38:30 WIB", "18/05/2023, 16:00 WIB").

    Only the date is kept: a news date is a day in the newsroom's time zone, and converting
    15:38 WIB to UTC must not move it to another day.
    """
    match = _DATE_HINT.search(text)
    if not match:
        return None
    candidate = text[match.start():]
    parsed = dateparser.parse(candidate, languages=["id", "en"], settings=_PARSER_SETTINGS)
    if parsed is None:
        parsed = dateparser.parse(match.group(0), languages=["id", "en"], settings=_PARSER_SETTINGS)
    return parsed.date() if parsed else None


def parse_iso_date(value: str | None) -> dt.date | None:
    """A `YYYY-MM-DD` field from a corpus file, or a clear error."""
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise ValueError(f"published must be an ISO date YYYY-MM-DD, got {value!r}") from exc
