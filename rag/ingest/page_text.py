"""Plain-text news pages (text copied from a web page): story, title, date, author, publisher.

The page's own layout carries the metadata: a date line and a headline above the story,
an author line (often labelled "Penulis"), and a dateline ("Chengdu, Radio Bharata Online -")
that opens the story and names the publisher.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

from pydantic import BaseModel

from rag.ingest.boilerplate import is_droppable, is_end_heading, join_paragraphs, story_lines
from rag.ingest.dates import parse_date

# "Chengdu, Radio Bharata Online - ...", "BEIJING, KOMPAS.com - ...", "Jakarta, Kompas - ..."
DATELINE = re.compile(
    r"^(?P<place>[A-Z][\w.'’ -]{1,40}?)(?:\s*\([^)]{1,40}\))?,\s+(?P<publisher>[\w.&+' ]{2,40}?)\s+[-–—]\s+\S"
)
# "Kompas.com - 18/05/2023, 16:00 WIB"
_PUBLISHER_DATE_LINE = re.compile(r"^(?P<publisher>[\w.&+' ]{2,40}?)\s+[-–—]\s+(?P<date>.+)$")
_LABELS = {"penulis", "editor", "reporter", "kontributor"}
_WIRE = re.compile(r"^(sumber|source)\s*:?\s+(?P<wire>.+)$", re.IGNORECASE)
_NAME_TOKEN = re.compile(r"^[A-Z][\w.'’-]*$")


class PageFields(BaseModel):
    title: str | None
    text: str
    published: dt.date | None
    author: str | None
    source: str | None
    wire: str | None = None


def parse_page_text(raw: str) -> PageFields:
    lines = [" ".join(line.split()) for line in raw.splitlines()]
    body_start = _find_body_start(lines)
    header = [line for line in lines[:body_start] if line and not is_droppable(line)]

    published, header_publisher = _date_and_publisher(header)
    author, wire = _author_and_wire(header)
    title = _title(header, author)
    body = story_lines(lines[body_start:])
    if title and body and body[0] == title:
        body = body[1:]

    dateline = DATELINE.match(body[0]) if body else None
    publisher = header_publisher or (dateline.group("publisher").strip() if dateline else None)
    return PageFields(
        title=title,
        text=join_paragraphs(body),
        published=published,
        author=author,
        source=_preferred_spelling(publisher, raw) if publisher else None,
        wire=wire,
    )


def _find_body_start(lines: list[str]) -> int:
    """The story starts at its dateline, or failing that at the first real paragraph."""
    for index, line in enumerate(lines):
        if is_end_heading(line):
            break
        if DATELINE.match(line) and len(line.split()) >= 8:
            return index
    for index, line in enumerate(lines):
        if len(line.split()) >= 25 and line.rstrip().endswith((".", "!", "?", '"', "”")):
            return index
    return 0


def _date_and_publisher(header: list[str]) -> tuple[dt.date | None, str | None]:
    for line in header:
        published = parse_date(line)
        if published is None:
            continue
        match = _PUBLISHER_DATE_LINE.match(line)
        publisher = None
        if match and parse_date(match.group("date")) and not parse_date(match.group("publisher")):
            publisher = match.group("publisher").strip()
        return published, publisher
    return None, None


def _author_and_wire(header: list[str]) -> tuple[str | None, str | None]:
    author = wire = None
    for index, line in enumerate(header):
        lowered = line.lower().rstrip(":")
        if lowered in _LABELS and index > 0 and author is None and lowered in ("penulis", "reporter"):
            author = header[index - 1]
        elif (match := _WIRE.match(line)) and wire is None:
            wire = match.group("wire").strip()
    if author is None:
        candidates = [line for line in header if _looks_like_name(line) and not _WIRE.match(line)]
        author = candidates[0] if candidates else None
    return author, wire


def _looks_like_name(line: str) -> bool:
    tokens = line.split()
    return 2 <= len(tokens) <= 5 and all(_NAME_TOKEN.match(token) for token in tokens) and not parse_date(line)


def _title(header: list[str], author: str | None) -> str | None:
    """The headline: the first header line long enough to be one that is not metadata."""
    for line in header:
        lowered = line.lower()
        if line == author or lowered in _LABELS or _WIRE.match(line) or parse_date(line):
            continue
        if "foto" in lowered.split() or lowered.startswith(("ilustrasi", "foto")):
            continue
        if len(line.split()) >= 4:
            return line
    return None


def _preferred_spelling(name: str, raw: str) -> str:
    """A publisher's own spelling: "BEIJING, KOMPAS.com -" is shouted, the page says "Kompas.com"."""
    variants = Counter(match.group(0) for match in re.finditer(re.escape(name), raw, re.IGNORECASE))
    if not variants:
        return name
    not_shouted = [(count, v) for v, count in variants.items() if not v.isupper() and v[:2] != v[:2].upper()]
    pool = not_shouted or [(count, v) for v, count in variants.items()]
    return max(pool)[1]
