"""A real browser against `streamlit run app.py`: type a sequence, toggle cells, step through time.

Needs Debian's chromium at /usr/bin/chromium (``.ci/run`` installs it, and sets LSTMVIZ_REQUIRE_BROWSER
so that a missing browser fails instead of skipping) and the ``playwright`` package; never downloads a
browser. Screenshots go to ``test-artifacts/``; the default view becomes ``docs/screenshot.png`` (the README's
image) when that file is missing or ``LSTMVIZ_UPDATE_SCREENSHOT=1`` is set, so that ordinary test runs
leave the committed image alone.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from browser_support import ARTIFACTS, ROOT, streamlit_server

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1500, "height": 1500})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server)
    _settle(page)
    yield page
    context.close()


def _settle(page, charts: int | None = None) -> None:
    """Wait until the app has finished its run (and, if given, shows that many charts)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    page.wait_for_selector(".js-plotly-plot")
    if charts is not None:
        page.wait_for_function(
            "n => document.querySelectorAll('[data-testid=\"stPlotlyChart\"]').length === n", arg=charts
        )
    page.wait_for_timeout(500)  # plotly draws after the element appears


def _titles(page) -> list[str]:
    return page.eval_on_selector_all(".js-plotly-plot .gtitle", "els => els.map(e => e.textContent)")


def _assert_no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def _shot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path)
    return path


def test_default_view_renders_and_is_the_readme_screenshot(page):
    _settle(page, charts=9)
    _assert_no_exception(page)
    titles = _titles(page)
    assert any(t.startswith("RNN · t = 0") for t in titles)
    assert any(t.startswith("LSTM · t = 0") for t in titles)
    assert any(t.startswith("GRU (PyTorch) · t = 0") for t in titles)
    shot = _shot(page, "01-default-step-through")
    readme_image = ROOT / "docs" / "screenshot.png"
    if os.environ.get("LSTMVIZ_UPDATE_SCREENSHOT") or not readme_image.exists():
        readme_image.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, readme_image)


def test_type_a_sequence_toggle_cells_and_step_through(page):
    box = page.locator('[data-testid="stSidebar"] [data-testid="stTextArea"] textarea')
    box.fill("0, 1, 0.5, -1, 2, 0, 0, 1")
    box.press("Control+Enter")
    page.get_by_text("x: 8 steps (t = 0 … 7) × 1 feature (typed)").wait_for()
    _settle(page, charts=9)
    _assert_no_exception(page)
    _shot(page, "02-typed-sequence")

    cells = page.locator('[data-testid="stSidebar"] [data-testid="stButtonGroup"]').filter(has_text="LSTM")
    cells.get_by_role("button", name="RNN", exact=True).click()
    _settle(page, charts=6)
    titles = _titles(page)
    assert not any(t.startswith("RNN") for t in titles) and any(t.startswith("LSTM") for t in titles)
    _assert_no_exception(page)
    _shot(page, "03-rnn-off")

    before = _titles(page)
    page.get_by_role("button", name="Next ▶").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot .gtitle')]"
        ".some(e => e.textContent.startsWith('LSTM · t = 1'))"
    )
    _settle(page, charts=6)
    after = _titles(page)
    assert after != before
    _assert_no_exception(page)
    _shot(page, "04-step-1")


def test_play_advances_the_step_on_its_own(page):
    page.get_by_text("▶ Play").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot .gtitle')]"
        ".some(e => e.textContent.startsWith('LSTM · t = 3'))",
        timeout=30_000,
    )
    page.get_by_text("▶ Play").click()  # pause again
    _settle(page, charts=9)
    _assert_no_exception(page)


def test_bad_input_shows_the_error_and_other_pages_still_work(page):
    box = page.locator('[data-testid="stSidebar"] [data-testid="stTextArea"] textarea')
    box.fill("1, 2, oops")
    box.press("Control+Enter")
    page.get_by_text("'oops' at position 3 is not a number").wait_for()
    _assert_no_exception(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Gradients").click()
    page.get_by_text("Gradient horizon", exact=True).wait_for()
    _settle(page)
    _assert_no_exception(page)
    assert page.locator('[data-testid="stAlertContentError"]').count() >= 1
    _shot(page, "05-gradients-after-bad-input")


def test_a_shared_link_to_a_page_works_as_the_first_request(browser):
    """A fresh server whose very first request is a link to the Gradients page with settings."""
    with streamlit_server() as url:
        context = browser.new_context(viewport={"width": 1500, "height": 1200})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{url}/gradients?preset=sine&len=40&cells=lstm,gru&hidden=8")
        page.get_by_text("Gradient horizon", exact=True).wait_for()
        _settle(page)
        _assert_no_exception(page)
        assert page.get_by_text("x: 40 steps (t = 0 … 39) × 1 feature (preset sine)").count() == 1
        assert "Gradients" in page.locator('[data-testid="stSidebarNav"]').inner_text()
        _shot(page, "06-link-first-request")
        context.close()
