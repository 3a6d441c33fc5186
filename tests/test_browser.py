"""A real browser against `streamlit run app.py`: the first screen, typing, toggling, stepping, links, layout.

Needs Debian's chromium at /usr/bin/chromium (``.ci/run`` installs it, and sets LSTMVIZ_REQUIRE_BROWSER
so that a missing browser fails instead of skipping) and the ``playwright`` package; never downloads a
browser. Screenshots go to ``test-artifacts/``; the first screen becomes ``docs/screenshot.png`` (the
README's image) when that file is missing or ``LSTMVIZ_UPDATE_SCREENSHOT=1`` is set, so that ordinary
test runs leave the committed image alone.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from browser_support import ARTIFACTS, ROOT, streamlit_server
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = pytest.mark.browser

TIMEOUT_MS = 90_000
SETTLED = '[data-testid="stApp"][data-test-script-state="notRunning"]'
STEPPER = ".stp"  # the stepper's root, inside its shadow root (playwright's CSS pierces open ones)


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def _open(page, server, path: str = "/") -> None:
    page.goto(server + path)
    _settle(page)


def _settle(page, charts: int | None = None) -> None:
    """Wait until the app has finished its run (and, if given, shows that many charts)."""
    page.wait_for_selector(SETTLED)
    if page.locator('[data-testid="stPlotlyChart"]').count():
        page.wait_for_selector(".js-plotly-plot")
    if charts is not None:
        page.wait_for_function(
            "n => document.querySelectorAll('[data-testid=\"stPlotlyChart\"]').length === n", arg=charts
        )
    page.wait_for_timeout(400)  # plotly draws after the element appears
    page.wait_for_selector(SETTLED)


def _assert_no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def _shot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path)
    return path


def _step(page) -> int:
    return int(page.locator(STEPPER).get_attribute("data-step"))


def _stepper_cells(page) -> list[str]:
    return page.locator(f"{STEPPER} .stp-title").all_inner_texts()


def test_the_first_screen_makes_the_point_above_the_fold(page, server):
    _open(page, server)
    _assert_no_exception(page)
    chart = page.locator('[data-testid="stPlotlyChart"]').first.bounding_box()
    sentence = page.get_by_text("Reading ‖δh_t‖ back from the loss").bounding_box()
    assert chart["y"] + chart["height"] <= 720 and sentence["y"] + sentence["height"] <= 720
    titles = page.eval_on_selector_all(".js-plotly-plot .legendtext", "els => els.map(e => e.textContent)")
    assert titles == ["RNN", "LSTM", "GRU (PyTorch)"]
    shot = _shot(page, "01-first-screen")
    readme_image = ROOT / "docs" / "screenshot.png"
    if os.environ.get("LSTMVIZ_UPDATE_SCREENSHOT") or not readme_image.exists():
        readme_image.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, readme_image)


def test_type_a_sequence_toggle_cells_and_step_in_the_browser(page, server):
    _open(page, server, "/step_through")
    box = page.locator('[data-testid="stSidebar"] [data-testid="stTextArea"] textarea')
    box.fill("0, 1, 0.5, -1, 2, 0, 0, 1")
    box.press("Control+Enter")
    page.get_by_text("x: 8 steps (t = 0 … 7) × 1 feature (typed)").wait_for()
    _settle(page)
    assert _stepper_cells(page) == ["RNN", "LSTM", "GRU (PyTorch)"]
    cells = page.locator('[data-testid="stSidebar"] [data-testid="stButtonGroup"]').filter(has_text="LSTM")
    cells.get_by_role("button", name="RNN", exact=True).click()
    page.wait_for_function("() => document.body.innerText.length > 0")
    _settle(page, charts=3)
    page.wait_for_function("() => document.querySelector('[data-testid=\"stBidiComponentIsolated\"]')"
                           ".shadowRoot.querySelectorAll('.stp-title').length === 2")
    assert _stepper_cells(page) == ["LSTM", "GRU (PyTorch)"]
    _assert_no_exception(page)
    # Stepping is in the browser: the script stays idle while the step changes.
    before = _step(page)
    page.locator(f"{STEPPER} button[data-act='next']").click()
    page.wait_for_function(f"() => document.querySelector('[data-testid=\"stBidiComponentIsolated\"]')"
                           f".shadowRoot.querySelector('.stp').dataset.step === '{before + 1}'")
    assert page.locator(SETTLED).count() == 1
    _shot(page, "02-typed-sequence-stepped")


def test_a_click_on_a_heatmap_moves_the_stepper(page, server):
    _open(page, server, "/step_through")
    chart = page.locator('[data-testid="stPlotlyChart"]').nth(1)
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    drag = chart.locator(".nsewdrag").first
    drag.wait_for()
    moved = "() => new URL(location.href).searchParams.get('step') !== null"
    for _ in range(3):  # on a loaded machine Plotly may bind its click handler after the first click
        # scrolled to and measured each time: the stepper above draws its first frame as it pleases
        chart.scroll_into_view_if_needed()
        box = drag.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.5)
        page.wait_for_timeout(200)
        page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.5)
        try:
            page.wait_for_function(moved, timeout=15_000)
            break
        except PlaywrightTimeout:
            hit = page.evaluate("([x, y]) => { const e = document.elementFromPoint(x, y);"
                                " return e && (e.tagName + '.' + e.getAttribute('class')); }",
                                [box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.5])
            page.screenshot(path=ARTIFACTS / "heatmap-click-missed.png")
            print("click missed; box", box, "hit", hit, "url", page.url)
    page.wait_for_function(moved, timeout=5_000)
    _settle(page)
    step = int(page.evaluate("() => new URL(location.href).searchParams.get('step')"))
    assert 15 <= step <= 25, step  # 70 % of the way along 30 steps
    page.wait_for_function(f"() => document.querySelector('[data-testid=\"stBidiComponentIsolated\"]')"
                           f".shadowRoot.querySelector('.stp').dataset.step === '{step}'")
    _assert_no_exception(page)


def test_a_link_reopens_the_exact_view(page, server):
    _open(page, server, "/step_through?layers=2&bidir=1&step=9&unit=2&layer=1&dir=1&cells=lstm,gru")
    page.wait_for_function("() => document.querySelector('[data-testid=\"stBidiComponentIsolated\"]')"
                           "?.shadowRoot?.querySelector('.stp')?.dataset.step === '9'")
    subtitles = page.locator(f"{STEPPER} .stp-sub").all_inner_texts()
    assert subtitles and all(s.startswith("layer 1, reverse") for s in subtitles)
    assert page.locator(f"{STEPPER} .stp-unit").first.inner_text() == "unit 2"
    _assert_no_exception(page)


def test_nothing_in_the_main_column_overflows_at_1280_by_720(page, server):
    for path in ("/", "/step_through", "/gates_states", "/gradients", "/equations"):
        _open(page, server, path)
        wide = page.evaluate(
            """() => { const main = document.querySelector('[data-testid="stMainBlockContainer"]');
            const limit = main.getBoundingClientRect().right + 1;
            const scrolls = (e) => { for (let a = e.parentElement; a && a !== main; a = a.parentElement) {
              if (['auto', 'scroll'].includes(getComputedStyle(a).overflowX)) return true; } return false; };
            return [...main.querySelectorAll('*')].filter(e => {
              const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
              return r.width > 0 && r.right > limit && s.position !== 'fixed' && !scrolls(e)
                     && !e.closest('.katex-mathml');  // KaTeX's MathML copy is for screen readers only
            }).map(e => e.tagName + '.' + e.className).slice(0, 5); }"""
        )
        assert wide == [], (path, wide)


def test_bad_input_shows_the_error_and_other_pages_still_work(page, server):
    _open(page, server, "/step_through")
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
        context.close()
