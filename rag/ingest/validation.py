"""What Kabar refuses to store, and why: one rule for every way an article comes in.

The CLI, the JSONL reader, file uploads and the JSON API all call these checks, so an article
that one path rejects is never stored through another, and every stored article can be
fetched and deleted by its id through the API.
"""

from __future__ import annotations

import re
import unicodedata

# An id is one URL path segment and one file name: no slashes, no control characters, not "." or "..".
# Written without look-arounds, so JSON Schema tools (and the fuzzer) can use it as it is.
_C = r"[^/\\\x00-\x1f\x7f]"
_D = r"[^/\\\x00-\x1f\x7f.]"
ARTICLE_ID_PATTERN = rf"^(?:{_D}{_C}*|\.{_D}{_C}*|\.\.{_C}+)$"
MAX_ID_CHARS = 300
_ID = re.compile(ARTICLE_ID_PATTERN)

# Why 2 MB: the longest real news pages in the shared corpora are under 100 KB of text, and a
# long report or transcript stays under 1 MB; 2 MB of text is ~3,500 chunks and several minutes
# of embedding on this machine. A larger "article" is a mistake (a log file, a dump), and reading
# one whole cost 1.5 GB of memory and minutes with no message.
DEFAULT_MAX_ARTICLE_BYTES = 2_000_000

_ALLOWED_CONTROLS = {"\n", "\t", "\r", "\f"}
_WORD = re.compile(r"[^\W\d_]{2,}")


def id_problem(article_id: str) -> str | None:
    """Why `article_id` cannot be stored, or None."""
    if not article_id or not article_id.strip():
        return "the id is empty"
    if len(article_id) > MAX_ID_CHARS:
        return f"the id is longer than {MAX_ID_CHARS} characters"
    if not _ID.match(article_id):
        return (f"the id {article_id[:60]!r} is not allowed: ids cannot contain '/', '\\' or control "
                "characters, and cannot be '.' or '..'")
    return None


def size_problem(size_bytes: int, limit: int) -> str | None:
    if size_bytes > limit:
        return (f"{size_bytes / 1e6:.1f} MB is larger than the {limit / 1e6:g} MB an article may have "
                "(KABAR_MAX_ARTICLE_BYTES); skipped")
    return None


def text_problem(text: str) -> str | None:
    """Why `text` is not prose worth storing (a binary file, another encoding, no words), or None.

    `text` is the decoded file or record: undecodable bytes show up as U+FFFD.
    """
    if not text.strip():
        return "no text"
    visible = [c for c in text if not c.isspace()]
    undecodable = text.count("\ufffd")
    if undecodable > max(3, 0.01 * len(visible)):
        return f"not UTF-8 text: {undecodable} undecodable bytes (a binary file, or another encoding)"
    controls = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in _ALLOWED_CONTROLS)
    if controls > max(3, 0.01 * len(visible)):
        return f"not text: {controls} control characters (a binary file?)"
    letters = sum(1 for c in visible if c.isalpha())
    # Tables of names and dates are mostly digits and still text; a line of symbols is not.
    if letters < 0.2 * len(visible) or not _WORD.search(text):
        return "no words: the text is mostly symbols or digits"
    return None
