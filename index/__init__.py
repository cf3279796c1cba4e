"""One index directory: a SQLite document store, vector segments and matrices, changed in place.

Four verbs, as in bm25s: open a snapshot to read, take the writer to change, commit, close.
`ArchiveStore` (index/protocol.py) is the small interface the layers above rely on, so that
a distributed engine can stand in for this embedded one.
"""

from index.directory import IndexDirectory, IndexLockedError, IndexNotFoundError, IndexOutdatedError
from index.manifest import Manifest
from index.snapshot import Snapshot
from index.writer import IndexWriter

__all__ = ["IndexDirectory", "IndexLockedError", "IndexNotFoundError", "IndexOutdatedError", "IndexWriter",
           "Manifest", "Snapshot"]
