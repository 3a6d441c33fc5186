"""ui.chart_downloads in chromium: each chart's modebar downloads SVG and PNG, also after a rerun."""

from __future__ import annotations

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, ROOT, require_browser, streamlit_server

SVG_BUTTON = '.modebar-btn[data-title="Download plot"]'
PNG_BUTTON = '.modebar-btn[data-title="Download plot as a PNG"]'


@pytest.fixture(scope="module")
def page():
    require_browser()
    from playwright.sync_api import sync_playwright

    with streamlit_server(ROOT / "tests" / "apps" / "chart_downloads_app.py") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(accept_downloads=True)
            page.set_default_timeout(10_000)
            page.goto(url)
            page.wait_for_selector(f".st-key-second {PNG_BUTTON}", state="attached", timeout=60_000)
            yield page
        finally:
            browser.close()


def _download(page, chart: str, button: str) -> tuple[str, bytes]:
    page.locator(f".st-key-{chart} [data-testid=stPlotlyChart]").hover()
    with page.expect_download() as info:
        page.locator(f".st-key-{chart} {button}").click()
    download = info.value
    with open(download.path(), "rb") as file:
        return download.suggested_filename, file.read()


@pytest.mark.browser
@pytest.mark.parametrize("chart", ["first", "second"])
def test_each_chart_downloads_svg_and_png_from_its_modebar(page, chart):
    name, data = _download(page, chart, SVG_BUTTON)
    assert name == f"{chart}.svg" and data.startswith(b"<svg")
    name, data = _download(page, chart, PNG_BUTTON)
    assert name == f"{chart}.png" and data.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.browser
def test_the_png_button_survives_a_rerun(page):
    page.get_by_role("button", name="Rerun").click()
    page.wait_for_timeout(1500)
    assert page.locator(f".st-key-first {PNG_BUTTON}").count() == 1
    name, data = _download(page, "first", PNG_BUTTON)
    assert name == "first.png" and data.startswith(b"\x89PNG")
