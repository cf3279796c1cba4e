"""Keeping the documents database's write-ahead log small while a server holds a snapshot.

A snapshot pins a read transaction (index/snapshot.py), so a query sees one commit whole. SQLite
appends every commit to the log and starts the log over only when no reader still reads from it,
and a reader that began while part of the log was not yet copied into the database reads from the
log until it ends. A server always holds a snapshot, reopened after each commit, so the log never
started over: measured, it grew by everything written since the server started (75 MB of log after
75 MB of commits, with or without the snapshot following them).

The way out uses SQLite's own rule: `copy_back` copies the log into the database without waiting
for anyone and says whether all of it went; a snapshot opened after that reads the database alone,
and once the older snapshots are gone, `truncate` empties the log. The service does this when the
log has grown past a limit (`Kabar.settle_log`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def log_file(database: Path) -> Path:
    return database.with_name(database.name + "-wal")


def log_bytes(database: Path) -> int:
    try:
        return log_file(database).stat().st_size
    except FileNotFoundError:
        return 0


def _checkpoint(database: Path, mode: str) -> tuple[int, int, int] | None:
    """(busy, frames in the log, frames copied back), or None where the database cannot be written here."""
    try:
        connection = sqlite3.connect(database, timeout=0, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        row = connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    except sqlite3.Error:  # a read-only file system, or the writer holds a lock it needs
        return None
    finally:
        connection.close()
    return (int(row[0]), int(row[1]), int(row[2])) if row else None


def copy_back(database: Path) -> bool:
    """Copy what no reader still needs from the log into the database, waiting for no one.
    True when the whole log is now in the database (a reader opened now reads the database alone)."""
    result = _checkpoint(database, "PASSIVE")
    return result is not None and result[0] == 0 and result[1] == result[2]


def truncate(database: Path) -> bool:
    """Empty the log, if every reader reads the database alone and no commit is under way (else False:
    try again later; nothing waits)."""
    result = _checkpoint(database, "TRUNCATE")
    return result is not None and result[0] == 0 and log_bytes(database) == 0
