"""The stored articles, so anyone can check a citation against the source text."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path

from api.deps import AskScope, ServiceDep
from api.schemas import ErrorBody
from rag.models import Article

router = APIRouter(prefix="/v1", tags=["articles"])


@router.get("/articles/{article_id}", response_model=Article,
            responses={code: {"model": ErrorBody} for code in (401, 403, 404, 429)},
            summary="One stored article (cleaned text, metadata)")
def get_article(service: ServiceDep, _: AskScope, article_id: str = Path(min_length=1, max_length=300)) -> Article:
    article = service.article(article_id) if service.ready else None
    if article is None:
        raise HTTPException(status_code=404, detail=f"no article with id {article_id!r}")
    return article
