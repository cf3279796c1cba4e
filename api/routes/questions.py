"""Asking and searching. Plain `def` routes: the embedder blocks, so they run in the threadpool."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import AskScope, ServiceDep
from api.schemas import AskRequest, ErrorBody
from rag.models import AskResult, GenerationPiece, SearchResult
from rag.retrieve import Filters
from rag.service import QuestionError

log = logging.getLogger("kabar.api")
router = APIRouter(prefix="/v1", tags=["questions"])
ERRORS = {code: {"model": ErrorBody} for code in (400, 401, 403, 422, 429, 503)}


def _not_ready(service) -> None:
    if not service.ready:
        detail = service.index_problem or "the index is empty: ingest documents first"
        raise HTTPException(status_code=503, detail=detail, headers={"Retry-After": "5"})


@router.post("/ask", response_model=AskResult, responses=ERRORS, summary="Answer a question with citations")
def ask(body: AskRequest, request: Request, service: ServiceDep, _: AskScope) -> AskResult:
    _not_ready(service)
    try:
        result = service.ask(body.question, k=body.k, mode=body.mode, filters=body.filters(),
                             history=body.history, as_of=body.as_of, generate=body.generate)
    except QuestionError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    _count_claims(request, result)
    return result


def _count_claims(request: Request, result: AskResult) -> None:
    if result.generated is not None:
        for claim in result.generated.claims:
            request.app.state.metrics.claims.labels(str(claim.supported).lower()).inc()


@router.post(
    "/ask/stream", responses={**ERRORS, 200: {"content": {"text/event-stream": {}}, "description": (
        "Server-sent events: `sources` (the ranked passages, as soon as retrieval is done), then `answer` "
        "(the answer or the reason there is none); with a language model configured and an answer found, "
        "`token` events (the generated answer as it is written, unchecked) and then `generated` (the whole "
        "generated answer with every claim checked, or `llm_error`); then `done` (timings). A failure after "
        "the stream has started is sent as an `error` event.")}},
    response_class=StreamingResponse, summary="Answer a question, streamed as server-sent events")
def ask_stream(body: AskRequest, request: Request, service: ServiceDep, _: AskScope) -> StreamingResponse:
    _not_ready(service)
    try:  # validation errors are still plain 4xx responses: nothing has been streamed yet
        steps = service.ask_steps(body.question, k=body.k, mode=body.mode, filters=body.filters(),
                                  history=body.history, as_of=body.as_of, generate=body.generate)
    except QuestionError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    return StreamingResponse(_events(steps, request), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _events(steps: Iterator[SearchResult | AskResult | GenerationPiece], request: Request) -> Iterator[str]:
    last: AskResult | None = None
    try:
        for step in steps:
            if isinstance(step, SearchResult):
                yield _event("sources", step.model_dump(mode="json", exclude={"timings_ms"}))
            elif isinstance(step, GenerationPiece):
                yield _event("token", {"text": step.text})
            elif last is None:
                last = step
                yield _event("answer", step.model_dump(mode="json", include={"answer", "no_answer_reason", "confidence"}))
            else:
                last = step
                _count_claims(request, step)
                yield _event("generated", step.model_dump(mode="json", include={"generated", "llm_error"}))
        if last is not None:
            yield _event("done", {"timings_ms": last.timings_ms})
    except Exception:  # the status line is sent; the reader still needs to hear that it failed
        log.exception("ask stream failed")
        yield _event("error", {"detail": "internal error while answering"})


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.get("/search", response_model=SearchResult, responses=ERRORS, summary="Ranked passages only")
def search(
    service: ServiceDep,
    _: AskScope,
    q: str = Query(min_length=1, max_length=1000, description="The question or keywords."),
    k: int = Query(default=5, ge=1, le=50),
    mode: str = Query(default="default", description="default, hybrid, dense or bm25"),
    published_from: dt.date | None = None,
    published_to: dt.date | None = None,
    source: list[str] | None = Query(default=None, max_length=50),
    as_of: dt.date | None = Query(default=None, description="Resolve relative times against this date "
                                  "(default: the archive's newest article)."),
) -> SearchResult:
    _not_ready(service)
    if published_from and published_to and published_from > published_to:
        raise HTTPException(status_code=400, detail="published_from is after published_to")
    try:
        return service.search(q, k=k, mode=mode, filters=Filters(published_from, published_to, source), as_of=as_of)
    except QuestionError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
