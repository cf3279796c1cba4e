"""A real `kabar serve` on a free loopback port, for each API test module that needs one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from rag.settings import Settings
from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(index_dir: Path, cache_dir: Path, **env: str) -> Iterator[str]:
    port = free_port()
    environment = {**os.environ, "KABAR_CACHE_DIR": str(cache_dir), **env}
    # The server's log goes to a file: an unread pipe fills up and blocks the server.
    log = tempfile.NamedTemporaryFile("w+", prefix="kabar-serve-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve", "--index", str(index_dir), "--port", str(port)],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {Path(log.name).read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start in 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        os.unlink(log.name)


def start_server(settings: Settings) -> Iterator[str]:
    with running_server(settings.index_dir, settings.cache_dir) as base:
        yield base
