"""The streamed answer and the pages a browser opens, on a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag.settings import Settings
from tests.api.conftest import running_server
from tests.conftest import SAMPLES, build_index

HOSTILE_TITLE = '<img src=x onerror="alert(1)">Festival {text} layang-layang'
HOSTILE_TEXT = "Festival layang-layang digelar di Pangandaran. <script>alert('xss')</script> Ada 40 peserta."


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("hostile")
    corpus = folder / "hostile.jsonl"
    corpus.write_text(json.dumps({"id": "hostile", "title": HOSTILE_TITLE, "text": HOSTILE_TEXT,
                                  "source": "<b>Bad</b>", "published": "2024-05-01", "lang": "id",
                                  "url": "javascript:alert(1)"}) + "\n")
    settings: Settings = build_index(folder / "index", "hashing", cache_dir, paths=[SAMPLES, corpus])
    with running_server(settings.index_dir, settings.cache_dir,
                        KABAR_CORS_ORIGINS='["https://news.example"]') as base:
        yield base


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        yield http


def read_events(response: httpx.Response) -> list[tuple[str, dict]]:
    events = []
    for block in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_the_stream_sends_sources_then_the_answer_then_done(client):
    response = client.post("/v1/ask/stream", json={"question": "Menteri Luar Negeri Kirgistan di Chengdu", "k": 3})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = read_events(response)
    assert [name for name, _ in events] == ["sources", "answer", "done"]
    sources, answer, done = (data for _, data in events)
    assert len(sources["passages"]) == 3
    assert set(answer) == {"answer", "no_answer_reason", "confidence"}
    assert done["timings_ms"]["total"] > 0


def test_a_follow_up_in_the_stream_says_what_was_searched(client):
    history = [{"question": "Menteri Luar Negeri Kirgistan di Chengdu", "answer": None}]
    events = read_events(client.post("/v1/ask/stream", json={"question": "who attended it?", "history": history}))
    assert events[0][1]["searched_for"] == "Menteri Luar Negeri Kirgistan di Chengdu who attended it?"


@pytest.mark.parametrize("body, status, message", [
    ({"question": "   "}, 400, "question is empty"),
    ({"question": "?!?"}, 400, "question has no words"),
    ({"question": "x", "history": [{"question": "q"}] * 11}, 422, "history"),
    ({"question": "x", "history": [{"answer": "no question"}]}, 422, "question"),
])
def test_a_bad_stream_request_is_refused_before_anything_is_streamed(client, body, status, message):
    response = client.post("/v1/ask/stream", json=body)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert message in response.json()["detail"]


def test_the_article_page_shows_untrusted_text_as_text(client):
    response = client.get("/articles/hostile")
    assert response.status_code == 200
    page = response.text
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>Bad</b>" not in page
    assert "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;" in page
    assert "Festival {text} layang-layang" in page  # placeholders in a title are not filled in
    assert "javascript:" not in page  # only http(s) links to the original
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_a_missing_article_page_is_a_404(client):
    assert client.get("/articles/no-such-article").status_code == 404


def test_the_demo_page_embeds_the_widget(client):
    page = client.get("/").text
    assert '<script src="/widget.js" defer></script>' in page and "<kabar-chat" in page
    assert "3" in page.split('id="article-count">')[1][:3]
    assert client.get("/?lang=xx").status_code == 422


def test_the_widget_script_is_served_as_javascript(client):
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert 'customElements.define("kabar-chat"' in response.text
    assert client.get("/static/../pyproject.toml").status_code == 404


def test_browsers_get_answers_only_on_the_allowed_origins(client):
    allowed = client.options("/v1/ask/stream", headers={
        "Origin": "https://news.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://news.example"
    refused = client.options("/v1/ask/stream", headers={
        "Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"})
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    simple = client.get("/v1/search", params={"q": "Kazakhstan"}, headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in simple.headers
