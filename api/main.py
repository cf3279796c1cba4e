"""The FastAPI application, built from one `Settings`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from api.routes import articles, health, questions
from rag import __version__
from rag.embed.base import Embedder
from rag.service import Kabar
from rag.settings import Settings

log = logging.getLogger("kabar.api")


def create_app(settings: Settings | None = None, embedder: Embedder | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.apply_process_environment()
    app = FastAPI(
        title="Kabar",
        version=__version__,
        description="Question answering over news archives: ranked passages, an extractive answer, "
        "and citations that point at the exact characters of the source article.",
    )
    app.state.kabar = Kabar(settings, embedder)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "Authorization"])

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # One readable line per problem; the raw input is not echoed back.
        problems = [
            "malformed JSON body" if e["type"] == "json_invalid"
            else f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
            for e in exc.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": "; ".join(problems)})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(status_code=500, content={"detail": "internal error"})

    app.include_router(questions.router)
    app.include_router(articles.router)
    app.include_router(health.router)
    return app
