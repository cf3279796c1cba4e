"""The FastAPI application, built from one `Settings`."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.index_follower import IndexFollower
from api.limits import BodyLimitMiddleware, RateLimiter, TimeoutMiddleware
from api.observability import Metrics, RequestObserver, configure_logging
from api.routes import articles, documents, health, pages, questions
from api.security import Authenticator, load_keys
from rag import __version__
from rag.chunk import Chunker
from rag.embed.base import Embedder
from rag.ingest.pipeline import Ingestor
from rag.jobs import Job, JobQueue, QueueFullError
from rag.service import IndexUnavailableError, Kabar
from rag.settings import Settings

log = logging.getLogger("kabar.api")


class ObservedEmbedder:
    """The service's embedder, with question latency recorded for /metrics."""

    def __init__(self, inner: Embedder, metrics: Metrics) -> None:
        self.inner = inner
        self.spec = inner.spec
        self._metrics = metrics

    def encode_queries(self, texts):
        with self._metrics.embed_latency.time():
            return self.inner.encode_queries(texts)

    def encode_passages(self, texts):
        return self.inner.encode_passages(texts)


def create_app(settings: Settings | None = None, embedder: Embedder | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.apply_process_environment()
    configure_logging(settings.log_json)
    metrics = Metrics()
    service = Kabar(settings, embedder)
    if settings.warm_up:  # before the embedder is observed: the warm-up is no asker's question
        took = service.warm_up()
        if took is not None:
            log.info("warmed up in %.0f ms", took)
    service.embedder = ObservedEmbedder(service.embedder, metrics)
    if service.generator is not None:
        service.generator.client.observe = metrics.observe_llm

    def job_finished(job: Job) -> None:
        metrics.jobs.labels(job.kind, job.state).inc()
        for result in ("added", "replaced", "unchanged", "deleted"):
            metrics.ingested.labels(result).inc(getattr(job, result))
        # Open the new commit now, in the writer's thread: the next question does not pay for it, and
        # the old snapshot's read transaction ends (so SQLite can checkpoint its log).
        service.ready

    ingestor = Ingestor(service.embedder, Chunker(settings.chunk_size, settings.chunk_overlap),
                        settings.checkpoint_seconds, settings.max_article_bytes, settings.embed_batch)

    follower = IndexFollower(service, settings.follow_seconds, int(settings.log_settle_mb * 1_000_000))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        follower.start()
        yield
        follower.stop()
        app.state.jobs.close()

    app = FastAPI(
        title="Kabar", version=__version__, lifespan=lifespan,
        description="Question answering over news archives: ranked passages, an extractive answer, "
        "and citations that point at the exact characters of the source article.",
    )
    app.state.settings = settings
    app.state.kabar = service
    app.state.metrics = metrics
    app.state.jobs = JobQueue(ingestor, settings.index_dir, on_commit=job_finished,
                              max_queued_documents=settings.max_queued_documents)
    app.state.auth = Authenticator(load_keys(settings.api_keys_file), settings.public_ask)
    app.state.rate_limiter = RateLimiter(settings.rate_limit_ask, settings.rate_limit_admin)

    # Outermost first: observe everything, then time-box, then size-check before parsing.
    app.add_middleware(BodyLimitMiddleware, max_json_bytes=settings.max_body_bytes,
                       max_upload_bytes=settings.max_upload_bytes, max_depth=settings.max_json_depth)
    app.add_middleware(TimeoutMiddleware, seconds=settings.request_timeout_s)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "Authorization", "X-API-Key"],
                           expose_headers=["Retry-After", "X-Request-ID"], max_age=600)
    app.add_middleware(RequestObserver, metrics=metrics)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # One readable line per problem; the raw input is not echoed back.
        problems = [
            "malformed JSON body" if e["type"] == "json_invalid"
            else f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
            for e in exc.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": "; ".join(problems)})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail},
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(QueueFullError)
    async def _queue_full(request: Request, exc: QueueFullError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)}, headers={"Retry-After": "5"})

    @app.exception_handler(IndexUnavailableError)
    async def _index_unavailable(request: Request, exc: IndexUnavailableError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)}, headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(status_code=500, content={"detail": "internal error"})

    for module in (questions, articles, documents, health, pages):
        app.include_router(module.router)
    _register_body_schemas(app)
    return app


def _register_body_schemas(app: FastAPI) -> None:
    """POST /v1/documents reads its body by content type; publish the JSON models it accepts."""
    from pydantic.json_schema import models_json_schema

    from api.schemas import DocumentBatch, DocumentIn

    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            _, definitions = models_json_schema([(DocumentIn, "validation"), (DocumentBatch, "validation")],
                                                ref_template="#/components/schemas/{model}")
            schema.setdefault("components", {}).setdefault("schemas", {}).update(definitions.get("$defs", {}))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
