"""Near-duplicate articles: the same wire story syndicated by several sites, or a page re-published.

A reader wants the story once, with "also reported by" the other outlets, not five copies of
one paragraph in the top five. Copies differ in their datelines, bylines and a sentence or
two, so exact hashes miss them; word-trigram shingles compared by MinHash (datasketch's LSH
finds the candidate pairs without comparing every pair) catch them. The estimated Jaccard
similarity must reach `threshold` (0.6: re-edited copies stay above it, two reports of one
event written independently stay well below).

The canonical article of a group is the first published (the original), then the longest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

NUM_PERM = 128
SCHEME = "affine32"  # pinned: signatures stored in an index must stay comparable across datasketch versions
THRESHOLD = 0.6
MIN_WORDS = 25  # shorter texts share too few shingles to judge
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class SignedArticle:
    id: str
    length: int
    published: str | None


def signature(text: str) -> np.ndarray | None:
    """MinHash of the text's word trigrams; None when the text is too short to compare."""
    words = _WORD.findall(text.lower())
    if len(words) < MIN_WORDS:
        return None
    shingles = {" ".join(words[i:i + 3]).encode("utf-8") for i in range(len(words) - 2)}
    minhash = MinHash(num_perm=NUM_PERM, seed=1, scheme=SCHEME)
    minhash.update_batch(list(shingles))
    return minhash.hashvalues.astype(np.uint64)


def duplicate_groups(
    signatures: dict[str, np.ndarray], articles: dict[str, SignedArticle], threshold: float = THRESHOLD
) -> dict[str, str]:
    """article id → canonical article id, for every article that belongs to a group of two or more."""
    # A lower LSH threshold than the verdict: LSH misses some pairs near its threshold, the exact check does not.
    lsh = MinHashLSH(threshold=threshold - 0.15, num_perm=NUM_PERM)
    hashes = {key: LeanMinHash(seed=1, hashvalues=values, scheme=SCHEME) for key, values in signatures.items()}
    for key, minhash in hashes.items():
        lsh.insert(key, minhash)
    parent = {key: key for key in hashes}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for key, minhash in hashes.items():
        for other in lsh.query(minhash):
            if other != key and minhash.jaccard(hashes[other]) >= threshold:
                parent[root(other)] = root(key)

    groups: dict[str, list[str]] = {}
    for key in hashes:
        groups.setdefault(root(key), []).append(key)
    canonical: dict[str, str] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        first = min(members, key=lambda m: _canonical_order(articles[m]))
        canonical.update({member: first for member in members})
    return canonical


def _canonical_order(article: SignedArticle) -> tuple:
    return (article.published or "9999-12-31", -article.length, article.id)


def refresh_groups(store) -> dict[str, str]:
    """Sign the articles added since the last commit, regroup the whole archive, store the groups."""
    for article_id, text in store.unsigned_articles():
        values = signature(text)
        store.put_signature(article_id, None if values is None else values.tobytes())
    signatures, articles = {}, {}
    for article_id, blob, length, published in store.signed_articles():
        signatures[article_id] = np.frombuffer(blob, dtype=np.uint64)
        articles[article_id] = SignedArticle(article_id, length, published)
    canonical_of = duplicate_groups(signatures, articles) if len(signatures) > 1 else {}
    store.replace_duplicates(canonical_of)
    return canonical_of
