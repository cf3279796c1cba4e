"""What a question asks for, and whether a sentence offers something of that kind.

A sentence about the right event is not an answer to "how many…", "who…" or "where…" unless it
carries a number, a name or a place that the question does not already contain. That is the
difference similarity cannot see: the topical sentence and the answering one are equally close to
the question. Interrogatives are matched in Indonesian and in the languages askers use most
(English, Malay, Chinese, Russian); what a sentence offers is read from the Indonesian text's
surface (digits, number words, months, capitalised words after a preposition).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from rag.lexical import tokens

Kind = Literal["number", "date", "person", "place", "thing", "other"]
KINDS: tuple[Kind, ...] = ("number", "date", "person", "place", "thing", "other")
EVIDENCE = ("number", "date", "name", "place")

# Order matters: "tahun berapa" asks for a date before "berapa" asks for a number.
_ASKS: list[tuple[Kind, re.Pattern[str]]] = [
    ("date", re.compile(
        r"\b(kapan(kah)?|bila(kah)?|(tahun|tanggal|tgl|bulan|abad|hari|pukul|jam) (berapa|apa|keberapa)|"
        r"sejak kapan|when|what (year|date|day|month|time)|which (year|date|day|month)|in what year|how long ago)\b"
        r"|когда|в каком году|какого числа|什么时候|何时|哪一年|哪年|几月|几号|几时",
        re.I)),
    ("number", re.compile(
        r"\b(berapa(kah)?|berapa banyak|seberapa|jumlah|how (many|much|long|far|old|big|large|tall|high)|"
        r"what (number|percentage|share|amount)|kebe?rapa)\b"
        r"|сколько|多少|几",
        re.I)),
    # "Which minister" asks for a person in every language, as it does in English.
    ("person", re.compile(r"\b(siapa(kah)?|who(m|se)?|which (person|minister|president|leader|official))\b"
                          r"|кто|кого|кому"
                          r"|\bкак(ой|ая|ие|ого) (министр|президент|лидер|глав|чиновник|представител)"
                          r"|谁|何人|哪位|哪些人", re.I)),
    ("place", re.compile(
        r"\b(di ?mana(kah)?|ke ?mana(kah)?|dari ?mana(kah)?|where|"
        r"(kota|negara|provinsi|pulau|daerah|wilayah|kabupaten|kecamatan|desa|benua|tempat|lokasi|gunung|sungai|"
        r"laut|bandara|pelabuhan|stadion) (apa|mana|manakah|apakah)|"
        r"(which|what) (city|country|province|island|region|place|location|state|town|venue|capital))\b"
        r"|где|куда|откуда|\bв как(ом|ой) (городе|стране|месте|регионе|области)"
        r"|\bкак(ой|ая|ое) (город|страна|место)"
        r"|哪里|哪儿|在哪|哪个(国家|城市|地方)|哪(座|国)|什么地方",
        re.I)),
    ("thing", re.compile(r"\b(apa(kah)?|apa nama|manakah|yang mana|what|which)\b|что|какой|какая|какое|什么|哪个",
                         re.I)),
]

_NUMBER_WORDS = frozenset(
    """satu dua tiga empat lima enam tujuh delapan sembilan sepuluh sebelas belas puluh puluhan ratus ratusan
    seratus seribu ribu ribuan juta jutaan miliar milyar triliun persen setengah separuh
    one two three four five six seven eight nine ten eleven twelve hundred hundreds thousand thousands million
    millions billion percent""".split())
_MONTHS = frozenset(
    """januari februari maret april mei juni juli agustus september oktober november desember
    january february march june july august october december jan feb mar apr jun jul agu aug sep okt oct nov des dec
    senin selasa rabu kamis jumat sabtu minggu monday tuesday wednesday thursday friday saturday sunday abad""".split())
_WORD = re.compile(r"\w+", re.UNICODE)
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_YEAR = re.compile(r"(?<!\d)(1\d{3}|20\d\d)(?!\d)")
_DAY_MONTH = re.compile(r"(?<!\d)\d{1,2}/\d{1,2}(?!\d)")
_CAPITALISED = re.compile(r"(?<![\w.])([A-ZÀ-ÖØ-Þ][\w'’-]+)")
_PLACE_AFTER = re.compile(r"\b(?:di|ke|dari|kota|provinsi|negara|pulau|kabupaten|in|at|to|from)\s+([A-ZÀ-ÖØ-Þ][\w'’-]+)")


def asked_kind(question: str) -> Kind:
    """The first kind whose interrogative the question contains, or "other" (a request, a statement)."""
    for kind, pattern in _ASKS:
        if pattern.search(question):
            return kind
    return "other"


@dataclass(frozen=True)
class Offered:
    """What a sentence brings that the question does not already say: flags in {0, 1}."""

    number: float
    date: float
    name: float
    place: float
    novelty: float  # share of the sentence's content words that the question does not contain

    def as_dict(self) -> dict[str, float]:
        return {"number": self.number, "date": self.date, "name": self.name, "place": self.place}


@functools.lru_cache(maxsize=256)
def _said(question: str) -> tuple[frozenset[str], frozenset[str]]:
    """The question's words and content tokens: read once, though every candidate sentence is compared to them."""
    return frozenset(w.lower() for w in _WORD.findall(question)), frozenset(tokens(question))


def offered(sentence: str, question: str) -> Offered:
    asked_words, asked_tokens = _said(question)
    new = lambda word: word.lower() not in asked_words  # noqa: E731
    words = [w.lower() for w in _WORD.findall(sentence)]
    numbers = [m.group(0) for m in _DIGITS.finditer(sentence)]
    years = [m.group(0) for m in _YEAR.finditer(sentence)]
    number = any(new(n) for n in numbers if n not in years) or any(w in _NUMBER_WORDS and new(w) for w in words)
    date = (any(new(y) for y in years) or bool(_DAY_MONTH.search(sentence))
            or any(w in _MONTHS and new(w) for w in words))
    # A capitalised word that does not open the sentence, and that the question does not name.
    capitalised = [m for m in _CAPITALISED.finditer(sentence) if m.start() > 0]
    name = any(new(m.group(1)) and m.group(1).lower() not in _MONTHS for m in capitalised)
    place = any(new(m.group(1)) for m in _PLACE_AFTER.finditer(sentence))
    content = tokens(sentence)
    novelty = sum(1 for t in content if t not in asked_tokens) / len(content) if content else 0.0
    return Offered(float(number), float(date), float(name), float(place), novelty)
