"""One index directory: FAISS vectors, a SQLite document store and a manifest, saved atomically.

Four verbs, as in bm25s: open a snapshot to read, take the writer to change, commit, close.
"""

from index.directory import IndexDirectory, IndexLockedError, IndexNotFoundError
from index.manifest import Manifest
from index.snapshot import Snapshot
from index.writer import IndexWriter

__all__ = ["IndexDirectory", "IndexLockedError", "IndexNotFoundError", "IndexWriter", "Manifest", "Snapshot"]
