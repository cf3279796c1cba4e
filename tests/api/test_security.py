"""Keys, scopes, rate limits and request limits on a real server."""

from __future__ import annotations

import httpx
import pytest

from api.security import create_key
from tests.api.conftest import running_server


@pytest.fixture(scope="module")
def secured(hashing_seed_settings, tmp_path_factory):
    keys_file = tmp_path_factory.mktemp("keys") / "keys.json"
    keys = {name: create_key(keys_file, name, scopes) for name, scopes in
            (("reader", ["ask"]), ("editor", ["ask", "admin"]))}
    assert keys["reader"] not in keys_file.read_text()  # only hashes are stored
    with running_server(hashing_seed_settings.index_dir, hashing_seed_settings.cache_dir,
                        KABAR_API_KEYS_FILE=str(keys_file), KABAR_RATE_LIMIT_ASK="8/minute",
                        KABAR_MAX_BODY_BYTES="5000", KABAR_MAX_JSON_DEPTH="10") as base:
        yield base, keys


def ask(base: str, key: str | None = None, **body) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{base}/v1/ask", json={"question": "pertemuan di Chengdu", **body}, headers=headers, timeout=30)


def test_questions_need_a_key_once_keys_exist(secured):
    base, keys = secured
    missing = ask(base)
    assert missing.status_code == 401 and "API key is required" in missing.json()["detail"]
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert ask(base, "kabar_not-a-real-key").status_code == 401
    assert ask(base, keys["reader"]).status_code == 200
    assert httpx.get(f"{base}/v1/search", params={"q": "x"}, headers={"X-API-Key": keys["reader"]}).status_code == 200


def test_admin_routes_need_the_admin_scope(secured):
    base, keys = secured
    forbidden = httpx.get(f"{base}/v1/documents", headers={"Authorization": f"Bearer {keys['reader']}"})
    assert forbidden.status_code == 403 and "'admin' scope" in forbidden.json()["detail"]
    allowed = httpx.get(f"{base}/v1/documents", headers={"Authorization": f"Bearer {keys['editor']}"})
    assert allowed.status_code == 200 and allowed.json()["total"] == 2


def test_bodies_over_the_limit_and_json_bombs_are_refused_before_parsing(secured):
    base, keys = secured
    headers = {"Authorization": f"Bearer {keys['editor']}", "content-type": "application/json"}
    big = httpx.post(f"{base}/v1/ask", content=b'{"question": "' + b"x" * 6000 + b'"}', headers=headers)
    assert big.status_code == 413 and "over 5000 bytes" in big.json()["detail"]
    bomb = httpx.post(f"{base}/v1/ask", content=b"[" * 50 + b"]" * 50, headers=headers)
    assert bomb.status_code == 400 and "nested deeper" in bomb.json()["detail"]
    # Brackets inside strings are text, not nesting.
    fine = httpx.post(f"{base}/v1/ask", json={"question": "[[[[[[[[[[[[[[[[[[[[[[ Chengdu"}, headers=headers)
    assert fine.status_code == 200


def test_rate_limit_answers_429_with_retry_after(secured):
    base, keys = secured
    statuses = [ask(base, keys["reader"]).status_code for _ in range(12)]
    assert 429 in statuses
    limited = ask(base, keys["reader"])
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    # Limits are per key: the editor still gets through.
    assert ask(base, keys["editor"]).status_code == 200


def test_without_keys_questions_are_open_and_admin_is_closed(hashing_seed_settings):
    with running_server(hashing_seed_settings.index_dir, hashing_seed_settings.cache_dir) as base:
        assert ask(base).status_code == 200
        closed = httpx.get(f"{base}/v1/documents")
        assert closed.status_code == 403 and "admin API is disabled" in closed.json()["detail"]


def test_errors_never_leak_internals_and_every_response_has_a_request_id(secured):
    base, keys = secured
    response = httpx.post(f"{base}/v1/ask", content=b"\xff\xfe garbage", headers={
        "Authorization": f"Bearer {keys['editor']}", "content-type": "application/json", "X-Request-ID": "abc123"})
    assert 400 <= response.status_code < 500
    assert "Traceback" not in response.text and response.headers["x-request-id"] == "abc123"
    assert len(httpx.get(f"{base}/healthz").headers["x-request-id"]) == 32


def test_a_client_cannot_escape_the_per_ip_limit_with_x_forwarded_for(hashing_seed_settings):
    with running_server(hashing_seed_settings.index_dir, hashing_seed_settings.cache_dir,
                        KABAR_RATE_LIMIT_ASK="3/minute", KABAR_READER="off") as base:
        statuses = [httpx.post(f"{base}/v1/ask", json={"question": "pertemuan di Chengdu"}, timeout=30,
                               headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code for n in range(6)]
        assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429, 429]


def test_a_named_trusted_proxy_is_believed(hashing_seed_settings):
    with running_server(hashing_seed_settings.index_dir, hashing_seed_settings.cache_dir,
                        KABAR_RATE_LIMIT_ASK="3/minute", KABAR_READER="off",
                        KABAR_TRUSTED_PROXIES='["127.0.0.1"]') as base:
        statuses = [httpx.post(f"{base}/v1/ask", json={"question": "pertemuan di Chengdu"}, timeout=30,
                               headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code for n in range(6)]
        assert statuses == [200] * 6  # six real clients behind the proxy, one request each
