"""Checking every claim of a generated answer against the characters it cites.

A claim is one sentence of the answer with its [n] markers. It is supported when some sentence
(or two neighbouring sentences) of a passage it cites:
1. holds every number the claim states (digits compared without their separators: "2.500" = "2,500");
2. holds every name the claim states (Latin-script runs of capitalised words, and acronyms), matched
   without case and accents, allowing small spelling changes ("Kirgistan" / "Kyrgyzstan"). A wrong name
   in a fluent sentence is the classic hallucination, and sentence similarity alone does not see it.
   Names are compared as strings, not by the embedder: on e5, "Kyrgyzstan" is as close to "Kazakhstan"
   (0.93) and "Russia" to "Kazakhstan" (0.89) as "China" is to "Tiongkok" (0.87). Countries and regions
   named as the answer's language names them ("China", "Central Asia") are also looked for as the archive
   writes them ("Tiongkok", "Asia Tengah"), through CLDR's names (rag/place_names.py), since an answer in
   the asker's language should name places as that language does; other names must be the passage's own;
3. says the same thing: the claim's embedding is far closer to it than to a fixed set of unrelated
   reference sentences (a z-score, so one threshold serves every embedder and language; e5 is
   cross-lingual, so an English claim is compared with an Indonesian sentence directly).
The supporting sentence is returned with its exact article offsets, like any citation.
A claim with no marker, or with a number that names no passage, is unsupported and says why.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from rag.place_names import in_archive_names

MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")
# "said it. [2][1] Next" -> "said it [2][1]. Next": markers after the full stop belong to the sentence before.
TRAILING_MARKERS = re.compile(r"([.!?。！？])((?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])+)")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
NAME = re.compile(r"\b(?:[A-Z][\w'’-]*[a-z][\w'’-]*|[A-Z]{2,})\b")
NAME_RUN = re.compile(r"(?:[A-Z][\w'’-]*)(?:[ -](?:[A-Z][\w'’-]*))*")
NOT_NAMES = frozenset(
    "January February March April May June July August September October November December Monday Tuesday "
    "Wednesday Thursday Friday Saturday Sunday The A An In On At Of And Or But It This That These Those He She "
    "They We I You His Her Their Its According However Also Yes No".split())
MIN_Z = 3.0  # e5 on the seeds: true claims (ID, EN, ZH, RU) z 4.0-7.4; false ones on the same topic 1.1-2.4
NAME_SIMILARITY = 0.7  # difflib ratio for spelling variants


@dataclass
class Claim:
    text: str
    citations: list[int]
    supported: bool = False
    reason: str | None = None
    support: dict | None = None  # {article_id, start, end}
    z: float | None = None  # how far the best cited sentence stands out from unrelated text


@dataclass
class CitedSentence:
    article_id: str
    start: int
    end: int
    text: str
    vector: npt.NDArray[np.float32] | None = None


@dataclass
class CitedPassage:
    number: int
    sentences: list[CitedSentence] = field(default_factory=list)


def split_claims(text: str) -> list[Claim]:
    claims = []
    for piece in SENTENCE_END.split(TRAILING_MARKERS.sub(r"\2\1", text.strip())):
        numbers = [int(n) for group in MARKER.findall(piece) for n in re.split(r"\s*[,;]\s*", group)]
        words = re.sub(r"\s+", " ", MARKER.sub("", piece)).strip()
        words = re.sub(r"\s+([.,;:!?。！？])", r"\1", words)
        if words and any(ch.isalnum() for ch in words):
            claims.append(Claim(text=words, citations=list(dict.fromkeys(numbers))))
        elif numbers and claims:  # markers alone after a sentence belong to it
            claims[-1].citations = list(dict.fromkeys(claims[-1].citations + numbers))
    return claims


def _fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word.casefold()) if not unicodedata.combining(c))


def numbers_in(text: str) -> set[str]:
    return {re.sub(r"[.,]", "", n) for n in NUMBER.findall(text)}


def names_in(claim: str) -> list[str]:
    """Runs of capitalised words ("China-Central Asia", "Wang Yi") and acronyms, without the sentence's first
    word when it is capitalised only because it starts the sentence."""
    first = re.match(r"\W*(\w+)", claim)
    start = first.start(1) if first else -1
    names = []
    for match in NAME_RUN.finditer(claim):
        words = match.group(0).replace("-", " - ").split()
        if match.start() == start and words and not words[0].isupper() and claim.count(words[0]) == 1:
            words = words[1:]
        words = [w for w in words if w != "-"]
        while words and words[0] in NOT_NAMES:
            words = words[1:]
        if not words or not any(NAME.fullmatch(w) for w in words):
            continue
        names.append(match.group(0)[match.group(0).find(words[0]):])
    return [n.strip(" -") for n in dict.fromkeys(names) if n.strip(" -") not in NOT_NAMES]


def _has_name(name: str, words: set[str], folded_text: str = "") -> bool:
    archive_spelling = in_archive_names(name)
    return _has_spelling(name, words, folded_text) or (
        archive_spelling != name and _has_spelling(archive_spelling, words, folded_text))


def _has_spelling(name: str, words: set[str], folded_text: str) -> bool:
    wanted = _fold(name)
    if re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", folded_text) or any(w == wanted or (len(wanted) >= 5 and w.startswith(wanted[:5])) for w in words):
        return True
    return any(difflib.SequenceMatcher(None, wanted, w).ratio() >= NAME_SIMILARITY for w in words if len(w) >= 3)


class ClaimChecker:
    def __init__(self, encode: Callable[[list[str]], npt.NDArray[np.float32]],
                 references: npt.NDArray[np.float32], min_z: float = MIN_Z) -> None:
        """`encode` embeds claims the way the archive's sentences were embedded (as passages)."""
        self.encode = encode
        self.references = references
        self.min_z = min_z

    def check(self, claims: list[Claim], passages: dict[int, CitedPassage]) -> list[Claim]:
        vectors = self.encode([c.text for c in claims]) if claims else np.zeros((0, 1), np.float32)
        for claim, vector in zip(claims, vectors):
            self._check_one(claim, vector, passages)
        return claims

    def _check_one(self, claim: Claim, vector, passages: dict[int, CitedPassage]) -> None:
        if not claim.citations:
            claim.reason = "cites no passage"
            return
        unknown = [n for n in claim.citations if n not in passages]
        if unknown:
            claim.reason = f"cites {', '.join(f'[{n}]' for n in unknown)}, which no passage has (1 to {len(passages)})"
            return
        numbers, names = numbers_in(claim.text), names_in(claim.text)
        against_references = self.references @ vector
        mean, spread = float(against_references.mean()), float(against_references.std()) or 1e-6
        best: tuple[float, CitedSentence, CitedSentence | None] | None = None
        missing_words: set[str] = set(numbers) | set(names)
        for number in claim.citations:
            sentences = passages[number].sentences
            for position, sentence in enumerate(sentences):
                following = sentences[position + 1] if position + 1 < len(sentences) else None
                for pair in ((sentence, None), (sentence, following)) if following else ((sentence, None),):
                    text = sentence.text + (" " + pair[1].text if pair[1] else "")
                    lacking = (numbers - numbers_in(text))
                    folded = _fold(text)
                    words = set(re.findall(r"\w+", folded))
                    lacking |= {n for n in names if not _has_name(n, words, folded)}
                    if lacking:
                        if len(lacking) < len(missing_words):
                            missing_words = lacking
                        continue
                    similarities = [float(sentence.vector @ vector)] if sentence.vector is not None else [0.0]
                    if pair[1] is not None and pair[1].vector is not None:
                        similarities.append(float(pair[1].vector @ vector))
                    z = (max(similarities) - mean) / spread
                    if best is None or z > best[0]:
                        best = (z, sentence, pair[1])
        if best is None:
            shown = ", ".join(sorted(missing_words))
            claim.reason = f"the cited passage does not contain {shown}" if shown else "the cited passage is empty"
            return
        z, first, second = best
        claim.z = round(z, 2)
        if z < self.min_z:
            claim.reason = f"no cited sentence says this (similarity z = {z:.1f} < {self.min_z})"
            return
        end = second.end if second else first.end
        claim.supported = True
        claim.support = {"article_id": first.article_id, "start": first.start, "end": end}
