"""What a news page wraps around its story, and how to cut it away.

Indexed boilerplate answers questions the article never answers (a related-headlines
list about a stabbing in China makes "how many died?" look answerable), so it is removed
before chunking rather than down-weighted after retrieval.
"""

from __future__ import annotations

import re

# A line that is exactly one of these headings ends the story: what follows is comments,
# related-article lists, share buttons or ads.
_END_HEADINGS = re.compile(
    r"^(komentar|berita lainnya|terkini lainnya|berita terkait|artikel terkait|artikel lainnya|"
    r"baca juga|populer|terpopuler|berita populer|rekomendasi|rekomendasi untuk anda|pilihan untuk anda|"
    r"lihat juga|tag|tags|topik|topik terkait|bagikan artikel ini.*|close ads|"
    r"related( articles| news| stories)?|read more|more stories|comments?|most read|share this( article)?)"
    r"\s*:?$",
    re.IGNORECASE,
)

# Lines dropped wherever they appear: cross-links, promos, ad slots, login prompts.
_DROP_LINES = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^(baca|lihat|simak|tonton)\s+(juga|pula|selengkapnya)\b.*",
        r"^baca berita tanpa iklan\b.*",
        r"^gabung\s+\S+\+?$",
        r"^simak breaking news\b.*",
        r".*whatsapp\.com/channel.*",
        r".*\b(ikuti|follow)\b.*\b(whatsapp|google news|telegram|instagram)\b.*",
        r"^download aplikasi\b.*",
        r"^login untuk\b.*",
        r"^(banner|advertisement|iklan|ads|scroll to continue.*|oke|close ads|bagikan artikel ini.*)$",
        r"^(penulis|editor|sumber|reporter|kontributor)\s*:?$",
        # Subscription promos: "Berlangganan Kompas.id sekarang dan dapatkan diskon 50%!", "Subscribe now…"
        r"^(berlangganan|langganan|subscribe|sign up|daftar sekarang)\b.{0,160}$",
        r"^.{0,80}\b(diskon|promo|gratis|free trial)\b.{0,80}\b(berlangganan|langganan|subscribe|premium)\b.*$",
    )
]


def is_end_heading(line: str) -> bool:
    return bool(_END_HEADINGS.match(line.strip()))


def is_droppable(line: str) -> bool:
    stripped = line.strip()
    return any(pattern.match(stripped) for pattern in _DROP_LINES)


def story_lines(lines: list[str]) -> list[str]:
    """The story's lines: stop at the first end heading, drop promo and cross-link lines."""
    kept: list[str] = []
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        if is_end_heading(stripped):
            break
        if is_droppable(stripped):
            continue
        kept.append(" ".join(stripped.split()))
    return kept


def join_paragraphs(lines: list[str]) -> str:
    return "\n\n".join(lines)
