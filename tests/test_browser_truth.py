"""Truth on screen in a real browser (issue 7): every equation renders, none is raw or red LaTeX.

The Equations and Step-through pages are opened through links for every cell and GRU convention,
the relu RNN, 2 layers, bidirectional and a projected LSTM (three links, each enabling all five
cells). In the main column there must be rendered KaTeX (``.katex``), no KaTeX error element
(``.katex-error``: what KaTeX draws, in red, for LaTeX it cannot parse) and no LaTeX source in the
text a person reads (``\\frac``, ``\\odot``, ``&=``, ``\\begin{aligned}`` ...). Step through is read
only through what is visible, so the checks hold for any way of drawing it.

Needs Debian's chromium (see tests/browser_support.py); uses the shared server and browser fixtures.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000
ALL_CELLS = "rnn,lstm,gru,mingru,minlstm"

LINKS = {
    "pytorch-gru-tanh-1layer": f"cells={ALL_CELLS}&gru=pytorch&nl=tanh&hidden=4&len=6",
    "tutorial-gru-relu-2layers-bidir-proj": (
        f"cells={ALL_CELLS}&gru=tutorial&nl=relu&proj=3&layers=2&bidir=1&hidden=4&len=6"
    ),
    "projected-lstm-relu-all-steps": f"cells={ALL_CELLS}&proj=2&nl=relu&hidden=4&len=5&loss=all",
}

RAW_LATEX = re.compile(r"\\[A-Za-z]+|&=|\\\\|\^\{|_\{\\")
"""LaTeX source a reader would see as text: a command, an alignment mark, a line break, a brace power."""

# Every piece of text a person can see in the main column, also inside open shadow roots (a component
# may draw there): prose, chart text (plotly's SVG) and the rendered formulas, whose visible part holds no
# backslash (KaTeX draws a command it does not know as red source text, without an error element).
# The hidden MathML copy of each formula's source is left out.
VISIBLE_TEXT = """() => {
    const texts = [];
    const skip = '.katex-mathml, style, script, noscript, template';
    const visit = (root) => {
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT, {
            acceptNode: (n) => n.nodeType === Node.ELEMENT_NODE
                ? (n.matches(skip) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_SKIP)
                : NodeFilter.FILTER_ACCEPT,
        });
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const parent = n.parentElement;
            if (parent && parent.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) {
                texts.push(n.textContent);
            }
        }
        root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) visit(e.shadowRoot); });
    };
    visit(document.querySelector('[data-testid="stMain"]'));
    return texts.join('\\n');
}"""

MAIN = '[data-testid="stMain"]'


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 1400})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def _settle(page) -> None:
    """Wait until the run has finished and every element is drawn (no loading skeleton is left)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    page.wait_for_function("() => document.querySelectorAll('[data-testid=stSkeleton]').length === 0")
    page.wait_for_timeout(300)


def _open(page, server: str, title: str, link: str) -> None:
    """The page called ``title`` with the link's settings: the link opens the app, the sidebar's
    navigation the page (whichever page is the app's first)."""
    page.goto(f"{server}/?{link}")
    _settle(page)
    nav = page.locator('[data-testid="stSidebarNav"] a').filter(has=page.get_by_text(title, exact=True))
    target = urlparse(nav.get_attribute("href")).path.rstrip("/")
    if urlparse(page.url).path.rstrip("/") != target:
        nav.click()
        page.wait_for_url(lambda url: urlparse(url).path.rstrip("/") == target)
        _settle(page)
    page.locator(f"{MAIN} .katex").first.wait_for()


def _initial_state_shown(page) -> bool:
    """Whether a rendered formula has a subscript -1 (h_{-1}, c_{-1}: the state before step 0).

    KaTeX ends a subscript's box with a zero-width space, which a number such as -1.2 does not have.
    """
    formulas = page.locator(f"{MAIN} .katex").all_text_contents()
    return any(re.search("[\u2212-]1\u200b", text) for text in formulas)


def _check(page, what: str, least: int) -> None:
    main = page.locator(MAIN)
    assert page.locator('[data-testid="stException"]').count() == 0, f"{what}: an exception is shown"
    errors = main.locator(".katex-error")
    assert errors.count() == 0, f"{what}: KaTeX could not render {errors.first.get_attribute('title')!r}"
    shown = main.locator(".katex").count()
    assert shown >= least, f"{what}: {shown} rendered formulas, expected at least {least}"
    raw = sorted(set(RAW_LATEX.findall(page.evaluate(VISIBLE_TEXT))))
    assert not raw, f"{what}: LaTeX source visible as text: {raw}"


@pytest.mark.parametrize("link", LINKS, ids=list(LINKS))
def test_equations_page_renders_every_equation(page, server, link):
    _open(page, server, "Equations", LINKS[link])
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=stMain] :is(.katex-display, .katex-error)')"
        ".length >= n",
        arg=10,
    )
    titles = page.locator('[data-testid="stMain"] h2').all_inner_texts()
    for cell in ("RNN", "LSTM", "GRU", "minGRU", "minLSTM"):
        assert any(t.startswith(cell) for t in titles), f"{cell} missing from {titles}"
    if "relu" in link:
        assert any(t.startswith("RNN (relu)") for t in titles)
    convention = "tutorial" if "tutorial" in link else "PyTorch"
    assert any(t.startswith(f"GRU ({convention})") for t in titles)
    # forward and backward of each of the five cells: ten display blocks at least
    _check(page, f"Equations, {link}", least=10)


@pytest.mark.parametrize("link", LINKS, ids=list(LINKS))
def test_step_through_page_renders_every_equation(page, server, link):
    _open(page, server, "Step through", LINKS[link])
    # each of the five columns shows its forward and backward equations at t = 0, where the state
    # before is the initial one: h_{-1} (c_{-1})
    _check(page, f"Step through t = 0, {link}", least=10)
    assert _initial_state_shown(page), "no initial state (h_{-1}) shown at t = 0"
