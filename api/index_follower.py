"""A server's background look at its index: new commits opened before anyone asks, the log kept small.

The documents API opens its own commits at once (api/main.py); a commit by another process, `kabar
ingest` into a served index, was opened only by the next question, so an idle server kept the old
snapshot's read transaction (and the log behind it) for as long as nobody asked, and the first question
paid for opening the commit. Every `follow_seconds` this thread asks for the newest commit, and empties
the write-ahead log once it is past `log_settle_mb` (index/wal.py says why a held snapshot needs that).
"""

from __future__ import annotations

import logging
import threading

from rag.service import Kabar

log = logging.getLogger("kabar.follower")


class IndexFollower:
    def __init__(self, service: Kabar, seconds: float, log_limit_bytes: int) -> None:
        self.service = service
        self.seconds = seconds
        self.log_limit_bytes = log_limit_bytes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kabar-index-follower", daemon=True)
        self._last_failure: str | None = None

    def start(self) -> None:
        if self.seconds > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def look(self) -> None:
        """One look: the newest commit (a damaged one is reported by /readyz, as for a question), then the log."""
        if not self.service.ready:
            return
        if self.service.settle_log(self.log_limit_bytes):
            log.info("write-ahead log emptied")

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                self.look()
                self._last_failure = None
            except Exception as exc:  # a look must never end the thread: the next one may succeed
                if str(exc) != self._last_failure:  # once per problem, not every few seconds
                    log.exception("index follower: look failed")
                self._last_failure = str(exc)
