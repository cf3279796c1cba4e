"""Document management: add, replace, delete and list articles; writes run as background jobs."""

from __future__ import annotations

import datetime as dt


from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import TypeAdapter, ValidationError

from api.deps import AdminScope, JobsDep, ServiceDep
from api.schemas import DocumentBatch, DocumentIn, DocumentPage, DocumentSummary, DocumentUpdate, ErrorBody
from rag.ingest.boilerplate import join_paragraphs, story_lines
from rag.ingest.readers import IngestError, articles_from_upload
from rag.ingest.validation import ARTICLE_ID_PATTERN, MAX_ID_CHARS, text_problem
from rag.jobs import Job
from rag.models import Article
from rag.text import sanitize

router = APIRouter(prefix="/v1", tags=["documents"])
ERRORS = {code: {"model": ErrorBody} for code in (400, 401, 403, 404, 413, 415, 422, 429)}
ID_PATH = Path(min_length=1, max_length=MAX_ID_CHARS, pattern=ARTICLE_ID_PATTERN)
_DOCUMENTS = TypeAdapter(DocumentIn | DocumentBatch)

UPLOAD_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"anyOf": [{"$ref": "#/components/schemas/DocumentIn"},
                                                      {"$ref": "#/components/schemas/DocumentBatch"}]}},
            "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                "file": {"type": "string", "format": "binary",
                         "description": "an HTML page, a text page or a .jsonl corpus"}}}},
        },
    }
}


def _article(document: DocumentIn) -> Article | str:
    """The article to store, or why there is none (the same rules as files and JSONL)."""
    text = sanitize(document.text)
    if problem := text_problem(text):
        return problem
    text = join_paragraphs(story_lines(text.splitlines()))
    if not text:
        return "no article text after cleaning"
    return Article(id=document.id, title=document.title, text=text, source=document.source, url=document.url,
                   author=document.author, published=document.published, lang=document.lang)


def _accepted(job: Job, response: Response) -> Job:
    response.status_code = 202
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return job


@router.post("/documents", response_model=Job, status_code=202, responses=ERRORS, openapi_extra=UPLOAD_SCHEMA,
             summary="Add articles: one as JSON, a batch, or an uploaded HTML/text/JSONL file")
async def create_documents(request: Request, response: Response, jobs: JobsDep, _: AdminScope) -> Job:
    content_type = request.headers.get("content-type", "").lower()
    errors: list[str] = []
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise HTTPException(status_code=422, detail="multipart body needs a 'file' field")
        parsed = articles_from_upload(upload.filename or "upload.txt", await upload.read(),
                                      request.app.state.settings.max_article_bytes)
        articles = [a for a in parsed if isinstance(a, Article)]
        errors = [f"{e.location}: {e.message}" for e in parsed if isinstance(e, IngestError)]
        if not articles:
            raise HTTPException(status_code=422, detail="; ".join(errors) or "no article in the upload")
    elif "json" in content_type:
        try:
            payload = _DOCUMENTS.validate_json(await request.body())
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:10])
            raise HTTPException(status_code=422, detail=problems) from None
        documents = payload.documents if isinstance(payload, DocumentBatch) else [payload]
        made = [(d, _article(d)) for d in documents]
        articles = [a for _, a in made if isinstance(a, Article)]
        errors = [f"{d.id}: {a}" for d, a in made if isinstance(a, str)]
        if not articles:
            raise HTTPException(status_code=422, detail="; ".join(errors))
    else:
        raise HTTPException(status_code=415, detail="send application/json or multipart/form-data")
    return _accepted(jobs.submit_articles(articles, errors), response)


@router.put("/documents/{document_id}", response_model=Job, status_code=202, responses=ERRORS,
            summary="Replace (or create) one article")
def replace_document(body: DocumentUpdate, response: Response, jobs: JobsDep, _: AdminScope,
                     document_id: str = ID_PATH) -> Job:
    article = _article(DocumentIn(id=document_id, **body.model_dump()))
    if isinstance(article, str):
        raise HTTPException(status_code=422, detail=article)
    return _accepted(jobs.submit_articles([article]), response)


@router.delete("/documents/{document_id}", response_model=Job, status_code=202, responses=ERRORS,
               summary="Delete one article")
def delete_document(response: Response, service: ServiceDep, jobs: JobsDep, _: AdminScope,
                    document_id: str = ID_PATH) -> Job:
    if not service.ready or service.article(document_id) is None:
        raise HTTPException(status_code=404, detail=f"no article with id {document_id!r}")
    return _accepted(jobs.submit_delete([document_id]), response)


@router.get("/documents", response_model=DocumentPage, responses=ERRORS, summary="List stored articles (paged)")
def list_documents(
    service: ServiceDep, _: AdminScope,
    source: list[str] | None = Query(default=None, max_length=50),
    published_from: dt.date | None = None, published_to: dt.date | None = None,
    page: int = Query(default=1, ge=1, le=1_000_000), page_size: int = Query(default=50, ge=1, le=500),
) -> DocumentPage:
    if not service.ready:
        return DocumentPage(total=0, page=page, page_size=page_size, items=[])
    total, articles = service.snapshot.store.list_articles(published_from, published_to, source,
                                                           (page - 1) * page_size, page_size)
    items = [DocumentSummary(characters=len(a.text), **a.model_dump(exclude={"text"})) for a in articles]
    return DocumentPage(total=total, page=page, page_size=page_size, items=items)


@router.get("/jobs/{job_id}", response_model=Job, responses=ERRORS, summary="State and counts of a background job")
def get_job(jobs: JobsDep, _: AdminScope, job_id: str = Path(min_length=1, max_length=64)) -> Job:
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(status_code=404, detail=f"no job with id {job_id!r}")
    return job


