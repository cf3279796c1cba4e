"""Questions the passage does not answer, made from questions it does (training data for the reader).

IDK-MRC's "no answer" questions (tydiqa_id) were written by editing an answerable question about a paragraph
so that the paragraph no longer answers it: another entity ("Universitas Leiden" → "Universitas Utrecht"),
another year ("Grand Prix 2005" → "2004"), the opposite event ("berdiri" → "dibubarkan", "lahir" →
"meninggal"), or one more constraint ("… pada tahun 2015?"). Only 458 of them are public training
questions, against ~13,600 training passages, and the reader learned those questions more than their kind
(session (v)). These rules make that kind of edit to any answerable training question, so the reader sees
the same passage once with a question it answers and once with a near twin it does not.

An edit is kept only when the passage cannot answer it by the edit's own test: the new number, word or name
does not occur in the passage. That keeps most, not all, edits truly unanswerable; the reader is trained on
them as a share of its data, not as gold.
"""
from __future__ import annotations

import random
import re
from collections.abc import Iterable

# Both directions are used; a pair is applied only where the replacement is absent from the passage.
OPPOSITES: tuple[tuple[str, str], ...] = (
    ("lahir", "meninggal"), ("lahir", "wafat"), ("didirikan", "dibubarkan"), ("berdiri", "dibubarkan"),
    ("dibuka", "ditutup"), ("dimulai", "berakhir"), ("mulai", "berhenti"), ("pertama", "terakhir"),
    ("terbesar", "terkecil"), ("tertinggi", "terendah"), ("terpanjang", "terpendek"),
    ("terluas", "tersempit"),
    ("terbanyak", "tersedikit"), ("tertua", "termuda"), ("terdekat", "terjauh"), ("utara", "selatan"),
    ("timur", "barat"), ("awal", "akhir"), ("menang", "kalah"), ("masuk", "keluar"), ("naik", "turun"),
    ("sebelum", "sesudah"), ("ibu", "ayah"), ("suami", "istri"), ("kakak", "adik"), ("pria", "wanita"),
    ("laki-laki", "perempuan"), ("dibangun", "dihancurkan"), ("diterbitkan", "dilarang"),
)
_SWAP: dict[str, list[str]] = {}
for _a, _b in OPPOSITES:
    _SWAP.setdefault(_a, []).append(_b)
    _SWAP.setdefault(_b, []).append(_a)

_WORD = re.compile(r"[^\W\d_][\w'-]*", re.UNICODE)
_NUMBER = re.compile(r"(?<![\w.,])\d+(?![\w.,]\d)")
# Capitalised words that are not names (question words, sentence starts written in title case).
_NOT_NAMES = frozenset("""apa apakah siapa siapakah kapan kapankah dimana dimanakah di mana manakah berapa
berapakah bagaimana bagaimanakah mengapa kenapa yang dan atau dari ke pada dalam untuk dengan oleh
tahun negara kota provinsi""".split())


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def name_words(question: str) -> list[str]:
    """The last word of each run of capitalised words after the first word: the distinctive part of a name
    ("Universitas *Leiden*", "Grand Prix *Monako*"), so a swap keeps the run's head noun, as IDK-MRC's do."""
    found = list(_WORD.finditer(question))
    names: list[str] = []
    for number, match in enumerate(found[1:], start=1):
        word = match.group()
        if not word[:1].isupper() or word.lower() in _NOT_NAMES:
            continue
        after = found[number + 1] if number + 1 < len(found) else None
        continues = (after is not None and after.group()[:1].isupper()
                     and after.group().lower() not in _NOT_NAMES
                     and not question[match.end():after.start()].strip())
        if not continues and len(word) >= 3:
            names.append(word)
    return names


def word_surroundings(questions: Iterable[str]) -> set[tuple[str, str]]:
    """The marks written against a word in the questions (the rest of its whitespace-separated token, before and
    after: "(" and ")?"), where an edit's new word can land."""
    found: set[tuple[str, str]] = set()
    for question in questions:
        for match in _WORD.finditer(question):
            start, end = match.start(), match.end()
            while start > 0 and not question[start - 1].isspace():
                start -= 1
            while end < len(question) and not question[end].isspace():
                end += 1
            found.add((question[start:match.start()], question[match.end():end]))
    return found


def name_pool(questions: Iterable[str]) -> list[str]:
    """The names the entity edit draws its replacements from (sorted, so a seed gives the same pool)."""
    return sorted({w for q in questions for w in name_words(q)})


def _other_number(value: str, passage_numbers: set[str], rng: random.Random) -> str | None:
    number = int(value)
    year = len(value) == 4 and 1000 <= number <= 2100
    for _ in range(20):
        step = rng.randint(1, 12) if year else rng.randint(1, max(2, number // 2))
        other = number + step * rng.choice([-1, 1])
        if other > 0 and str(other) not in passage_numbers:
            return str(other)
    return None


def _before_mark(question: str, insert: str) -> str:
    stripped = question.rstrip()
    if stripped.endswith("?"):
        return stripped[:-1].rstrip() + insert + "?"
    return stripped + insert


def edits(question: str, passage: str, names: list[str], rng: random.Random) -> dict[str, str]:
    """Every rule's edit of the question that the passage fails its test for, by rule name."""
    passage_words = _words(passage)
    passage_numbers = set(_NUMBER.findall(passage))
    made: dict[str, str] = {}

    numbers = [m for m in _NUMBER.finditer(question)]
    if numbers:
        at = rng.choice(numbers)
        other = _other_number(at.group(), passage_numbers, rng)
        if other is not None:
            made["number"] = question[:at.start()] + other + question[at.end():]

    swappable = [m for m in _WORD.finditer(question) if m.group().lower() in _SWAP]
    rng.shuffle(swappable)
    for match in swappable:
        word = match.group()
        choices = [o for o in _SWAP[word.lower()] if o not in passage_words]
        if choices:
            other = rng.choice(choices)
            other = other.capitalize() if word[:1].isupper() else other
            made["opposite"] = question[:match.start()] + other + question[match.end():]
            break

    present = [w for w in name_words(question) if w.lower() in passage_words]
    if present and names:
        target = rng.choice(present)
        asked_words = _words(question)
        for _ in range(20):
            other = rng.choice(names)
            if other.lower() not in passage_words and other.lower() not in asked_words:
                made["entity"] = re.sub(rf"(?<!\w){re.escape(target)}(?!\w)", other, question, count=1)
                break

    if not numbers:
        for _ in range(20):
            year = str(rng.randint(1900, 2020))
            if year not in passage_numbers:
                made["year"] = _before_mark(question, f" pada tahun {year}")
                break
    return made


def perturb(question: str, passage: str, names: list[str], rng: random.Random) -> str | None:
    """One edit the passage does not answer, the rule drawn at random among those that apply; None if none."""
    made = edits(question, passage, names, rng)
    if not made:
        return None
    return made[rng.choice(sorted(made))]
