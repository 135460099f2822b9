"""Number mode in a real Chromium against a real server: a "2026" written from held-out pen
digits reads 2026 in #number, with a box over each digit; the page stays accessible (axe-core,
WCAG 2.1 AA) on a phone and a desktop; the single-digit mode still reads one digit."""

from pathlib import Path

import httpx
import numpy as np
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from app.ui_strings import UI_STRINGS
from tests.browser_fixtures import (  # noqa: F401 (fixtures: pytest finds them by name)
    PageOpener,
    browser_fixture,
    draw_with_mouse,
    live_server_fixture,
    open_page_fixture,
    pad_box,
    read_answer,
)
from training.numbers import write_number
from training.pendigits import PenDigit, read_pendigits, writer_split

pytestmark = pytest.mark.browser

ENGLISH = UI_STRINGS["en"]
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
SIZES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True},
    "desktop": {"viewport": {"width": 1366, "height": 768}},
}
INK_HEIGHT_SHARE = 0.6  # the number's height over the pad's
SEED = 2026


@pytest.fixture(scope="module")
def year(pendigits_path: Path, live_server: str) -> list[PenDigit]:
    """A 2, a 0, another 2 and a 6 of held-out writers that /predict reads right alone."""
    heldout = writer_split(read_pendigits(pendigits_path))[1]
    found: dict[int, list[PenDigit]] = {}
    with httpx.Client(base_url=live_server, timeout=30) as client:
        for digit in heldout:
            if digit.label not in (0, 2, 6) or len(found.get(digit.label, [])) >= 2:
                continue
            strokes = [s.tolist() for s in digit.strokes]
            answer = client.post("/predict", json={"strokes": strokes}).json()
            if answer["digit"] == digit.label and answer["confidence"] > 0.9:
                found.setdefault(digit.label, []).append(digit)
            if all(len(found.get(label, [])) >= 2 for label in (0, 2, 6)):
                break
    return [found[2][0], found[0][0], found[2][1], found[6][0]]


def in_wide_pad(page: Page, strokes: tuple[np.ndarray, ...]) -> list[list[list[float]]]:
    """The number's strokes scaled into the pad (page coordinates), centred."""
    box = pad_box(page)
    points = np.concatenate(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    scale = min(
        INK_HEIGHT_SHARE * box["height"] / (high[1] - low[1]),
        0.85 * box["width"] / (high[0] - low[0]),
    )
    centre = np.array([box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    offset = centre - (low + high) / 2 * scale
    return [(s * scale + offset).tolist() for s in strokes]


def number_mode(page: Page) -> None:
    page.click('label[for="mode-number"]')
    page.wait_for_selector('#app[data-mode="number"]')
    page.wait_for_selector("#number-result:not([hidden])")


def assert_no_axe_violations(page: Page) -> None:
    results = Axe().run(page, options=WCAG_AA)
    assert results.violations_count == 0, results.generate_report()


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
def test_a_drawn_2026_reads_2026_in_number_mode(
    open_page: PageOpener, year: list[PenDigit], size: str
) -> None:
    page, record = open_page(**SIZES[size])
    number_mode(page)
    assert page.get_attribute("#pad", "aria-label") == ENGLISH["number_pad_label"]
    box = pad_box(page)
    assert box["width"] >= 1.9 * box["height"], box  # the wider pad
    assert_no_axe_violations(page)
    written = write_number(year, "clear", np.random.default_rng(SEED))
    strokes = written.strokes
    draw_with_mouse(page, in_wide_pad(page, strokes))
    page.wait_for_selector('#app[data-state="ready"] #number:text-is("2026")')
    answer = read_answer(page)
    assert answer.state == "ready", answer.error
    assert page.text_content("#number") == "2026"
    assert page.locator(".number-box").count() == 4
    labels = page.locator(".number-box-label").all_text_contents()
    assert labels == ["2", "0", "2", "6"]
    lefts = [b["x"] for b in (page.locator(".number-box").nth(i).bounding_box() for i in range(4))]
    assert lefts == sorted(lefts)
    assert page.locator(".number-digit").count() == 4
    # The chart shows the last digit's probabilities; picking the first shows its own.
    assert page.get_attribute(".number-digit >> nth=3", "aria-pressed") == "true"
    page.click(".number-digit >> nth=0")
    assert page.get_attribute(".number-digit >> nth=0", "aria-pressed") == "true"
    top = page.get_attribute(".bar.is-top", "data-digit")
    assert top == "2"
    assert page.text_content("#announce") == "Number: 2026"
    assert_no_axe_violations(page)
    requests = [r.url for r in record.requests if r.method == "POST"]
    assert requests and all(url.endswith("/predict/number") for url in requests)
    assert record.errors == []


def test_back_in_digit_mode_one_digit_is_read_as_before(
    open_page: PageOpener, year: list[PenDigit]
) -> None:
    page, record = open_page(**SIZES["desktop"])
    number_mode(page)
    page.click('label[for="mode-digit"]')
    page.wait_for_selector('#app[data-mode="digit"]')
    assert page.locator("#number-result").is_hidden()
    box = pad_box(page)
    assert abs(box["width"] - box["height"]) < 2  # the square pad again
    six = year[3]
    draw_with_mouse(page, in_wide_pad(page, six.strokes))
    answer = read_answer(page)
    assert answer.digit == "6", answer
    assert page.locator(".number-box").count() == 0
    assert all(r.url.endswith("/predict") for r in record.requests if r.method == "POST")
    assert record.errors == []
