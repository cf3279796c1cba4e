"""Paths in, `Article`s out: text pages, HTML pages and JSONL corpora.

Each record is yielded with where it came from, and a bad record becomes an
`IngestError` the caller reports, so one broken line never sinks a whole corpus.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ValidationError

from rag.ingest.boilerplate import join_paragraphs, story_lines
from rag.ingest.dates import parse_iso_date
from rag.ingest.html_page import parse_html
from rag.ingest.page_text import parse_page_text
from rag.ingest.validation import DEFAULT_MAX_ARTICLE_BYTES, id_problem, size_problem, text_problem
from rag.models import Article
from rag.text import sanitize

# A page whose story, once boilerplate is cut, has fewer words than this is not an article
# (a promo, a cookie wall, a list of links); the .txt and .html paths share the rule.
MIN_PAGE_WORDS = 12

TEXT_SUFFIXES = {".txt", ".text"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
CORPUS_SUFFIXES = {".jsonl", ".ndjson"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | CORPUS_SUFFIXES


class IngestError(BaseModel):
    location: str
    message: str


class CorpusRecord(BaseModel):
    """One line of a corpus.jsonl (see the datasets' FORMAT.md)."""

    id: str
    title: str | None = None
    text: str
    source: str | None = None
    published: str | None = None
    lang: str | None = None
    url: str | None = None
    author: str | None = None


def expand_paths(paths: list[Path]) -> tuple[list[Path], list[IngestError]]:
    """Files to read, in a stable order; a missing path is an error, not a silent skip."""
    files: list[Path] = []
    errors: list[IngestError] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES))
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                files.append(path)
            else:
                errors.append(IngestError(location=str(path), message=f"unsupported file type {path.suffix!r}"))
        else:
            errors.append(IngestError(location=str(path), message="no such file or directory"))
    return files, errors


def count_records(files: list[Path]) -> int:
    """How many articles `read_articles` will yield (at most): for progress bars with an ETA."""
    total = 0
    for path in files:
        if path.suffix.lower() in CORPUS_SUFFIXES:
            with path.open("rb") as handle:
                total += sum(1 for line in handle if line.strip())
        else:
            total += 1
    return total


def read_articles(files: list[Path], max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES
                  ) -> Iterator[Article | IngestError]:
    for path in files:
        suffix = path.suffix.lower()
        try:
            if suffix not in CORPUS_SUFFIXES and (problem := size_problem(path.stat().st_size, max_article_bytes)):
                # Checked before reading: a 50 MB "page" is never loaded whole.
                yield IngestError(location=str(path), message=problem)
                continue
            data = path.read_bytes()
        except OSError as exc:
            yield IngestError(location=str(path), message=f"cannot read: {exc.strerror or exc}")
            continue
        yield from _articles_in(path, data, max_article_bytes)


def articles_from_upload(filename: str, data: bytes,
                         max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES) -> list[Article | IngestError]:
    """An uploaded file, parsed by its extension exactly as `kabar ingest` would read it from disk."""
    path = Path(Path(filename).name or "upload.txt")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return [IngestError(location=path.name, message=f"unsupported file type {suffix!r}")]
    if suffix not in CORPUS_SUFFIXES and (problem := size_problem(len(data), max_article_bytes)):
        return [IngestError(location=path.name, message=problem)]
    return list(_articles_in(path, data, max_article_bytes))


def _articles_in(path: Path, data: bytes, max_article_bytes: int) -> Iterator[Article | IngestError]:
    suffix = path.suffix.lower()
    raw = sanitize(data.decode("utf-8", errors="replace"))
    if suffix in CORPUS_SUFFIXES:
        yield from _corpus_articles(path, raw, max_article_bytes)
        return
    if problem := text_problem(raw):
        yield IngestError(location=str(path), message=problem)
        return
    yield _page_article(path, raw, html=suffix in HTML_SUFFIXES)


def _page_article(path: Path, raw: str, *, html: bool) -> Article | IngestError:
    fields = parse_html(raw) if html else parse_page_text(raw)
    if not fields.text.strip():
        return IngestError(location=str(path), message="no article text found")
    if len(fields.text.split()) < MIN_PAGE_WORDS:
        return IngestError(location=str(path), message=f"only boilerplate: the story has fewer than "
                           f"{MIN_PAGE_WORDS} words once links, promos and ads are cut")
    if problem := id_problem(path.stem):
        return IngestError(location=str(path), message=problem)
    return Article(
        id=path.stem,
        title=fields.title,
        text=fields.text,
        source=fields.source,
        author=fields.author,
        published=fields.published,
    )


def _corpus_articles(path: Path, raw: str, max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES
                     ) -> Iterator[Article | IngestError]:
    first_line_of: dict[str, int] = {}
    for line_number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        location = f"{path}:{line_number}"
        if problem := size_problem(len(line.encode("utf-8")), max_article_bytes):
            yield IngestError(location=location, message=problem)
            continue
        try:
            record = CorpusRecord.model_validate(json.loads(line))
            published = parse_iso_date(record.published)
        except json.JSONDecodeError as exc:
            yield IngestError(location=location, message=f"invalid JSON: {exc.msg}")
            continue
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors())
            yield IngestError(location=location, message=problems)
            continue
        except ValueError as exc:
            yield IngestError(location=location, message=str(exc))
            continue
        article_id = record.id.strip()
        if problem := id_problem(article_id):
            yield IngestError(location=location, message=problem)
            continue
        if article_id in first_line_of:
            yield IngestError(location=location, message=f"duplicate id {article_id!r}: line "
                              f"{first_line_of[article_id]} of this file already has it; this line is skipped")
            continue
        first_line_of[article_id] = line_number
        if problem := text_problem(record.text):
            yield IngestError(location=location, message=problem)
            continue
        text = join_paragraphs(story_lines(record.text.splitlines()))
        if not text:
            yield IngestError(location=location, message="no text once links, promos and ads are cut")
            continue
        yield Article(
            id=article_id,
            title=(record.title or None),
            text=text,
            source=record.source,
            url=record.url,
            author=record.author,
            published=published,
            lang=record.lang,
        )
