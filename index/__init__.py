"""One index directory: a SQLite document store, vector segments and matrices, changed in place.

Four verbs, as in bm25s: open a snapshot to read, take the writer to change, commit, close.
`ArchiveStore` (index/protocol.py) is the small interface the layers above rely on, so that
a distributed engine can stand in for this embedded one.

The names below load on first use (PEP 562), so that a module that needs one piece, such as the
in-memory BM25 of `index.lexical`, does not load FAISS and SQLite's store with the package: the
reader's training runs where only torch is installed (eval/device_kit.py).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from index.directory import IndexDirectory, IndexLockedError, IndexNotFoundError, IndexOutdatedError
    from index.manifest import Manifest
    from index.snapshot import Snapshot
    from index.writer import IndexWriter

_HOMES = {
    "IndexDirectory": "index.directory", "IndexLockedError": "index.directory",
    "IndexNotFoundError": "index.directory", "IndexOutdatedError": "index.directory",
    "Manifest": "index.manifest", "Snapshot": "index.snapshot", "IndexWriter": "index.writer",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'index' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
