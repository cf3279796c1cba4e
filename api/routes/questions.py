"""Asking and searching. Plain `def` routes: the embedder blocks, so they run in the threadpool."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException, Query

from api.deps import AskScope, ServiceDep
from api.schemas import AskRequest, ErrorBody
from rag.models import AskResult, SearchResult
from rag.retrieve import Filters
from rag.service import QuestionError

router = APIRouter(prefix="/v1", tags=["questions"])
ERRORS = {code: {"model": ErrorBody} for code in (400, 401, 403, 422, 429, 503)}


def _not_ready(service) -> None:
    if not service.ready:
        raise HTTPException(status_code=503, detail="the index is empty: ingest documents first")


@router.post("/ask", response_model=AskResult, responses=ERRORS, summary="Answer a question with citations")
def ask(body: AskRequest, service: ServiceDep, _: AskScope) -> AskResult:
    _not_ready(service)
    try:
        return service.ask(body.question, k=body.k, mode=body.mode, filters=body.filters())
    except QuestionError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


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
) -> SearchResult:
    _not_ready(service)
    if published_from and published_to and published_from > published_to:
        raise HTTPException(status_code=400, detail="published_from is after published_to")
    try:
        return service.search(q, k=k, mode=mode, filters=Filters(published_from, published_to, source))
    except QuestionError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
