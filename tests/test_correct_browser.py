"""The "Wrong? It was: 0 1 ... 9" row in a real browser: it stores the drawing on screen."""

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from app.ui_strings import ui_strings
from tests.browser_fixtures import (
    PageOpener,
    assert_stayed_on_origin,
    browser_fixture,  # noqa: F401 (a fixture: pytest finds it by its name, "browser")
    clear_pad,
    live_server_fixture,  # noqa: F401
    open_page_fixture,  # noqa: F401
)
from tests.helpers import TEACHER
from tests.test_page_browser import DESKTOP, ONE, PHONE, draw

pytestmark = pytest.mark.browser

WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
ENGLISH = ui_strings("en")


def assert_no_axe_violations(page: Page) -> None:
    results = Axe().run(page, options=WCAG_AA)
    assert results.violations_count == 0, results.generate_report()


def latest_correction(base_url: str) -> dict:
    page = httpx.get(f"{base_url}/corrections", params={"limit": 500}, headers=TEACHER).json()
    return page["corrections"][-1]


def test_a_correction_button_stores_the_drawing_on_screen_and_says_thanks(
    open_page: PageOpener, live_server: str
) -> None:
    page, record = open_page(**DESKTOP)
    assert page.locator("#correct").is_hidden()  # no answer, nothing to correct
    answer = draw(page, ONE)
    assert answer.state == "ready", answer.error
    assert page.locator("#correct").is_visible()
    buttons = page.locator("[data-correct]")
    assert buttons.count() == 10 and buttons.nth(7).get_attribute("aria-label") == "It was a 7"
    assert_no_axe_violations(page)

    with page.expect_response("**/corrections") as posted:
        page.click('[data-correct="7"]')
    assert posted.value.status == 201
    page.wait_for_selector("#correct-status:text('Thank you')")
    assert page.text_content("#correct-status") == ENGLISH["correct_thanks"].format(digit=7)
    assert page.evaluate("document.activeElement.id") == "correct-status"
    assert all(buttons.nth(i).is_disabled() for i in range(10))  # once per answer

    sent = posted.value.request.post_data_json
    stored = latest_correction(live_server)
    assert stored["id"] == posted.value.json()["id"]
    assert stored["data"] == sent["strokes"] and len(sent["strokes"]) == 1
    assert (stored["label"], stored["source"], stored["input"]) == (7, "page", "strokes")
    assert (stored["model"], stored["model_version"]) == ("robust-cnn", 1)
    assert stored["shown_digit"] == int(answer.digit) == stored["digit"]
    assert stored["preprocessed"] == page.get_attribute("#preview", "src")
    assert_no_axe_violations(page)
    assert_stayed_on_origin(record, live_server)
    assert record.errors == []


def test_the_row_works_from_the_keyboard_and_goes_with_the_drawing(
    open_page: PageOpener, live_server: str
) -> None:
    page, record = open_page(**PHONE)
    draw(page, ONE)
    page.locator('[data-correct="4"]').focus()
    with page.expect_response("**/corrections") as posted:
        page.keyboard.press("Space")
    assert posted.value.status == 201
    page.wait_for_selector("#correct-status:text('Thank you')")
    assert latest_correction(live_server)["label"] == 4
    assert_no_axe_violations(page)
    clear_pad(page)
    assert page.locator("#correct").is_hidden()
    draw(page, ONE)  # a new drawing can be corrected again
    assert page.locator('[data-correct="4"]').is_enabled()
    assert page.text_content("#correct-status") == ""
    assert record.errors == []


def test_a_correction_the_server_cannot_store_says_why(open_page: PageOpener) -> None:
    page, record = open_page(**DESKTOP)
    message = "The correction could not be saved: the data folder is read-only."
    page.route(
        "**/corrections",
        lambda route: route.fulfill(
            status=503, json={"error": {"code": "store_unavailable", "message": message}}
        ),
    )
    draw(page, ONE)
    page.click('[data-correct="1"]')
    page.wait_for_selector("#correct-status:text('not saved')")
    assert page.text_content("#correct-status") == ENGLISH["correct_failed"].format(message=message)
    assert page.locator('[data-correct="1"]').is_enabled()  # it can be tried again
    assert [error for error in record.errors if "503" not in error] == []
