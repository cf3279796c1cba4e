"""What a browser opens: the demo page, the widget script, and a readable article page.

Article titles and text are untrusted input (anyone with an admin key, or any crawled page,
put them there): pages escape them, and a Content-Security-Policy that allows only this
server's own scripts is the second wall if escaping were ever missed.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from importlib import resources
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import AskScope, ServiceDep
from rag.models import Article

router = APIRouter(include_in_schema=False)

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'self'"
)
_PAGE_HEADERS = {"Content-Security-Policy": PAGE_POLICY, "X-Content-Type-Options": "nosniff",
                 "Referrer-Policy": "no-referrer"}
_STATIC_TYPES = {"article.js": "text/javascript; charset=utf-8", "page.css": "text/css; charset=utf-8"}


@lru_cache(maxsize=None)
def static_file(name: str) -> str:
    return resources.files("api").joinpath("static", name).read_text(encoding="utf-8")


def _fill(template: str, **values: str) -> str:
    """One pass, so a value that happens to contain "{text}" is never filled in itself."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


@router.get("/widget.js")
def widget() -> Response:
    """Served to any page: a script tag is not a cross-origin read. The API it calls is CORS-checked."""
    return Response(static_file("widget.js"), media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"})


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in _STATIC_TYPES:
        raise HTTPException(status_code=404, detail="no such file")
    return Response(static_file(name), media_type=_STATIC_TYPES[name],
                    headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"})


@router.get("/", response_class=HTMLResponse)
def demo(request: Request, service: ServiceDep, lang: str = Query(default="en", pattern="^(en|id)$")) -> HTMLResponse:
    count = service.snapshot.store.counts()["articles"] if service.ready else 0
    origin = str(request.base_url).rstrip("/")
    page = _fill(static_file("demo.html"), article_count=str(count), origin=html.escape(origin), lang=lang)
    return HTMLResponse(page, headers=_PAGE_HEADERS)


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article_page(service: ServiceDep, _: AskScope, article_id: str = Path(min_length=1, max_length=300)) -> HTMLResponse:
    """The article as a page; `#start-end` in the address highlights the cited characters."""
    article = service.article(article_id) if service.ready else None
    if article is None:
        raise HTTPException(status_code=404, detail=f"no article with id {article_id!r}")
    return HTMLResponse(render_article(article), headers=_PAGE_HEADERS)


def render_article(article: Article) -> str:
    meta = " · ".join(part for part in (article.source, str(article.published or "") or None, article.author) if part)
    original = ""
    if article.url and urlsplit(article.url).scheme in ("http", "https"):
        original = f'<p><a href="{html.escape(article.url)}" rel="noopener noreferrer">Original article</a></p>'
    lang = article.lang if article.lang and article.lang.replace("-", "").isalnum() else "id"
    return _fill(
        static_file("article.html"),
        lang=html.escape(lang), title=html.escape(article.title or article.id), meta=html.escape(meta),
        text=html.escape(article.text), original=original,
    )
