"""Country and region names in the asker's language, and what the archive calls them.

An English question about "China" and "Central Asia" shares no word with the Indonesian passage
that says "Tiongkok" and "Asia Tengah"; a Russian one says "Китая", a Chinese one "中国". BM25, the
rare-word overlap and the chooser's "does this sentence name something the question does not" read
words, and to them the passage's "Tiongkok" is a new name; the vectors bridge languages, but e5
still matches "… China … Tiongkok" to that passage better than "China" alone (measured: most of
the gain is the vector's, docs/quality-experiments.md). Country and region names are the entities
news questions name most, and CLDR (through Babel) has them in every language, so the question is
searched with the archive's names appended, as `_with_resolved_years` appends years. A nation's adjective ("Chinese", "китайский") counts as its
country's name where CLDR's language names show it (see `_nation_adjectives`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# The languages askers use most besides Indonesian (as in rag/answer_types.py), and a few more
# that CLDR covers as well.
ASKER_LANGUAGES = ("en", "ms", "zh", "zh_Hant", "ru", "ar", "ja", "ko", "fr", "de", "es", "nl", "pt", "vi", "th")
ARCHIVE_LANGUAGE = "id"
# Not places a question means: the unknown region, the world, groupings of institutions.
_SKIPPED = frozenset({"ZZ", "001", "EU", "EZ", "UN", "QO"})
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class _Name:
    pattern: re.Pattern[str]
    archive_name: str
    length: int
    key: str  # a cheap test first: the first word (Latin), its first letters (Cyrillic), the name (CJK)


def _variants(name: str) -> list[str]:
    """"Myanmar (Burma)" is asked as "Myanmar" or "Burma"."""
    inside = re.findall(r"\(([^)]+)\)", name)
    outside = re.sub(r"\s*\([^)]*\)", "", name).strip()
    return [v for v in [outside, *inside] if v]


def _pattern(name: str) -> re.Pattern[str]:
    if _CJK.search(name):
        return re.compile(re.escape(name))  # no spaces between words: the name anywhere
    if _CYRILLIC.search(name):
        # Russian inflects names ("Китай" → "Китая", "Китаем"; "Россия" → "России"): the stem, a short
        # ending, capitalised as names are.
        stems = [_stem(w) for w in name.split()]
        return re.compile(r"(?<!\w)" + r"\s+".join(re.escape(s) + r"\w{0,3}" for s in stems) + r"(?!\w)")
    # Latin and other scripts: whole words, capitalised as names are ("china" is tableware).
    return re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in name.split()) + r"(?!\w)")


def _stem(word: str) -> str:
    """"Центральная" → "Центральн", "Азия" → "Ази": inflected forms only change what follows."""
    stem, most = word, 2 if len(word) > 5 else 1
    while len(stem) > 3 and len(word) - len(stem) < most and stem[-1].lower() in "аяеоьиыуюй":
        stem = stem[:-1]
    return stem


def _key(text: str) -> str:
    if _CJK.search(text):
        return text
    first = text.split()[0]
    return _stem(first)[:3].lower() if _CYRILLIC.search(first) else first


@functools.lru_cache(maxsize=1)
def _names() -> tuple[_Name, ...]:
    from babel import Locale

    archive = Locale.parse(ARCHIVE_LANGUAGE).territories
    names: dict[tuple[str, str], _Name] = {}
    for language in ASKER_LANGUAGES:
        for code, name in Locale.parse(language).territories.items():
            if code in _SKIPPED or code not in archive:
                continue
            archive_name = _variants(archive[code])[0]
            for variant in _variants(name):
                if variant.lower() != archive_name.lower() and len(variant) >= 2:
                    names[(variant, archive_name)] = _Name(_pattern(variant), archive_name, len(variant), _key(variant))
    for language in ASKER_LANGUAGES:
        for adjective, code in _nation_adjectives(language).items():
            if code in archive:
                archive_name = _variants(archive[code])[0]
                names.setdefault((adjective, archive_name),
                                 _Name(_pattern(adjective), archive_name, len(adjective), _key(adjective)))
    # Longest first: "South Korea" before "Korea", "Central Asia" before "Asia".
    return tuple(sorted(names.values(), key=lambda n: -n.length))


@functools.lru_cache(maxsize=1)
def _names_by_key() -> tuple[dict[str, list[_Name]], list[_Name]]:
    """Word-keyed names by their key, and the CJK ones (found by substring); each list longest first."""
    by_key: dict[str, list[_Name]] = {}
    cjk: list[_Name] = []
    for name in _names():
        if _CJK.search(name.key):
            cjk.append(name)
        else:
            by_key.setdefault(name.key, []).append(name)
    return by_key, cjk


def _nation_adjectives(language: str) -> dict[str, str]:
    """"Chinese", "Kazakh", "китайский": a nation's language named after its country doubles as its adjective
    ("the Chinese foreign minister"). CLDR has no adjectives, but it has language names, each language's
    likeliest country, and where it is official: a one-word language name that is official in its likeliest
    country and shares that country's name's first four letters (Chinese/China, Kyrgyz/Kyrgyzstan) stands for
    it; English, Arabic or Spanish (named after no single country) do not. Not for Malay, whose language
    names are its country names ("Korea").
    """
    from babel import Locale
    from babel.core import get_global
    from babel.languages import get_official_languages

    if language == "ms":
        return {}
    locale, likely = Locale.parse(language), get_global("likely_subtags")
    found: dict[str, str] = {}
    for code, name in locale.languages.items():
        country = likely.get(code, "").split("_")[-1]
        if "_" in code or " " in name or len(country) != 2 or not country.isalpha() or country in _SKIPPED:
            continue
        country_name = locale.territories.get(country)
        if country_name is None or code not in get_official_languages(country, de_facto=True):
            continue
        if name.lower() != country_name.lower() and any(
                len(w) >= 4 and name[:4].lower() == w[:4].lower() for w in country_name.split()):
            found[name] = country
    return found


def _places(text: str) -> list[tuple[int, int, str]]:
    """Where the text names a country or region in another language: (start, end, the archive's name), in
    order, longest names first where they overlap."""
    taken: list[tuple[int, int, str]] = []
    words = _WORD.findall(text)
    by_key, cjk = _names_by_key()
    keys = set(words) | {w[:3].lower() for w in words if _CYRILLIC.search(w)}
    candidates = [name for key in keys for name in by_key.get(key, ())]
    if _CJK.search(text):
        candidates += [name for name in cjk if name.key in text]
    read: list[tuple[int, int]] = []
    for name in sorted(candidates, key=lambda n: -n.length):
        for match in name.pattern.finditer(text):
            if any(match.start() < end and start < match.end() for start, end in read):
                continue  # inside a longer name already read ("Asia" of "Central Asia")
            read.append(match.span())
            if not _part_of_a_longer_name(text, match.start()):  # "Michael Jordan" is not Jordan
                taken.append((match.start(), match.end(), name.archive_name))
    return sorted(taken)


@functools.lru_cache(maxsize=1024)  # one ask reads a question's names three times (search, overlap, chooser)
def archive_names(question: str) -> tuple[str, ...]:
    """The archive's names for the countries and regions the question names in another language, in the
    question's order. Names the question already writes as the archive does add nothing and are left out.
    """
    lowered = question.lower()
    found = [name for _, _, name in _places(question) if name.lower() not in lowered]
    return tuple(dict.fromkeys(found))


@functools.lru_cache(maxsize=1024)  # a claim's names are looked up once per cited sentence
def in_archive_names(text: str) -> str:
    """The text with each country and region it names in another language written as the archive writes it:
    "China-Central Asia" → "Tiongkok-Asia Tengah". A generated English answer names places as English does;
    checking it against the Indonesian passage it cites needs the passage's spelling (rag/generate/claims.py).
    """
    pieces, at = [], 0
    for start, end, name in _places(text):
        pieces += [text[at:start], name]
        at = end
    return "".join(pieces) + text[at:]


def _part_of_a_longer_name(question: str, start: int) -> bool:
    """A capitalised word just before the name, not opening the question: a person's or a firm's name."""
    before = question[:start].rstrip()
    previous = _WORD.findall(before)
    if not previous or not before.endswith(previous[-1]):
        return False  # punctuation in between, or nothing before
    return previous[-1][:1].isupper() and len(previous) > 1 and not _CJK.search(previous[-1])


def with_archive_names(question: str) -> str:
    names = archive_names(question)
    return f"{question} {' '.join(names)}" if names else question
