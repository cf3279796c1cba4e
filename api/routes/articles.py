"""The stored articles, so anyone can check a citation against the source text."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path

from api.deps import ServiceDep
from api.schemas import ErrorBody
from rag.models import Article

router = APIRouter(prefix="/v1", tags=["articles"])


@router.get("/articles/{article_id}", response_model=Article, responses={404: {"model": ErrorBody}},
            summary="One stored article (cleaned text, metadata)")
def get_article(service: ServiceDep, article_id: str = Path(min_length=1, max_length=300)) -> Article:
    article = service.article(article_id)
    if article is None:
        raise HTTPException(status_code=404, detail=f"no article with id {article_id!r}")
    return article
