"""/v1/ask with a language model behind it: a real `kabar serve`, a real chat-completions server on loopback."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.api.conftest import running_server
from tests.fake_llm import FakeLLM

QUESTION = {"question": "Di mana KTT 2025 akan digelar?"}


@pytest.fixture(scope="module")
def served(hashing_seed_settings):
    with FakeLLM("good") as llm, running_server(
            hashing_seed_settings.index_dir, hashing_seed_settings.cache_dir, KABAR_PUBLIC_ASK="true",
            KABAR_LLM_URL=llm.url, KABAR_LLM_MODEL="fake-7b", KABAR_LLM_API_KEY="sk-never-logged",
            KABAR_LLM_TIMEOUT_SECONDS="2", KABAR_LLM_RETRIES="1", KABAR_MIN_ANSWER_CONFIDENCE="0",
            KABAR_READER="off") as base:
        with httpx.Client(base_url=base, timeout=30) as client:
            yield client, llm


def events(response: httpx.Response) -> list[tuple[str, dict]]:
    found = []
    for block in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        found.append((lines["event"], json.loads(lines["data"])))
    return found


def test_ask_adds_the_checked_written_answer_beside_the_extractive_one(served):
    client, llm = served
    llm.behaviour = "unsupported"
    body = client.post("/v1/ask", json=QUESTION).json()
    assert body["answer"]["citation"]["article_id"] and body["llm_error"] is None
    generated = body["generated"]
    assert generated["model"] == "fake-7b" and generated["lang"] == "id"
    assert [c["supported"] for c in generated["claims"]] == [True, False]
    support = generated["claims"][0]["support"]
    article = client.get(f"/v1/articles/{support['article_id']}").json()
    assert article["text"][support["start"]:support["end"]] == support["cited_text"]
    assert client.post("/v1/ask", json={**QUESTION, "generate": False}).json()["generated"] is None


def test_the_stream_sends_sources_answer_tokens_then_checked_claims(served):
    client, llm = served
    llm.behaviour = "good"
    names = [name for name, _ in events(client.post("/v1/ask/stream", json=QUESTION))]
    assert names[:2] == ["sources", "answer"] and names[-2:] == ["generated", "done"]
    assert names.count("token") > 3 and set(names[2:-2]) == {"token"}


def test_a_model_that_fails_leaves_a_200_with_the_extractive_answer_and_the_reason(served):
    client, llm = served
    for behaviour, kind in (("error", "http"), ("garbage", "garbage"), ("slow", "timeout")):
        llm.behaviour = behaviour
        response = client.post("/v1/ask", json=QUESTION)
        assert response.status_code == 200
        body = response.json()
        assert body["answer"] is not None and body["generated"] is None and body["llm_error"].startswith(kind)
        streamed = events(client.post("/v1/ask/stream", json=QUESTION))
        assert streamed[-2][0] == "generated" and streamed[-2][1]["llm_error"].startswith(kind)


def test_metrics_count_calls_errors_tokens_and_claims_and_the_key_never_shows(served):
    client, llm = served
    llm.behaviour = "unsupported"
    client.post("/v1/ask", json=QUESTION)
    metrics = client.get("/metrics").text
    assert 'kabar_llm_calls_total{outcome="ok"}' in metrics and "kabar_llm_seconds_count" in metrics
    assert 'kabar_llm_tokens_total{direction="out"}' in metrics
    assert 'kabar_generated_claims_total{supported="false"}' in metrics
    assert llm.requests[-1]["authorization"] == "Bearer sk-never-logged"
    assert "sk-never-logged" not in client.get("/openapi.json").text
