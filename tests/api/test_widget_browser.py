"""The chat widget in a real browser (headless Chromium) against a real `kabar serve`.

Screenshots of the main states go to test-artifacts/widget/.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.settings import Settings
from tests.api.conftest import free_port, running_server
from tests.conftest import ROOT, SAMPLES, SUMMIT_ARTICLE, build_index

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")
expect = playwright_api.expect

CHROMIUM = os.environ.get("KABAR_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "widget"
PHONE = {"width": 390, "height": 780}

HOSTILE = {
    "id": "hostile-kites",
    "title": '<img src=x onerror="window.__kabarXss=1">Festival layang-layang Pangandaran',
    "text": (
        "Festival layang-layang internasional digelar di Pangandaran pada hari Sabtu. "
        "Panitia memasang spanduk bertuliskan <script>window.__kabarXss=2</script> di pantai. "
        'Poster festival memuat <img src=x onerror="window.__kabarXss=3"> sebagai gambar. '
        "Festival itu diikuti 40 peserta dari 12 negara."
    ),
    "source": "<b>Kabar Pantai</b>", "published": "2024-07-13", "lang": "id",
    "url": "javascript:window.__kabarXss=4",
}

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set KABAR_CHROMIUM)")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=PHONE)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(str(error)))
    tab.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    tab.problems = problems
    yield tab
    context.close()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Iterator[str]:
    """`kabar serve` with the real e5 model over the sample articles and one hostile article."""
    folder = tmp_path_factory.mktemp("widget-archive")
    corpus = folder / "hostile.jsonl"
    corpus.write_text(json.dumps(HOSTILE) + "\n", encoding="utf-8")
    settings: Settings = build_index(folder / "index", "e5", cache_dir, paths=[SAMPLES, corpus])
    # The six-layer reader these answers were written against: the deep default misses the follow-up's list
    # of ministers (a known limit, tests/rag/reader/test_reader.py); the widget's behaviour is what is tested here.
    with running_server(settings.index_dir, settings.cache_dir, KABAR_READER="fast") as base:
        yield base


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def chat(page):
    return page.locator("kabar-chat")


def open_and_ask(page, question: str) -> None:
    box = chat(page).locator("textarea")
    if not box.is_visible():  # the panel is closed: open it with the launcher
        chat(page).get_by_role("button", name=re.compile("Ask the news archive|Tanya arsip berita")).click()
    box.fill(question)
    box.press("Enter")


def last_reply(page):
    return chat(page).locator(".msg.bot").last


def wait_for_reply(page) -> None:
    expect(last_reply(page)).not_to_have_attribute("aria-busy", "true", timeout=30_000)


# -- the main path ----------------------------------------------------------------------------

def test_the_answer_streams_in_with_a_citation_that_opens_the_highlighted_span(page, archive):
    page.goto(archive + "/")
    open_and_ask(page, "where is the 2025 summit?")
    wait_for_reply(page)
    reply = last_reply(page)
    expect(reply.locator(".answer")).to_contain_text("Kazakhstan")
    # An English question gets the sentence and no short answer from the six-layer reader served here: it is
    # trusted with Indonesian questions only (the deep default gives one: tests/rag/reader/test_reader.py).
    expect(reply.locator(".headline")).to_have_count(0)
    citation = reply.locator("button.citation")
    expect(citation).to_contain_text("Radio Bharata Online")
    expect(citation).to_contain_text("2 December 2024")
    expect(reply.locator("details.sources summary")).to_have_text("Sources (5)")
    shot(page, "answer")

    reply.locator("button.cite").click()
    mark = chat(page).locator(".reader mark")
    expect(mark).to_contain_text("Kazakhstan pada tahun 2025")
    shot(page, "article-view")

    # The article page served by the API highlights the same characters.
    link = chat(page).get_by_role("link", name="Open the article page").get_attribute("href")
    assert re.search(rf"/articles/{SUMMIT_ARTICLE}#\d+-\d+$", link)
    article_page = page.context.new_page()
    article_page.goto(link)
    expect(article_page.locator("mark#cited")).to_contain_text("Kazakhstan pada tahun 2025")
    article_page.close()

    chat(page).get_by_role("button", name="Back to the conversation").click()
    expect(chat(page).get_by_role("textbox")).to_be_focused()
    assert page.problems == []


def test_the_short_answer_is_the_headline_and_is_marked_in_its_sentence_and_the_article(page, archive):
    page.goto(archive + "/?lang=id")
    open_and_ask(page, "Di mana KTT 2025 akan digelar?")
    wait_for_reply(page)
    reply = last_reply(page)
    expect(reply.locator(".headline")).to_contain_text("Kazakhstan")
    expect(reply.locator(".answer strong.span")).to_contain_text("Kazakhstan")
    shot(page, "short-answer")
    reply.locator("button.cite").click()
    expect(chat(page).locator(".reader mark strong.span")).to_contain_text("Kazakhstan")
    assert page.problems == []


def test_a_question_the_archive_cannot_answer_is_said_plainly(page, archive):
    page.goto(archive + "/")
    open_and_ask(page, "Why did Saudi Arabia stop issuing umrah permits?")
    wait_for_reply(page)
    expect(last_reply(page).locator(".no-answer")).to_have_text("No answer found in the archive.")
    expect(last_reply(page).locator(".answer")).to_have_count(0)
    shot(page, "no-answer")


def test_a_follow_up_uses_the_conversation_and_survives_a_reload(page, archive):
    page.goto(archive + "/")
    open_and_ask(page, "where is the 2025 summit?")
    wait_for_reply(page)
    open_and_ask(page, "siapa saja menteri yang hadir di sana?")
    wait_for_reply(page)
    expect(last_reply(page).locator(".answer")).to_contain_text("turut hadir")
    shot(page, "follow-up")

    page.reload()
    open_and_ask(page, "and what did Wang Yi say?")
    wait_for_reply(page)
    expect(chat(page).locator(".msg.user")).to_have_count(3)
    expect(chat(page).locator(".msg.bot .answer").first).to_contain_text("Kazakhstan")
    expect(last_reply(page).locator(".answer")).to_contain_text("Wang Yi")

    chat(page).get_by_role("button", name="New conversation").click()
    expect(chat(page).locator(".msg")).to_have_count(0)
    page.reload()
    chat(page).get_by_role("button", name="Ask the news archive").click()
    expect(chat(page).locator(".msg")).to_have_count(0)


def test_article_text_and_titles_never_run_as_html(page, archive):
    page.goto(archive + "/")
    open_and_ask(page, "Berapa peserta festival layang-layang di Pangandaran?")
    wait_for_reply(page)
    reply = last_reply(page)
    expect(reply).to_contain_text("40 peserta")
    reply.locator("details.sources summary").click()
    expect(reply.locator("details.sources")).to_contain_text('<img src=x onerror="window.__kabarXss=1">Festival')
    expect(reply.locator("details.sources")).to_contain_text("<b>Kabar Pantai</b>")
    reply.locator("button.source").first.click()
    reader = chat(page).locator(".reader")
    expect(reader.locator(".body")).to_contain_text("<script>window.__kabarXss=2</script>")
    expect(reader.get_by_role("link", name="Original article")).to_have_count(0)  # a javascript: URL is no link
    expect(reader.locator("img, script, b")).to_have_count(0)

    page.goto(archive + "/articles/hostile-kites#0-10")
    expect(page.locator("#article-text")).to_contain_text('<img src=x onerror="window.__kabarXss=3">')
    page.wait_for_timeout(300)  # an injected onerror handler would have fired by now
    assert page.evaluate("window.__kabarXss") is None
    assert page.problems == []


# -- language, keyboard, theme, small screens ----------------------------------------------------

def test_indonesian_text_keyboard_use_and_escape(page, archive):
    page.goto(archive + "/?lang=id")
    launcher = chat(page).get_by_role("button", name="Tanya arsip berita")
    for _ in range(10):  # the launcher comes after the page's own links, in page order
        page.keyboard.press("Tab")
        if launcher.evaluate("element => element.getRootNode().activeElement === element"):
            break
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    expect(chat(page).get_by_role("dialog", name="Tanya arsip")).to_be_visible()
    box = chat(page).get_by_role("textbox", name="Pertanyaan Anda")
    expect(box).to_be_focused()
    page.keyboard.type("Berapa orang tewas dalam tanah longsor di Papua Nugini?")
    page.keyboard.press("Enter")
    wait_for_reply(page)
    expect(last_reply(page).locator(".no-answer")).to_have_text("Tidak ada jawaban di arsip.")
    expect(chat(page).get_by_role("log", name="Percakapan")).to_be_visible()
    page.keyboard.press("Escape")
    expect(chat(page).get_by_role("dialog")).to_be_hidden()
    expect(launcher).to_be_focused()


def test_the_panel_fits_a_phone_and_follows_the_dark_preference(page, archive):
    page.emulate_media(color_scheme="dark")
    page.goto(archive + "/")
    chat(page).get_by_role("button", name="Ask the news archive").click()
    panel = chat(page).get_by_role("dialog", name="Ask the archive")
    box = panel.bounding_box()
    assert box["width"] <= PHONE["width"] and box["height"] <= PHONE["height"]
    background = panel.evaluate("element => getComputedStyle(element).backgroundColor")
    assert _brightness(background) < 60, background
    shot(page, "dark-phone")
    page.emulate_media(color_scheme="light")
    background = panel.evaluate("element => getComputedStyle(element).backgroundColor")
    assert _brightness(background) > 200, background


def _brightness(css_color: str) -> float:
    red, green, blue = (int(v) for v in re.findall(r"\d+", css_color)[:3])
    return (red + green + blue) / 3


# -- errors, other origins ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def limited_archive(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path, host_pages) -> Iterator[str]:
    """A server that allows browsers from the allowed host page only, and one question a minute."""
    index = tmp_path_factory.mktemp("limited") / "index"
    settings = build_index(index, "hashing", cache_dir)
    with running_server(settings.index_dir, settings.cache_dir, KABAR_RATE_LIMIT_ASK="1/minute",
                        KABAR_CORS_ORIGINS=json.dumps([host_pages["allowed_origin"]])) as base:
        yield base


@pytest.fixture(scope="module")
def host_pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A news site on another origin that embeds the widget, with hostile styles of its own."""
    folder = tmp_path_factory.mktemp("news-site")
    port = free_port()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", port), functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"folder": str(folder), "allowed_origin": f"http://127.0.0.1:{port}",
           "other_origin": f"http://localhost:{port}"}
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def news_site(host_pages, endpoint: str, script_from: str | None = None) -> str:
    page = f"""<!doctype html><html lang="id"><head><meta charset="utf-8">
<style>* {{ color: rgb(255, 0, 0) !important; font-size: 40px !important; }} button {{ display: none !important; }}</style>
<script src="{script_from or endpoint}/widget.js" defer></script></head>
<body><h1>Berita hari ini</h1>
<kabar-chat id="inline" mode="inline" lang="en" endpoint="{endpoint}"></kabar-chat></body></html>"""
    name = f"site-{abs(hash((endpoint, script_from)))}.html"
    Path(host_pages["folder"], name).write_text(page, encoding="utf-8")
    return name


def ask_inline(page, question: str) -> None:
    box = chat(page).get_by_role("textbox")
    box.fill(question)
    chat(page).get_by_role("button", name="Send").click()
    wait_for_reply(page)


def test_a_site_on_an_allowed_origin_gets_answers_then_a_rate_limit_message(page, limited_archive, host_pages):
    page.goto(f"{host_pages['allowed_origin']}/{news_site(host_pages, limited_archive)}")
    ask_inline(page, "Menteri Luar Negeri Kirgistan di Chengdu")
    reply = last_reply(page)
    expect(reply.locator(".answer, .no-answer")).to_have_count(1)
    expect(reply.locator(".error")).to_have_count(0)
    style = reply.evaluate("element => [getComputedStyle(element).color, getComputedStyle(element).fontSize]")
    assert style[0] != "rgb(255, 0, 0)" and style[1] == "15px", f"the host page's styles leaked in: {style}"

    ask_inline(page, "Menteri Luar Negeri Kirgistan di Chengdu")
    expect(last_reply(page).get_by_role("alert")).to_contain_text(re.compile(r"Too many questions .* \d+ seconds"))
    shot(page, "rate-limited")


def test_a_site_on_another_origin_is_refused_with_a_message(page, limited_archive, host_pages):
    page.goto(f"{host_pages['other_origin']}/{news_site(host_pages, limited_archive)}")
    ask_inline(page, "Menteri Luar Negeri Kirgistan di Chengdu")
    expect(last_reply(page).get_by_role("alert")).to_have_text(
        "Cannot reach the archive server. Check the connection and try again.")


def test_a_server_that_is_down_and_a_bad_question_get_messages(page, archive, host_pages):
    page.goto(archive + "/")
    chat(page).get_by_role("button", name="Ask the news archive").click()
    chat(page).evaluate("element => element.ask('\\u0000\\u0000')")
    wait_for_reply(page)
    expect(last_reply(page).get_by_role("alert")).to_have_text("question is empty")

    dead = f"http://127.0.0.1:{free_port()}"
    page.goto(f"{host_pages['allowed_origin']}/{news_site(host_pages, dead, script_from=archive)}")
    ask_inline(page, "where is the 2025 summit?")
    expect(last_reply(page).get_by_role("alert")).to_have_text(
        "Cannot reach the archive server. Check the connection and try again.")
    shot(page, "server-down")


# -- a language model writes the answer ------------------------------------------------------------

@pytest.fixture(scope="module")
def llm_archive(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Iterator[tuple]:
    """`kabar serve` with a scripted chat-completions server on loopback as its language model."""
    from tests.fake_llm import FakeLLM

    settings = build_index(tmp_path_factory.mktemp("llm-archive") / "index", "hashing", cache_dir)
    with FakeLLM("unsupported") as llm, running_server(
            settings.index_dir, settings.cache_dir, KABAR_LLM_URL=llm.url, KABAR_LLM_RETRIES="0",
            KABAR_MIN_ANSWER_CONFIDENCE="0", KABAR_READER="off") as base:
        yield base, llm


def test_a_written_answer_streams_in_and_an_unsupported_claim_is_greyed_not_stated(page, llm_archive):
    base, llm = llm_archive
    llm.behaviour = "unsupported"
    page.goto(base + "/?lang=id")
    open_and_ask(page, "Di mana KTT 2025 akan digelar?")
    wait_for_reply(page)
    reply = last_reply(page)
    expect(reply.locator(".generated .claim.supported")).to_have_count(1)
    unsupported = reply.locator(".generated .claim.unsupported")
    expect(unsupported).to_contain_text("7431")
    expect(unsupported).to_contain_text("tidak didukung oleh sumber yang dikutip")  # said to screen readers too
    assert "line-through" in unsupported.evaluate("e => getComputedStyle(e).textDecorationLine")
    expect(reply.locator(".generated button.cite")).to_have_count(1)  # only the supported claim links to a source
    expect(reply.locator(".answer")).to_be_visible()  # the extractive answer stays
    shot(page, "generated-answer")
    reply.locator(".generated button.cite").click()
    expect(chat(page).locator(".reader mark")).not_to_be_empty()
    chat(page).get_by_role("button", name="Kembali ke percakapan").click()

    llm.behaviour = "error"
    open_and_ask(page, "Di mana KTT 2025 akan digelar?")
    wait_for_reply(page)
    expect(last_reply(page).locator(".llm-error")).to_contain_text("Kali ini tidak ada jawaban tertulis")
    expect(last_reply(page).locator(".answer")).to_be_visible()
    assert page.problems == []
