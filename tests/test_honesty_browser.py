"""The page in a real Chromium: a drawn letter A is refused as "not a digit", calmly and
accessibly; a drawn digit is still read as one."""

from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from app.ui_strings import UI_STRINGS
from tests.browser_fixtures import (  # noqa: F401 (fixtures)
    PageOpener,
    browser_fixture,
    draw_with_mouse,
    live_server_fixture,
    open_page_fixture,
    read_answer,
)

ENGLISH = UI_STRINGS["en"]
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
LETTER_A = [[[0.2, 0.85], [0.5, 0.15], [0.8, 0.85]], [[0.32, 0.55], [0.68, 0.55]]]
SEVEN = [[[0.3, 0.2], [0.7, 0.2], [0.45, 0.85]]]
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


def draw(page: Page, strokes: list) -> None:
    """Strokes in pad units (0..1), drawn with the mouse, points every few pixels."""
    box = page.locator("#pad").bounding_box()
    assert box is not None
    dense = []
    for stroke in strokes:
        points = [stroke[0]]
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:], strict=False):
            points += [[x0 + (x1 - x0) * t / 12, y0 + (y1 - y0) * t / 12] for t in range(1, 13)]
        dense.append(
            [[box["x"] + x * box["width"], box["y"] + y * box["height"]] for x, y in points]
        )
    draw_with_mouse(page, dense)


def assert_no_axe_violations(page: Page) -> None:
    results = Axe().run(page, options=WCAG_AA)
    assert results.violations_count == 0, results.generate_report()


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
def test_a_drawn_letter_a_is_refused_calmly_with_the_guess_in_small_type(
    open_page: PageOpener, size: str, tmp_path: Path
) -> None:
    page, record = open_page(viewport=SIZES[size])
    draw(page, LETTER_A)
    answer = read_answer(page)
    assert answer.state == "ready", answer.error
    page.wait_for_selector('#app[data-is-digit="no"]')
    assert page.locator("#prediction").text_content() == ""
    assert page.locator("#not-digit").is_visible()
    assert page.locator("#not-digit").text_content() == ENGLISH["not_digit"]
    guess = page.locator("#best-guess").text_content() or ""
    assert guess.startswith(ENGLISH["best_guess"].split("{")[0])
    assert page.locator("#bars.is-dimmed").count() == 1
    announced = page.locator("#announce").text_content() or ""
    assert announced.startswith(ENGLISH["not_digit"])
    assert None not in answer.probabilities  # the bars still show the network's guess
    assert_no_axe_violations(page)
    assert record.errors == []


def test_a_digit_after_a_letter_is_read_again_with_bright_bars(open_page: PageOpener) -> None:
    page, _ = open_page()
    draw(page, LETTER_A)
    page.wait_for_selector('#app[data-is-digit="no"]')
    page.keyboard.press("Escape")
    page.wait_for_selector('#app[data-state="idle"]')
    draw(page, SEVEN)
    page.wait_for_selector('#app[data-is-digit="yes"][data-state="ready"]')
    assert page.locator("#prediction").text_content() == "7"
    assert page.locator("#not-digit").is_hidden()
    assert page.locator("#bars.is-dimmed").count() == 0
    assert_no_axe_violations(page)
