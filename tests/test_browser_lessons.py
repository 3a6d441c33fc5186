"""Every lesson part opened cold from its link in a real browser, and Next followed through a lesson."""

from __future__ import annotations

import pytest

from ui.lesson_book import LESSONS

pytestmark = pytest.mark.browser

TIMEOUT_MS = 90_000
SETTLED = '[data-testid="stApp"][data-test-script-state="notRunning"]'


@pytest.fixture(scope="module")
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def _settled(page) -> None:
    page.wait_for_selector(SETTLED)
    page.wait_for_timeout(300)
    page.wait_for_selector(SETTLED)


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0


def test_every_part_opens_cold_from_its_link(page, server):
    for lesson in LESSONS.values():
        for k in range(len(lesson.parts)):
            page.goto(server + lesson.link(k))
            page.get_by_text(f"part {k + 1} of {len(lesson.parts)}").first.wait_for()
            _settled(page)
            _no_exception(page)
            assert page.get_by_text("Look at:").count() == 1, (lesson.name, k)


def test_next_walks_through_a_lesson_and_keeps_the_sidebar_working(page, server):
    lesson = LESSONS["conveyor"]
    page.goto(server + lesson.link(0))
    for k in range(1, len(lesson.parts)):
        page.get_by_role("link", name="Next").click()
        page.get_by_text(f"part {k + 1} of {len(lesson.parts)}").first.wait_for()
        _settled(page)
        _no_exception(page)
        assert f"part={k + 1}" in page.url and "lesson=conveyor" in page.url
    page.get_by_role("link", name="Back").click()
    page.get_by_text(f"part {len(lesson.parts) - 1} of {len(lesson.parts)}").first.wait_for()
    _settled(page)
    _no_exception(page)
