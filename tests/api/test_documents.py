"""Managing documents over HTTP: background jobs, atomic visibility, listing, metrics."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from api.security import create_key
from tests.api.conftest import running_server


@pytest.fixture(scope="module")
def admin(tmp_path_factory, cache_dir):
    folder = tmp_path_factory.mktemp("documents")
    key = create_key(folder / "keys.json", "editor", ["ask", "admin"])
    with running_server(folder / "index", cache_dir, KABAR_API_KEYS_FILE=str(folder / "keys.json"),
                        KABAR_EMBEDDER="hashing", KABAR_RATE_LIMIT_ASK="10000/minute",
                        KABAR_RATE_LIMIT_ADMIN="10000/minute") as base:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
            yield client


def wait(client: httpx.Client, response: httpx.Response) -> dict:
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == f"/v1/jobs/{response.json()['id']}"
    for _ in range(500):
        job = client.get(response.headers["Location"]).json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(0.02)
    raise AssertionError("job did not finish")


def document(i: int, **fields) -> dict:
    return {"id": f"doc-{i}", "title": f"Berita {i}", "text": f"Banjir melanda kota nomor {i}. Warga mengungsi.",
            "source": "Antara" if i % 2 else "Tempo", "published": f"2024-01-{i % 28 + 1:02d}", **fields}


def test_an_empty_server_is_alive_but_not_ready(admin):
    assert admin.get("/healthz").status_code == 200
    if admin.get("/v1/documents").json()["total"] == 0:
        assert admin.get("/readyz").status_code == 503
        assert admin.post("/v1/ask", json={"question": "banjir"}).status_code == 503


def test_single_batch_and_uploaded_documents_become_searchable(admin):
    job = wait(admin, admin.post("/v1/documents", json=document(1)))
    assert job["state"] == "succeeded" and job["added"] == 1
    job = wait(admin, admin.post("/v1/documents", json={"documents": [document(i) for i in range(2, 12)]}))
    assert job["added"] == 10
    page = """<html><head><meta property="og:title" content="Gempa Palu"><meta property="og:site_name"
    content="Kompas.com"><meta property="article:published_time" content="2024-02-03"></head><body><article>
    <p>PALU, KOMPAS.com - Gempa berkekuatan 5,2 mengguncang Palu pada Sabtu pagi dan warga berhamburan keluar
    rumah untuk menyelamatkan diri dari bangunan yang bergoyang.</p><p>Baca juga: Berita lain</p></article>
    </body></html>"""
    job = wait(admin, admin.post("/v1/documents", files={"file": ("gempa-palu.html", page, "text/html")}))
    assert job["added"] == 1
    assert admin.get("/readyz").status_code == 200
    article = admin.get("/v1/articles/gempa-palu").json()
    assert article["title"] == "Gempa Palu" and article["source"] == "Kompas.com" and "Baca juga" not in article["text"]
    hits = admin.get("/v1/search", params={"q": "gempa Palu", "k": 1}).json()["passages"]
    assert hits[0]["citation"]["article_id"] == "gempa-palu"


def test_put_replaces_and_delete_removes(admin):
    wait(admin, admin.post("/v1/documents", json=document(50)))
    job = wait(admin, admin.put("/v1/documents/doc-50", json={"text": "Kebakaran hutan di Riau meluas."}))
    assert job["replaced"] == 1
    assert admin.get("/v1/articles/doc-50").json()["text"] == "Kebakaran hutan di Riau meluas."
    job = wait(admin, admin.delete("/v1/documents/doc-50"))
    assert job["deleted"] == 1
    assert admin.get("/v1/articles/doc-50").status_code == 404
    assert admin.delete("/v1/documents/doc-50").status_code == 404
    passages = admin.get("/v1/search", params={"q": "Kebakaran hutan Riau", "k": 5}).json()["passages"]
    assert all(p["citation"]["article_id"] != "doc-50" for p in passages)


def test_listing_is_paged_and_filtered(admin):
    wait(admin, admin.post("/v1/documents", json={"documents": [document(i) for i in range(60, 70)]}))
    page = admin.get("/v1/documents", params={"source": "Antara", "page_size": 3}).json()
    assert page["page_size"] == 3 and len(page["items"]) == 3 and page["total"] >= 5
    assert {item["source"] for item in page["items"]} == {"Antara"}
    dated = admin.get("/v1/documents", params={"published_from": "2024-01-05", "published_to": "2024-01-05"}).json()
    assert dated["items"] and {i["published"] for i in dated["items"]} == {"2024-01-05"}


@pytest.mark.parametrize("body,status,message", [
    ({"id": "x"}, 422, "text"),
    ({"id": "a/b", "text": "t"}, 422, "pattern"),
    ({"id": "..", "text": "Banjir melanda kota. Warga mengungsi."}, 422, "pattern"),
    ({"id": "x", "text": "\u0001\u0002\u0003\u0004\u0005 abc def \u0006\u0007\u0008"}, 422, "control characters"),
    ({"documents": []}, 422, "at least 1"),
    ({"id": "x", "text": "t", "published": "kemarin"}, 422, "date"),
])
def test_bad_documents_are_refused_with_a_message(admin, body, status, message):
    response = admin.post("/v1/documents", json=body)
    assert response.status_code == status and message in response.json()["detail"]


def test_binary_uploads_and_unsafe_jsonl_ids_are_refused_like_the_cli_refuses_them(admin):
    import json
    import os

    binary = admin.post("/v1/documents", files={"file": ("photo.txt", os.urandom(4000), "text/plain")})
    assert binary.status_code == 422 and "not UTF-8 text" in binary.json()["detail"]
    lines = [{"id": "../../etc/passwd", "text": "Banjir melanda kota. Warga mengungsi ke sekolah."},
             {"id": "a/b", "text": "Banjir melanda kota. Warga mengungsi ke sekolah."}]
    corpus = "".join(json.dumps(line) + "\n" for line in lines).encode()
    unsafe = admin.post("/v1/documents", files={"file": ("corpus.jsonl", corpus, "application/x-ndjson")})
    assert unsafe.status_code == 422 and unsafe.json()["detail"].count("not allowed") == 2


def test_unsupported_uploads_and_unknown_jobs(admin):
    bad = admin.post("/v1/documents", files={"file": ("photo.png", b"\x89PNG", "image/png")})
    assert bad.status_code == 422 and "unsupported file type" in bad.json()["detail"]
    assert admin.post("/v1/documents", content=b"text", headers={"content-type": "text/plain"}).status_code == 415
    assert admin.get("/v1/jobs/does-not-exist").status_code == 404


def test_questions_are_answered_while_an_ingest_runs(admin):
    wait(admin, admin.post("/v1/documents", json=document(100)))
    failures: list[str] = []
    stop = threading.Event()

    def asker() -> None:
        while not stop.is_set():
            response = admin.post("/v1/ask", json={"question": "banjir kota", "k": 3})
            if response.status_code != 200 or len(response.json()["passages"]) != 3:
                failures.append(response.text)

    threads = [threading.Thread(target=asker) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        job = wait(admin, admin.post("/v1/documents", json={"documents": [document(i) for i in range(200, 400)]}))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert job["added"] == 200 and failures == []


def test_metrics_expose_requests_jobs_and_index_size(admin):
    text = admin.get("/metrics").text
    assert 'kabar_requests_total{method="POST",route="/v1/documents",status="202"}' in text
    assert "kabar_index_articles" in text and "kabar_index_bytes" in text
    assert 'kabar_jobs_total{kind="ingest",state="succeeded"}' in text
    assert "kabar_embed_question_seconds_count" in text
