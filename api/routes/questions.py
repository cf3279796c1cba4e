"""Asking and searching. Plain `def` routes: the embedder blocks, so they run in the threadpool."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query

from api.deps import ServiceDep
from api.schemas import AskRequest, ErrorBody
from rag.models import AskResult, SearchResult
from rag.retrieve import Filters
from rag.service import QuestionError

router = APIRouter(prefix="/v1", tags=["questions"])
ERRORS = {400: {"model": ErrorBody}, 422: {"model": ErrorBody}}


@router.post("/ask", response_model=AskResult, responses=ERRORS, summary="Answer a question with citations")
def ask(body: AskRequest, service: ServiceDep) -> AskResult:
    filters = body.filters()
    try:
        return service.ask(
            body.question, k=body.k, mode=body.mode,
            filters=Filters(filters.published_from, filters.published_to, filters.sources()),
        )
    except QuestionError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


@router.get("/search", response_model=SearchResult, responses=ERRORS, summary="Ranked passages only")
def search(
    service: ServiceDep,
    q: str = Query(min_length=1, max_length=1000, description="The question or keywords."),
    k: int = Query(default=5, ge=1, le=50),
    mode: str = Query(default="default"),
) -> SearchResult:
    try:
        return service.search(q, k=k, mode=mode)
    except QuestionError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
