"""The index directory's layout and its two safety mechanisms.

Layout:
    CURRENT            name of the live generation (replaced atomically)
    gen-00000042/      one complete, immutable generation:
        manifest.json  docs.sqlite  chunks.faiss  sentences.faiss  bm25/
    staging-*/         a generation being written (removed if a writer died)
    write.lock         held by the one process allowed to write

A writer builds a new generation beside the live one and publishes it by renaming
CURRENT, so a reader, or a crash at any instant, sees either the old generation or
the new one, never half of each.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

CURRENT = "CURRENT"
LOCK = "write.lock"
GENERATION_PREFIX = "gen-"
STAGING_PREFIX = "staging-"
KEEP_OLD_GENERATIONS = 2


class IndexNotFoundError(FileNotFoundError):
    pass


class IndexLockedError(RuntimeError):
    pass


class IndexDirectory:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def current_generation(self) -> Path | None:
        try:
            name = (self.path / CURRENT).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        generation = self.path / name
        return generation if generation.is_dir() else None

    def require_current(self) -> Path:
        generation = self.current_generation()
        if generation is None:
            raise IndexNotFoundError(f"no index at {self.path}: run `kabar ingest PATH --index {self.path}` first")
        return generation

    def generation_number(self, generation: Path | None) -> int:
        return int(generation.name[len(GENERATION_PREFIX):]) if generation else 0

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

    def new_staging(self) -> Path:
        for stale in self.path.glob(f"{STAGING_PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)
        staging = self.path / f"{STAGING_PREFIX}{os.getpid()}"
        staging.mkdir(parents=True)
        return staging

    def publish(self, staging: Path, number: int) -> Path:
        """Make `staging` the live generation: fsync its files, rename it, swap CURRENT."""
        for item in staging.rglob("*"):
            if item.is_file():
                _fsync_file(item)
        for folder in [p for p in staging.rglob("*") if p.is_dir()] + [staging]:
            _fsync_dir(folder)
        generation = self.path / f"{GENERATION_PREFIX}{number:08d}"
        os.rename(staging, generation)
        pointer = self.path / f"{CURRENT}.tmp"
        pointer.write_text(generation.name + "\n", encoding="utf-8")
        _fsync_file(pointer)
        os.replace(pointer, self.path / CURRENT)
        _fsync_dir(self.path)
        self._remove_old_generations(keep=generation)
        return generation

    def _remove_old_generations(self, keep: Path) -> None:
        # Older generations stay a little while: a reader may have just read CURRENT.
        generations = sorted(p for p in self.path.glob(f"{GENERATION_PREFIX}*") if p.is_dir() and p != keep)
        for old in generations[:-KEEP_OLD_GENERATIONS] if KEEP_OLD_GENERATIONS else generations:
            shutil.rmtree(old, ignore_errors=True)


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
