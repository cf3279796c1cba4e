"""The index directory's layout, its format, the writer lock and the crash points.

Layout (format 2):
    FORMAT             "kabar-index 2": written last when the index is created or migrated
    embedder.json      the embedder that built it (also in the database; here for when that is damaged)
    docs.sqlite        documents, lexical index, segment list, tombstones, duplicate groups (WAL)
    vectors/           chunks.f16, sentences.f16: append-only float16 rows (index/vectors.py)
    segments/          sealed FAISS files of chunk vectors
    lexical/           tantivy's BM25 index of the chunks' analysed words (derived; caught up from SQLite)
    write.lock         held by the one process allowed to write

A commit appends vectors, seals a segment file under its final name, then commits one SQLite
transaction that names it: that transaction is the moment the commit happens. A writer killed
before it leaves bytes and files no committed row points at; the next writer removes them
under the lock (they were never acknowledged).

Format 1 (CURRENT + gen-*/ copies of everything) is still recognised, only to say that
`kabar migrate` converts it, and for the migration to read it.

`KABAR_CRASH_AT=<step>` kills the process at that step of a commit or merge (tests only; the
steps are in COMMIT_STEPS), so every step is tested, not just random moments.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
from pathlib import Path

FORMAT = "FORMAT"
FORMAT_LINE = "kabar-index 2"
EMBEDDER = "embedder.json"  # which embedder built the index: fixed for its life, readable without the database
DOCS = "docs.sqlite"
VECTORS = "vectors"
SEGMENTS = "segments"
LOCK = "write.lock"
COMMIT_STEPS = ("vectors-written", "segment-written", "store-committed", "lexical-applied",
                "merge-segment-written", "merge-committed", "migrate-written")
# Format 1 (read by `kabar migrate` only).
CURRENT = "CURRENT"
GENERATION_PREFIX = "gen-"
STAGING_PREFIX = "staging-"
GENERATION_NAME = re.compile(r"^gen-\d{8}$")


class IndexNotFoundError(FileNotFoundError):
    pass


class IndexCorruptError(RuntimeError):
    """The index directory is damaged in a way Kabar will not guess around; the message says what to run."""


def crash_point(step: str) -> None:
    """Die here, like a power cut, when a test asks for it (KABAR_CRASH_AT)."""
    if os.environ.get("KABAR_CRASH_AT") == step:
        os.kill(os.getpid(), signal.SIGKILL)


class IndexLockedError(RuntimeError):
    pass


class IndexOutdatedError(RuntimeError):
    """An index written by an older Kabar: the message says to run `kabar migrate`."""


class IndexDirectory:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def docs(self) -> Path:
        return self.path / DOCS

    @property
    def segments(self) -> Path:
        return self.path / SEGMENTS

    def vector_file(self, kind: str) -> Path:
        return self.path / VECTORS / f"{kind}.f16"

    def format(self) -> int | None:
        """2 for a current index, 1 for a generation-style one, None when there is no index here.

        A FORMAT file that says something else is damage, not "no index": it raises.
        """
        marker = self.path / FORMAT
        try:
            line = marker.read_text(encoding="utf-8", errors="replace").strip()
        except FileNotFoundError:
            return 1 if (self.path / CURRENT).exists() else None
        except OSError as exc:
            raise IndexCorruptError(f"cannot read {marker}: {exc.strerror or exc}") from None
        if line != FORMAT_LINE:
            raise IndexCorruptError(f"{marker} is damaged: it holds {line[:40]!r}, not {FORMAT_LINE!r}; "
                                    f"run `kabar check --index {self.path} --repair`")
        return 2

    def require(self) -> None:
        """The index exists and is of this Kabar's format, or an error that says what to run."""
        found = self.format()
        if found is None:
            raise IndexNotFoundError(f"no index at {self.path}: run `kabar ingest PATH --index {self.path}` first")
        if found == 1:
            raise IndexOutdatedError(
                f"index {self.path} was written by an older Kabar (format 1, a copy of everything per commit); "
                f"run `kabar migrate --index {self.path}` once to convert it in place")

    def write_embedder(self, record_json: str) -> None:
        temporary = self.path / f"{EMBEDDER}.tmp"
        temporary.write_text(record_json, encoding="utf-8")
        _fsync_file(temporary)
        os.replace(temporary, self.path / EMBEDDER)

    def read_embedder(self) -> str | None:
        try:
            return (self.path / EMBEDDER).read_text(encoding="utf-8")
        except OSError:
            return None

    def mark_format(self) -> None:
        marker = self.path / f"{FORMAT}.tmp"
        marker.write_text(FORMAT_LINE + "\n", encoding="utf-8")
        _fsync_file(marker)
        os.replace(marker, self.path / FORMAT)
        _fsync_dir(self.path)

    def sync_segments(self) -> None:
        _fsync_dir(self.segments)

    def current_generation(self) -> Path | None:
        """Format 1: the live generation; None for a directory with no such index.

        A CURRENT that is unreadable, empty, names something that is not a generation of this
        directory (`../../etc`) or a generation that is gone is damage, not "no index": it raises.
        """
        pointer = self.path / CURRENT
        try:
            raw = pointer.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise IndexCorruptError(f"cannot read {pointer}: {exc.strerror or exc}") from None
        try:
            name = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            name = None
        if not name or not GENERATION_NAME.match(name):
            shown = repr(raw[:40]) if raw.strip() else "nothing"
            raise IndexCorruptError(
                f"{pointer} is damaged: it holds {shown}, not a generation name like gen-00000001; "
                f"run `kabar check --index {self.path} --repair` to point it at the last good generation")
        generation = self.path / name
        if not generation.is_dir():
            raise IndexCorruptError(
                f"{pointer} names {name}, which is not in {self.path}; "
                f"run `kabar check --index {self.path} --repair` to point it at the last good generation")
        return generation

    def generations(self) -> list[Path]:
        """Every complete generation on disk, oldest first."""
        return sorted(p for p in self.path.glob(f"{GENERATION_PREFIX}*") if p.is_dir() and GENERATION_NAME.match(p.name))

    def lock(self) -> int:
        """Take the writer lock, or fail at once: two writers would corrupt each other."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise IndexLockedError(
                f"index {self.path} is being written by another process (lock {self.path / LOCK}); try again later"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        return fd

    @staticmethod
    def unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
