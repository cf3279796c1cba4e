"""Embedding cache keyed by (embedder, kind, text): unchanged text is never embedded twice.

SQLite, because it is a real file-backed store that survives crashes mid-write and lets
several processes (an ingest and an eval) share one cache safely.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np

from rag.embed.base import Embedder, EmbedderSpec, Vectors


class CachedEmbedder:
    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.spec: EmbedderSpec = inner.spec
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=60, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID"
        )
        self._db.commit()
        self.hits = 0
        self.misses = 0

    def encode_queries(self, texts: list[str]) -> Vectors:
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: list[str]) -> Vectors:
        keys = [self._key("passage", text) for text in texts]
        found = self._lookup(keys)
        missing = [i for i, key in enumerate(keys) if key not in found]
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        out = np.zeros((len(texts), self.spec.dim), dtype=np.float32)
        for i, key in enumerate(keys):
            if key in found:
                out[i] = found[key]
        if missing:
            fresh = self.inner.encode_passages([texts[i] for i in missing])
            out[missing] = fresh
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)",
                    [(keys[i], fresh[j].astype(np.float32).tobytes()) for j, i in enumerate(missing)],
                )
        return out

    def _key(self, kind: str, text: str) -> bytes:
        return hashlib.sha256(f"{self.spec.key}\x1f{kind}\x1f{text}".encode()).digest()

    def _lookup(self, keys: list[bytes]) -> dict[bytes, Vectors]:
        found: dict[bytes, Vectors] = {}
        for offset in range(0, len(keys), 500):
            batch = keys[offset:offset + 500]
            marks = ",".join("?" * len(batch))
            for key, blob in self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", batch):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def close(self) -> None:
        self._db.close()
