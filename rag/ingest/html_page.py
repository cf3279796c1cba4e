"""HTML news pages: trafilatura finds the story and reads the page's own metadata."""

from __future__ import annotations

import trafilatura

from rag.ingest.boilerplate import join_paragraphs, story_lines
from rag.ingest.dates import parse_date, parse_iso_date
from rag.ingest.page_text import DATELINE, PageFields


def parse_html(html: str, url: str | None = None) -> PageFields:
    """Main content and metadata (og:title, article:published_time, author, site name).

    trafilatura parses the markup as data: no script runs and nothing is fetched.
    """
    document = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=False, favor_precision=True
    )
    if document is None:
        return PageFields(title=None, text="", published=None, author=None, source=None)
    fields = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    title = (fields.get("title") or "").strip() or None
    lines = (fields.get("text") or "").splitlines()
    body = story_lines(lines)
    if title and body and body[0] == title:
        body = body[1:]
    published = None
    if fields.get("date"):
        try:
            published = parse_iso_date(fields["date"])
        except ValueError:
            published = parse_date(fields["date"])
    dateline = DATELINE.match(body[0]) if body else None
    source = fields.get("sitename") or (dateline.group("publisher").strip() if dateline else None)
    return PageFields(
        title=title,
        text=join_paragraphs(body),
        published=published,
        author=(fields.get("author") or None),
        source=source,
    )
