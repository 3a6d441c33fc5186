"""lstmviz.report.view_html: one HTML file that holds its figures, escapes text and loads nothing."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import plotly.graph_objects as go
import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, require_browser

from lstmviz.report import view_html

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
FONT = b"wOF2 fake font bytes"


def _figure(name: str, values: list[float]) -> go.Figure:
    return go.Figure(go.Scatter(y=values, name=name), layout={"title": {"text": name}})


@pytest.fixture
def katex_dir(tmp_path):
    """A stand-in for the vendored KaTeX: a script that marks what it renders, CSS with font URLs."""
    folder = tmp_path / "katex"
    (folder / "fonts").mkdir(parents=True)
    (folder / "katex.min.js").write_text(
        "window.katex = {render: function (tex, el) {"
        " el.className += ' katex'; el.textContent = 'K:' + tex; }};"
    )
    (folder / "katex.min.css").write_text(
        '@font-face{font-family:KaTeX_Main;src:url(fonts/KaTeX_Main-Regular.woff2) format("woff2"),'
        'url(fonts/KaTeX_Main-Regular.woff) format("woff"),url(fonts/KaTeX_Main-Regular.ttf) '
        'format("truetype");font-weight:400}.katex{font:normal 1.21em KaTeX_Main}'
    )
    (folder / "fonts" / "KaTeX_Main-Regular.woff2").write_bytes(FONT)
    return folder


class _Resources(HTMLParser):
    """Every src= and href= of the markup (script bodies are not markup, so not parsed)."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value or "" for name, value in attrs if name in ("src", "href")]


def _remote_loads(page: str) -> list[str]:
    parser = _Resources()
    parser.feed(page)
    styles = " ".join(re.findall(r"<style>(.*?)</style>", page, re.DOTALL))
    css_urls = re.findall(r"url\(\s*['\"]?([^'\")]+)", styles) + re.findall(
        r"@import\s+['\"]?([^'\";]+)", styles
    )
    return [url for url in parser.urls + css_urls if re.match(r"\s*(https?:)?//", url)]


def test_figures_text_and_equations_are_in_one_file_that_loads_nothing(katex_dir):
    page = view_html(
        "Report",
        [
            _figure("first-trace", [0.123456, 7.5]),
            "A paragraph.",
            ["h_t = \\tanh(W x_t)"],
            _figure("second", [3]),
        ],
        katex_dir=katex_dir,
    )
    assert _remote_loads(page) == []
    assert page.count('<div class="figure"') == 2
    assert "first-trace" in page and "0.123456" in page and "second" in page
    assert "window.Plotly" in page  # plotly.js itself, inlined
    assert "<p>A paragraph.</p>" in page
    assert 'data-latex="h_t = \\tanh(W x_t)"' in page and "window.katex" in page


def test_katex_fonts_become_data_uris_and_missing_ones_are_dropped(katex_dir):
    page = view_html("Report", [["x"]], katex_dir=katex_dir)
    assert f"data:font/woff2;base64,{base64.b64encode(FONT).decode()}" in page
    assert "fonts/" not in page and ".ttf" not in page


def test_without_katex_the_latex_source_is_shown(tmp_path):
    page = view_html("Report", [["a < b", "c"]], katex_dir=tmp_path / "absent")
    assert '<pre class="latex">a &lt; b</pre><pre class="latex">c</pre>' in page
    assert "katex" not in page.lower().replace('class="latex"', "")


def test_user_text_is_escaped_everywhere(katex_dir):
    page = view_html(HOSTILE, [HOSTILE, [HOSTILE], _figure(HOSTILE, [1])], katex_dir=katex_dir)
    assert "<img" not in page and 'alert("x")</script>' not in page
    assert "<title>&lt;script&gt;" in page and "<h1>&lt;script&gt;" in page
    assert "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img" in page
    data = re.search(r'<script type="application/json" id="figure-data-1">(.*?)</script>', page, re.DOTALL)
    assert data and "<" not in data.group(1)  # the figure's JSON cannot close its script


def test_only_figures_paragraphs_and_latex_lists_are_sections():
    with pytest.raises(TypeError, match="a section is"):
        view_html("Report", [42])
    assert "window.Plotly" not in view_html("Text only", ["no figures, no plotly.js"])


@pytest.mark.browser
def test_the_file_opens_offline_in_chromium(tmp_path, katex_dir):
    require_browser()
    from playwright.sync_api import sync_playwright

    path = tmp_path / "report.html"
    path.write_text(
        view_html("Report", [_figure("first", [1, 2]), [HOSTILE], HOSTILE], katex_dir=katex_dir),
        encoding="utf-8",
    )
    elsewhere = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(accept_downloads=True)
            page.route(
                re.compile(r"^(?!file:|data:)"),
                lambda route: (elsewhere.append(route.request.url), route.abort()),
            )
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(path.as_uri())
            page.wait_for_selector("div.figure .main-svg", timeout=20_000)
            assert page.locator("div.latex.katex").inner_text() == "K:" + HOSTILE
            assert page.locator("p").inner_text() == HOSTILE
            assert page.locator("img").count() == 0
            for title, start in (("Download plot as SVG", b"<svg"), ("Download plot as a PNG", b"\x89PNG")):
                page.locator("div.figure").hover()
                with page.expect_download() as download:
                    page.locator(f'.modebar-btn[data-title="{title}"]').click()
                assert download.value.suggested_filename.startswith("figure-1.")
                with open(download.value.path(), "rb") as file:
                    assert file.read().startswith(start)
            assert errors == []
        finally:
            browser.close()
    assert elsewhere == []
