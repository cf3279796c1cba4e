"""Near-duplicate articles: the same wire story syndicated by several sites, or a page re-published.

A reader wants the story once, with "also reported by" the other outlets, not five copies of
one paragraph in the top five. Copies differ in their datelines, bylines and a sentence or
two, so exact hashes miss them; word-trigram shingles compared by MinHash (datasketch's LSH
finds the candidate pairs without comparing every pair) catch them. The estimated Jaccard
similarity must reach `threshold` (0.6: re-edited copies stay above it, two reports of one
event written independently stay well below).

The canonical article of a group is the first published (the original), then the longest.

Groups are kept up to date article by article, never recomputed over the archive: the LSH
buckets of every signature are rows in the store (`lsh_bands`), a new article looks up the
articles sharing a bucket, checks them, and joins (or merges) their groups. A deleted article
leaves its group, whose remaining members are checked pair by pair: where the deleted article
was the only link between two halves (A copies B, B copies C, A and C too different), the
halves become two groups, each with its own canonical, so "also reported by" lists only copies.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

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
    """article id → canonical article id, for every article that belongs to a group of two or more.
    Regroups what remains of a group when one of its members is deleted (`remove_article`)."""
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


# Candidates read per new article: a bucket shared by thousands of copies (a wire story re-posted
# all day) costs a bounded amount; joining any one of them joins the group.
MAX_NEIGHBOURS = 50


@lru_cache(maxsize=1)
def band_shape() -> tuple[int, int]:
    """(bands, rows per band) that datasketch picks for the LSH threshold used here."""
    lsh = MinHashLSH(threshold=THRESHOLD - 0.15, num_perm=NUM_PERM)
    return lsh.b, lsh.r


def band_keys(values: np.ndarray) -> list[int]:
    """One 63-bit key per LSH band (a hash of the band's rows), as SQLite integers."""
    bands, rows = band_shape()
    keys = []
    for band in range(bands):
        digest = hashlib.blake2b(values[band * rows:(band + 1) * rows].tobytes(), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little") >> 1)
    return keys


def add_article(store, article_id: str, text: str) -> str | None:
    """Sign a new article, file it in the LSH buckets, and join the groups of its near-duplicates.

    Returns the canonical id of its group, or None when it has no copy in the archive.
    """
    values = signature(text)
    store.put_signature(article_id, None if values is None else values.tobytes())
    if values is None:
        return None
    keys = band_keys(values)
    neighbours = [n for n in store.band_neighbours(keys, MAX_NEIGHBOURS) if n != article_id]
    store.put_bands(article_id, keys)
    if not neighbours:
        return None
    mine = LeanMinHash(seed=1, hashvalues=values, scheme=SCHEME)
    matches = [other for other, blob in store.signatures_of(neighbours).items()
               if mine.jaccard(LeanMinHash(seed=1, hashvalues=np.frombuffer(blob, dtype=np.uint64),
                                           scheme=SCHEME)) >= THRESHOLD]
    if not matches:
        return None
    canonical_of = store.canonical_of(matches)
    heads = list(dict.fromkeys(canonical_of.get(m, m) for m in matches))
    order = store.article_order(heads + [article_id])
    canonical = min(order, key=order.get)
    # Groups joined under a new canonical are re-pointed; members already under it stay as they are.
    moved = [article_id] + [h for h in heads if h == canonical and h not in canonical_of]
    for head in heads:
        if head != canonical:
            moved.extend(store.group_members([head])[head] or [head])
    store.set_group(list(dict.fromkeys(moved)), canonical)
    return canonical


# Past this many members, a group is not re-checked pair by pair when one leaves (a wire story
# re-posted all day): it stays one group, as before the deletion.
MAX_RECHECKED = 100


def remove_article(store, article_id: str) -> None:
    """Take an article out of the buckets and of its group (before its row goes); split what it held together."""
    store.remove_bands(article_id)
    canonical = store.canonical_of([article_id]).get(article_id)
    store.leave_group(article_id)
    if canonical is None:
        return
    members = store.group_members([canonical])[canonical]
    order = store.article_order(members)
    if len(members) > MAX_RECHECKED:
        store.set_group(members, min(order, key=order.get))
        return
    # The remaining members regrouped as a batch would group them: chains of near-duplicate pairs.
    signatures = {member: np.frombuffer(blob, dtype=np.uint64) for member, blob in store.signatures_of(members).items()}
    articles = {member: SignedArticle(member, -length, published) for member, (published, length, _) in order.items()}
    regrouped = duplicate_groups(signatures, articles)
    for member in members:
        if member not in regrouped:
            store.leave_group(member)
    for head in set(regrouped.values()):
        store.set_group([member for member in members if regrouped.get(member) == head], head)
