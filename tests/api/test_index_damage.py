"""A running server whose index is damaged under it keeps answering from what it holds and says what is wrong."""

from __future__ import annotations

import time

import httpx
import pytest

from index.check import check_index
from rag.chunk import Chunker
from rag.embed.hashing import HashingEmbedder
from rag.ingest.pipeline import Ingestor
from rag.models import Article
from tests.api.conftest import running_server

QUESTION = {"question": "Di mana banjir melanda?", "mode": "dense"}


def ingest(index_dir, *articles):
    Ingestor(HashingEmbedder(), Chunker(200, 20)).ingest_articles(iter(articles), index_dir, progress=False)


@pytest.fixture
def served(tmp_path, cache_dir):
    index_dir = tmp_path / "index"
    ingest(index_dir, Article(id="banjir", text="Banjir melanda Jakarta Timur pada hari Senin. Ribuan warga mengungsi."))
    with running_server(index_dir, cache_dir, KABAR_PUBLIC_ASK="true", KABAR_READER="off") as base:
        with httpx.Client(base_url=base, timeout=30) as client:
            assert client.post("/v1/ask", json=QUESTION).status_code == 200
            yield index_dir, client


def test_an_empty_format_file_keeps_the_held_index_serving_and_readyz_says_why(served):
    index_dir, client = served
    (index_dir / "FORMAT").write_bytes(b"")
    assert client.post("/v1/ask", json=QUESTION).status_code == 200
    assert client.get("/healthz").json()["articles"] == 1
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "FORMAT" in ready.json()["detail"] and "--repair" in ready.json()["detail"]
    assert "kabar_index_problem 1.0" in client.get("/metrics").text
    assert check_index(index_dir, repair=True).ok
    assert client.get("/readyz").status_code == 200


def test_garbage_in_the_format_file_never_stops_answers(served):
    index_dir, client = served
    for content in (b"\xff\xfe\x00\x01", b"../../../etc\n"):
        (index_dir / "FORMAT").write_bytes(content)
        assert client.post("/v1/ask", json=QUESTION).status_code == 200
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503


def test_a_corrupt_new_segment_is_not_served_and_repair_brings_the_commit_back(served):
    index_dir, client = served
    ingest(index_dir, Article(id="gempa", text="Gempa mengguncang Palu pada malam hari. Warga berlari keluar rumah."))
    newest = sorted((index_dir / "segments").glob("*.faiss"))[-1]
    newest.write_bytes(b"broken")
    assert client.post("/v1/ask", json=QUESTION).status_code == 200
    assert client.get("/healthz").json()["articles"] == 1  # still the commit it held
    ready = client.get("/readyz")
    assert ready.status_code == 503 and newest.name in ready.json()["detail"]
    # An operator repairs: the segment is rebuilt from the vector matrix, nothing is lost.
    assert check_index(index_dir, repair=True).ok
    deadline = time.monotonic() + 15
    while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert client.get("/readyz").status_code == 200
    assert client.get("/healthz").json()["articles"] == 2


def test_a_server_started_on_a_truncated_database_is_unready_and_serves_once_it_is_restored(tmp_path, cache_dir):
    index_dir = tmp_path / "index"
    ingest(index_dir, Article(id="banjir", text="Banjir melanda Jakarta Timur pada hari Senin. Ribuan warga mengungsi."))
    database = index_dir / "docs.sqlite"
    good = database.read_bytes()
    database.write_bytes(good[:1024])
    with running_server(index_dir, cache_dir, KABAR_PUBLIC_ASK="true", KABAR_READER="off") as base:
        with httpx.Client(base_url=base, timeout=30) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 503 and "docs.sqlite" in ready.json()["detail"]
            response = client.post("/v1/ask", json=QUESTION)
            assert response.status_code == 503 and "docs.sqlite" in response.json()["detail"]
            database.write_bytes(good)
            deadline = time.monotonic() + 15
            while client.post("/v1/ask", json=QUESTION).status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.5)
            assert client.post("/v1/ask", json=QUESTION).status_code == 200
            assert client.get("/readyz").status_code == 200
