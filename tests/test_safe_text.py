"""ui.safe_text.plain in a real browser: hostile strings render as their own text in every Markdown
element, with no link, image, emphasis, LaTeX, icon or colour made from them, and nothing fetched."""

from __future__ import annotations

import json
import re
import string

import pytest
from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    require_browser,
    streamlit_server,
)

from ui.safe_text import WORD_JOINER, plain

HOSTILE = [
    "![x](http://127.0.0.1:9/p.png)",
    "**Your session expired.** [Log in again](http://evil.example/login)",
    "*it* _it_ ~~gone~~ `code` __b__",
    "see http://evil.example/a or www.evil.example or <https://evil.example> or <a@evil.example>",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<img src=x onerror="alert(1)"> <b>bold</b> <script>alert(2)</script>',
    "$\\int_0^1 x\\,dx$ and $$y^2$$ cost $5 to $6",
    ":material/home: :red[red] :blue-background[bg] :rainbow[r] :small[s] :help[tip] :smile: :streamlit:",
    "# heading",
    "> quote",
    "- item",
    "1. item",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "line one\n# line two\n\n---\nline three",
    "[ref][1]\n\n[1]: http://evil.example/ref",
    "footnote[^1]\n\n[^1]: http://evil.example/foot",
    "&amp; &lt;b&gt; \\*not\\* \\\\ back\\slash",
    "weight_ih_l0.evil](http://x) [",
]
MARKDOWN = "[data-testid=stMarkdownContainer], [data-testid=stCaptionContainer]"
MARKDOWN_ELEMENTS = (
    "markdown",
    "caption",
    "error",
    "warning",
    "info",
    "success",
    "checkbox",
    "text_input",
    "radio",
    "pills",
)
RAW_ELEMENTS = ("text", "code", "selectbox", "json")
RAW_TEXT_ELEMENTS = ("text", "code")
MADE_FROM_MARKDOWN = (
    "a, img, strong, em, del, code, h1, h2, h3, h4, h5, h6, blockquote, ul, ol, li, table, hr, sup, "
    ".katex, [data-testid=stIconMaterial], .stMarkdownColoredText, .stMarkdownColoredBackground, "
    ".stMarkdownBadge, streamlit-help-icon"
)


def _words(text: str) -> str:
    """``text`` as it looks: blanks collapsed, plain()'s invisible word joiners dropped."""
    return " ".join(text.replace(WORD_JOINER, "").split())


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_leaves_no_punctuation_unescaped(text):
    rest = re.sub(r"\\.", "", plain(text), flags=re.DOTALL)  # every escape pair, and hard breaks
    rest = re.sub(r"&#(32|9);", "", rest).replace(WORD_JOINER, "")  # leading blanks, autolinks
    assert not set(rest) & set(string.punctuation)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The page of tests/apps/safe_text_app.py, fully rendered, and every URL it requested."""
    require_browser()
    from playwright.sync_api import sync_playwright

    cases = tmp_path_factory.mktemp("safe_text") / "cases.json"
    cases.write_text(json.dumps(HOSTILE), encoding="utf-8")
    app = ROOT / "tests" / "apps" / "safe_text_app.py"
    with streamlit_server(app, {"SAFE_TEXT_CASES": str(cases)}) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(5_000)
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(url)
            last = f".st-key-c{len(HOSTILE) - 1}-json"
            page.wait_for_selector(last, timeout=60_000)
            page.wait_for_selector(f"{last} [data-testid=stJson]", timeout=30_000)
            page.wait_for_timeout(1500)  # lazy Markdown plugins (KaTeX, emoji) would load by now
            yield page, url, requests
        finally:
            browser.close()


def _markdown_texts(page, container: str) -> list[str]:
    return [element.inner_text() for element in page.locator(container).locator(MARKDOWN).all()]


@pytest.mark.browser
def test_the_checks_can_fail_on_unescaped_markdown(rendered):
    page, _, _ = rendered
    assert page.locator(".st-key-control a").count() == 1
    assert page.locator(".st-key-control strong").count() == 1


@pytest.mark.browser
@pytest.mark.parametrize("case", range(len(HOSTILE)))
def test_hostile_strings_render_as_their_own_text(rendered, case):
    page, _, _ = rendered
    original = HOSTILE[case]
    for element in MARKDOWN_ELEMENTS:
        container = f".st-key-c{case}-{element}"
        made = page.locator(container).locator(MARKDOWN).locator(MADE_FROM_MARKDOWN)
        assert made.count() == 0, f"{element} made {made.first.evaluate('e => e.outerHTML')}"
        texts = _markdown_texts(page, container)
        assert texts and all(_words(text) == _words(original) for text in texts), element
    for element in RAW_ELEMENTS:
        container = page.locator(f".st-key-c{case}-{element}")
        assert container.locator(MADE_FROM_MARKDOWN.replace(" code,", "")).count() == 0, element
        if element in RAW_TEXT_ELEMENTS:
            assert _words(container.inner_text()) == _words(original), element


@pytest.mark.browser
def test_line_breaks_are_kept(rendered):
    page, _, _ = rendered
    case = HOSTILE.index("line one\n# line two\n\n---\nline three")
    (text,) = _markdown_texts(page, f".st-key-c{case}-markdown")
    assert [line.strip() for line in text.splitlines()] == ["line one", "# line two", "", "---", "line three"]


@pytest.mark.browser
def test_nothing_is_fetched_from_elsewhere(rendered):
    _, url, requests = rendered
    elsewhere = [r for r in requests if not r.startswith((url, "data:", "blob:"))]
    assert elsewhere == []
