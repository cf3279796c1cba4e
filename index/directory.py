"""The index directory's layout and its two safety mechanisms.

Layout:
    CURRENT            name of the live generation (replaced atomically)
    gen-00000042/      one complete, immutable generation:
        manifest.json  docs.sqlite  chunks.faiss  sentences.faiss  bm25/
    staging-*/         a generation being written (removed if a writer died)
    write.lock         held by the one process allowed to write

A writer builds a new generation beside the live one and publishes it by renaming
CURRENT, so a reader, or a crash at any instant, sees either the old generation or
the new one, never half of each. A writer killed midway leaves leftovers (a staging
folder, a renamed generation CURRENT never named, CURRENT.tmp); the next writer removes
them under the lock: none of them was acknowledged.

`KABAR_CRASH_AT=<step>` kills the process at that step of a commit (tests only; the steps
are in COMMIT_STEPS), so every step is tested, not just random moments.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
from pathlib import Path

CURRENT = "CURRENT"
LOCK = "write.lock"
GENERATION_PREFIX = "gen-"
STAGING_PREFIX = "staging-"
KEEP_OLD_GENERATIONS = 2
GENERATION_NAME = re.compile(r"^gen-\d{8}$")
COMMIT_STEPS = ("store-committed", "files-written", "generation-renamed", "pointer-written", "pointer-switched")


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


class IndexDirectory:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def current_generation(self) -> Path | None:
        """The live generation; None for a directory with no index yet.

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

    def point_at(self, generation: Path) -> None:
        """Make `generation` live (atomically). Used by publish and by `kabar check --repair`."""
        pointer = self.path / f"{CURRENT}.tmp"
        pointer.write_text(generation.name + "\n", encoding="utf-8")
        _fsync_file(pointer)
        crash_point("pointer-written")
        os.replace(pointer, self.path / CURRENT)
        _fsync_dir(self.path)

    def remove_leftovers(self, live: Path | None, generations: bool = True) -> list[str]:
        """Under the writer lock: what a dead writer left behind (never acknowledged, so never needed).

        Generations newer than `live` were renamed into place but never named by CURRENT. With
        `generations=False` (CURRENT itself is damaged, so "newer" means nothing) only staging
        folders and CURRENT.tmp go.
        """
        removed = []
        for stale in self.path.glob(f"{STAGING_PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)
            removed.append(stale.name)
        tmp = self.path / f"{CURRENT}.tmp"
        if tmp.exists():
            tmp.unlink()
            removed.append(tmp.name)
        live_number = self.generation_number(live)
        for generation in self.generations() if generations else []:
            if self.generation_number(generation) > live_number:
                shutil.rmtree(generation, ignore_errors=True)
                removed.append(generation.name)
        return removed

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
        crash_point("files-written")
        generation = self.path / f"{GENERATION_PREFIX}{number:08d}"
        if generation.exists():  # a dead writer's unpublished generation of the same number
            shutil.rmtree(generation)
        os.rename(staging, generation)
        _fsync_dir(self.path)
        crash_point("generation-renamed")
        self.point_at(generation)
        crash_point("pointer-switched")
        self._remove_old_generations(keep=generation)
        return generation

    def _remove_old_generations(self, keep: Path) -> None:
        # Older generations stay a little while: a reader may have just read CURRENT.
        generations = [p for p in self.generations() if p != keep]
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
