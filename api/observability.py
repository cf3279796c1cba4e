"""Prometheus metrics and request logging with a request id.

Each app owns its registry (no process-global metric state), and route labels use the
route template (`/v1/articles/{article_id}`), so label cardinality stays bounded.
"""

from __future__ import annotations

import json
import logging
import time
import uuid

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("kabar.http")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("kabar_requests_total", "HTTP requests", ["route", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("kabar_request_seconds", "HTTP request latency", ["route"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.embed_latency = Histogram("kabar_embed_question_seconds", "Question embedding latency",
                                       registry=self.registry, buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1))
        self.ingested = Counter("kabar_ingested_documents_total", "Documents ingested through the API",
                                ["result"], registry=self.registry)
        self.jobs = Counter("kabar_jobs_total", "Background jobs finished", ["kind", "state"], registry=self.registry)
        self.index_articles = Gauge("kabar_index_articles", "Articles in the served index", registry=self.registry)
        self.index_chunks = Gauge("kabar_index_chunks", "Chunks in the served index", registry=self.registry)
        self.index_problem = Gauge("kabar_index_problem", "1 while a newer commit cannot be opened or the "
                                   "served one is damaged (see /readyz)", registry=self.registry)
        self.llm_calls = Counter("kabar_llm_calls_total", "Language model calls by outcome (ok or the error kind)",
                                 ["outcome"], registry=self.registry)
        self.llm_latency = Histogram("kabar_llm_seconds", "Language model call latency", registry=self.registry,
                                     buckets=(0.25, 0.5, 1, 2, 4, 8, 16, 32, 64))
        self.llm_tokens = Counter("kabar_llm_tokens_total", "Tokens sent to and received from the language model",
                                  ["direction"], registry=self.registry)
        self.claims = Counter("kabar_generated_claims_total", "Claims of generated answers, by whether a cited "
                              "sentence supports them", ["supported"], registry=self.registry)
        self.index_bytes = Gauge("kabar_index_bytes", "Size of the index directory on disk",
                                 registry=self.registry)


    def observe_llm(self, outcome: str, seconds: float, tokens_in: int, tokens_out: int) -> None:
        self.llm_calls.labels(outcome).inc()
        self.llm_latency.observe(seconds)
        self.llm_tokens.labels("in").inc(tokens_in)
        self.llm_tokens.labels("out").inc(tokens_out)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
                   "message": record.getMessage()}
        payload.update(getattr(record, "fields", {}))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(as_json: bool) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger("kabar")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


class RequestObserver:
    """Gives every request an id (X-Request-ID, kept if the client sent one), counts and logs it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode("latin-1")))
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            seconds = time.perf_counter() - started
            self.metrics.requests.labels(template, scope["method"], str(status)).inc()
            self.metrics.latency.labels(template).observe(seconds)
            log.info("%s %s %s", scope["method"], scope["path"], status, extra={"fields": {
                "request_id": request_id, "method": scope["method"], "path": scope["path"], "route": template,
                "status": status, "ms": round(seconds * 1000, 1),
                "client": (scope.get("client") or ("", 0))[0]}})
