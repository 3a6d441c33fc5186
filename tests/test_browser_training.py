"""A real browser on the Training lab: a short run, Stop during a long one, open a snapshot, upload weights.

Needs Debian's chromium at /usr/bin/chromium and the ``playwright`` package; never downloads a browser.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from browser_support import ARTIFACTS

pytestmark = pytest.mark.browser

TIMEOUT_MS = 90_000


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1500, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server)
    _settle(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Training lab").click()
    page.get_by_role("heading", name="Training lab").wait_for()
    _settle(page)
    yield page
    context.close()


def _settle(page) -> None:
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    page.wait_for_timeout(500)


def _assert_no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def _shot(page, name: str) -> None:
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def _set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    _settle(page)


def test_short_training_then_open_a_snapshot(page):
    _set_number(page, "Training steps", 40)
    _set_number(page, "Snapshot every … steps", 10)
    _set_number(page, "Length (steps per sequence)", 12)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Trained 40 of 40 steps").wait_for()
    _settle(page)
    page.wait_for_function("document.querySelectorAll('[data-testid=\"stPlotlyChart\"]').length >= 3")
    _assert_no_exception(page)
    _shot(page, "training-01-short-run")

    page.get_by_role("button", name="Open step 40 in the other pages").click()
    page.get_by_text("Every page now traces the cells trained on adding problem").first.wait_for()
    _settle(page)
    links = page.locator('[data-testid="stMain"] [data-testid="stPageLink-NavLink"]')
    links.filter(has_text="Gradients").first.click()
    page.get_by_role("heading", name="Gradients", exact=True).wait_for()
    _settle(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Loaded: trained on adding problem (length 12), step 40").wait_for()
    _assert_no_exception(page)
    _shot(page, "training-02-snapshot-in-gradients")


def test_stop_interrupts_a_long_run(page):
    _set_number(page, "Training steps", 5000)
    _set_number(page, "Snapshot every … steps", 100)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Step ", exact=False).first.wait_for()
    # While it trains, the curves and the gradient-horizon heatmap are redrawn at snapshots.
    page.wait_for_function("document.querySelectorAll('[data-testid=\"stPlotlyChart\"]').length >= 2")
    _shot(page, "training-03a-live-charts")
    assert page.get_by_text("Stopped after").count() == 0
    main = page.locator('[data-testid="stMainBlockContainer"]')  # the header has a Stop of its own
    main.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("Stopped after").wait_for()
    _settle(page)
    _assert_no_exception(page)
    _shot(page, "training-03-stopped")


def test_upload_weights_and_a_malicious_pickle(page, tmp_path):
    import torch

    from lstmviz import from_torch
    from lstmviz.weights import save_safetensors

    torch.manual_seed(0)
    path = tmp_path / "my_lstm.safetensors"
    path.write_bytes(save_safetensors(from_torch(torch.nn.LSTM(1, 6, num_layers=2))))
    uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]').last
    uploader.set_input_files(str(path))
    page.get_by_text("Loaded an LSTM from my_lstm.safetensors").wait_for()
    page.locator('[data-testid="stSidebar"]').get_by_text("LSTM: 2 layers, input 1, hidden 6").wait_for()
    _settle(page)
    _assert_no_exception(page)

    marker = tmp_path / "ran"
    evil = tmp_path / "evil.pt"
    evil.write_bytes(_malicious_pt(marker))
    uploader.set_input_files(str(evil))
    page.get_by_text("evil.pt: refused").wait_for()
    _settle(page)
    assert not marker.exists()
    _assert_no_exception(page)
    _shot(page, "training-04-upload")


def _malicious_pt(marker: Path) -> bytes:
    import torch

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    buffer = io.BytesIO()
    torch.save({"weight_ih_l0": Payload()}, buffer)
    return buffer.getvalue()
