"""A served archive written by another process: the server opens the new commits and empties its log unasked."""

from __future__ import annotations

import time

import httpx

from index import wal
from tests.api.conftest import running_server
from tests.index.test_wal import commit_articles


def test_an_idle_server_follows_another_process_s_commits_and_empties_its_log(tmp_path, cache_dir):
    commit_articles(tmp_path, 0, 5)
    docs = tmp_path / "docs.sqlite"
    with running_server(tmp_path, cache_dir, KABAR_PUBLIC_ASK="true", KABAR_READER="off",
                        KABAR_FOLLOW_SECONDS="0.2", KABAR_LOG_SETTLE_MB="0.5") as base:
        for batch in range(1, 6):  # `kabar ingest` into the served archive, nobody asking meanwhile
            commit_articles(tmp_path, batch * 20, 20)
            time.sleep(0.3)
        deadline = time.monotonic() + 10
        while wal.log_bytes(docs) > 500_000 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert wal.log_bytes(docs) <= 500_000
        health = httpx.get(f"{base}/healthz", timeout=10).json()
        assert health["articles"] == 105
        asked = httpx.post(f"{base}/v1/ask", json={"question": "Berita 110: nomor 110-3?", "k": 3}, timeout=10)
        assert asked.status_code == 200, asked.text
        assert "a110" in {p["citation"]["article_id"] for p in asked.json()["passages"]}
