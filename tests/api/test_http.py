"""The HTTP API on a real port: `kabar serve` in a subprocess, spoken to with httpx."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from rag.settings import Settings
from tests.api.conftest import start_server
from tests.conftest import SUMMIT_ARTICLE


@pytest.fixture(scope="module")
def base_url(hashing_seed_settings: Settings) -> Iterator[str]:
    yield from start_server(hashing_seed_settings)


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        yield http


def test_health_reports_the_served_index(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["articles"] == 2 and body["chunks"] > 0


def test_ask_returns_answer_passages_and_exact_citations(client):
    response = client.post("/v1/ask", json={"question": "Menteri Luar Negeri Kirgistan di Chengdu", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"question", "answer", "no_answer_reason", "passages", "timings_ms", "searched_for", "confidence",
                         "generated", "llm_error"}
    assert body["generated"] is None and body["llm_error"] is None  # no language model configured
    assert len(body["passages"]) == 3
    for passage in body["passages"]:
        citation = passage["citation"]
        assert set(citation) == {"article_id", "title", "source", "url", "published", "start", "end", "cited_text"}
        article = client.get(f"/v1/articles/{citation['article_id']}").json()
        assert article["text"][citation["start"]:citation["end"]] == citation["cited_text"] == passage["text"]


def test_filters_apply_inside_retrieval(client):
    body = client.post("/v1/ask", json={"question": "pertemuan", "k": 5, "source": "Kompas.com"}).json()
    assert body["passages"] and {p["citation"]["source"] for p in body["passages"]} == {"Kompas.com"}
    body = client.post("/v1/ask", json={"question": "pertemuan", "published_from": "2024-01-01"}).json()
    assert {p["citation"]["published"] for p in body["passages"]} == {"2024-12-02"}


def test_search_returns_passages_only(client):
    body = client.get("/v1/search", params={"q": "Tianfu truk", "k": 2}).json()
    assert len(body["passages"]) == 2 and "answer" not in body


def test_articles_can_be_fetched_by_id(client):
    article = client.get(f"/v1/articles/{SUMMIT_ARTICLE}").json()
    assert article["published"] == "2024-12-02" and article["source"] == "Radio Bharata Online"


@pytest.mark.parametrize("method,path,kwargs,status,message", [
    ("post", "/v1/ask", {"json": {"question": ""}}, 422, "at least 1 character"),
    ("post", "/v1/ask", {"json": {"question": "   "}}, 400, "empty"),
    ("post", "/v1/ask", {"json": {"question": "x" * 1001}}, 422, "at most 1000"),
    ("post", "/v1/ask", {"json": {"question": "ok", "k": 0}}, 422, "greater than or equal to 1"),
    ("post", "/v1/ask", {"json": {"question": "ok", "k": 51}}, 422, "less than or equal to 50"),
    ("post", "/v1/ask", {"json": {"question": "ok", "mode": "magic"}}, 400, "unknown mode"),
    ("post", "/v1/ask", {"json": {"question": "ok", "published_from": "yesterday"}}, 422, "date"),
    ("post", "/v1/ask", {"json": {"question": "ok", "surprise": 1}}, 422, "Extra inputs"),
    ("post", "/v1/ask", {"json": {"question": "ok", "published_from": "2025-01-02", "published_to": "2024-01-01"}},
     422, "published_from is after published_to"),
    ("get", "/v1/search", {"params": {"q": "ok", "published_from": "2025-01-02", "published_to": "2024-01-01"}},
     400, "published_from is after published_to"),
    ("post", "/v1/ask", {"content": b"{bad json", "headers": {"content-type": "application/json"}}, 422,
     "malformed JSON"),
    ("post", "/v1/ask", {"json": ["question"]}, 422, "body"),
    ("get", "/v1/search", {"params": {"q": "", "k": 3}}, 422, "at least 1 character"),
    ("get", "/v1/search", {"params": {"q": "ok", "k": "many"}}, 422, "valid integer"),
    ("get", "/v1/articles/no-such-article", {}, 404, "no article with id"),
])
def test_bad_input_gets_a_4xx_with_a_message(client, method, path, kwargs, status, message):
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status, response.text
    assert message in str(response.json()["detail"])


def test_openapi_documents_the_endpoints(client):
    schema = client.get("/openapi.json").json()
    assert {"/v1/ask", "/v1/search", "/v1/articles/{article_id}", "/healthz", "/readyz", "/metrics",
            "/v1/documents", "/v1/documents/{document_id}", "/v1/jobs/{job_id}"} <= set(schema["paths"])
    assert client.get("/docs").status_code == 200


@pytest.mark.model
def test_the_real_model_answers_over_http(e5_seed_settings):
    for base in start_server(e5_seed_settings):
        body = httpx.post(f"{base}/v1/ask", json={"question": "where is the 2025 summit?"}, timeout=30).json()
        assert "Kazakhstan" in body["answer"]["text"]
        assert body["answer"]["citation"]["article_id"] == SUMMIT_ARTICLE
