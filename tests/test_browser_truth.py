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

# The text of the main column without the rendered formulas (KaTeX keeps each formula's source in a
# hidden MathML annotation), plus the text of every chart (plotly draws it as SVG).
VISIBLE_TEXT = """() => {
    const main = document.querySelector('[data-testid="stMain"]');
    const copy = main.cloneNode(true);
    copy.querySelectorAll('.katex, style, script').forEach(e => e.remove());
    document.body.appendChild(copy);
    copy.style.position = 'absolute';
    const text = copy.innerText;
    copy.remove();
    const charts = [...main.querySelectorAll('svg text')].map(e => e.textContent).join('\\n');
    return text + '\\n' + charts;
}"""


SOURCES = (
    "[...document.querySelectorAll('[data-testid=stMain] .katex-mathml annotation')].map(e => e.textContent)"
)
"""The LaTeX source of every rendered formula in the main column."""


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
    page.wait_for_selector('[data-testid="stMain"] .katex')
    page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0")
    page.wait_for_timeout(300)


def _check(page, what: str, least: int) -> None:
    main = page.locator('[data-testid="stMain"]')
    assert page.locator('[data-testid="stException"]').count() == 0, f"{what}: an exception is shown"
    errors = main.locator(".katex-error")
    assert errors.count() == 0, f"{what}: KaTeX could not render {errors.first.get_attribute('title')!r}"
    shown = main.locator(".katex").count()
    assert shown >= least, f"{what}: {shown} rendered formulas, expected at least {least}"
    raw = sorted(set(RAW_LATEX.findall(page.evaluate(VISIBLE_TEXT))))
    assert not raw, f"{what}: LaTeX source visible as text: {raw}"


@pytest.mark.parametrize("link", LINKS, ids=list(LINKS))
def test_equations_page_renders_every_equation(page, server, link):
    page.goto(f"{server}/equations?{LINKS[link]}")
    _settle(page)
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
    page.goto(f"{server}/?{LINKS[link]}")
    _settle(page)
    # each of the five columns shows its forward and backward equations at t = 0, where the state
    # before is the initial one: h_{-1} (c_{-1})
    _check(page, f"Step through t = 0, {link}", least=10)
    assert any("_{-1}" in source for source in page.evaluate(f"() => {SOURCES}")), "no initial state shown"
