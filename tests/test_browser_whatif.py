"""A real browser on the What-if lab: clamp a gate from the stepper's diagram, apply a phase-diagram point."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

TIMEOUT_MS = 90_000
SETTLED = '[data-testid="stApp"][data-test-script-state="notRunning"]'


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def _settled(page) -> None:
    page.wait_for_selector(SETTLED)
    page.wait_for_timeout(400)
    page.wait_for_selector(SETTLED)


def _query(page, name: str) -> str | None:
    return page.evaluate(f"() => new URL(location.href).searchParams.get('{name}')")


def test_clicking_a_gate_on_the_diagram_clamps_it(page, server):
    page.goto(f"{server}/step_through?step=4")
    _settled(page)
    gate = page.locator('.stp-cell[data-cell="lstm"] .stp-node[data-node="f"]')
    gate.hover()
    gate.click()
    page.get_by_text("Add a clamp (from your click or drag)").wait_for()
    _settled(page)
    assert page.get_by_text("Add a clamp (from your click or drag)").count() == 1
    page.get_by_role("button", name="Apply").click()
    page.wait_for_function("() => new URL(location.href).searchParams.get('clamp') !== null")
    _settled(page)
    assert _query(page, "clamp") == "lstm.f=1:4-30"
    page.get_by_text("1 clamp(s) active").wait_for()
    page.goto(f"{server}/whatif?clamp=lstm.f%3D1%3A4-30")
    page.get_by_text("f = 1 on steps 4–29, all units").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_click_on_the_phase_diagram_applies_that_setting(page, server):
    page.goto(f"{server}/whatif?tab=Phase+diagram&cells=rnn")
    _settled(page)
    page.locator(".js-plotly-plot").first.wait_for()
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.scroll_into_view_if_needed()
    box = chart.locator(".nsewdrag").first.bounding_box()
    x, y = box["x"] + box["width"] * 0.93, box["y"] + box["height"] * 0.5  # a large recurrent scale
    page.mouse.move(x, y)
    page.wait_for_timeout(200)
    page.mouse.click(x, y)
    page.wait_for_function("() => Number(new URL(location.href).searchParams.get('scale')) > 2")
    _settled(page)
    assert float(_query(page, "scale")) > 2
    assert page.locator('[data-testid="stException"]').count() == 0
