"""The look inside, /compare, /report/{name} and the Chinese pages in real Chromium.

A digit is drawn with the mouse; every layer block of every model must draw a non-blank picture,
the saliency map must change when another bar is tapped, the compare page must show every
model's answer, each report its curves, confusion matrix and gallery. No page may log a console
error, send a request off its origin, or have an axe-core (WCAG 2.1 AA) violation on a phone or a
desktop; the Chinese pages must show no English UI text.
"""

import os
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import Browser, Page

from app.main import PAGE_POLICY
from tests.browser_fixtures import (
    WAIT_MS,
    PageRecord,
    assert_stayed_on_origin,
    browser_fixture,  # noqa: F401 (a fixture: pytest finds it by its name, "browser")
    draw_with_mouse,
    fit_to_pad,
    live_server_fixture,  # noqa: F401
    pad_box,
    read_answer,
)
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.browser

MODELS = ("cnn-tutorial", "mlp128-64", "mlp512", "robust-cnn")
DESKTOP = {"viewport": {"width": 1366, "height": 768}}
PROJECTOR = {"viewport": {"width": 1920, "height": 1080}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "has_touch": True,
    "is_mobile": True,
}
# A 4 in pad units (0..1): an open hook and a bar, as in tests/test_page_browser.py.
FOUR = [[[0.35, 0.15], [0.3, 0.55], [0.75, 0.55]], [[0.6, 0.15], [0.6, 0.85]]]
AXE_RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
DOCS = REPO_ROOT / "docs"
# Committed screenshots are rewritten only on request, as for the drawing page's.
UPDATE_SCREENSHOTS = os.environ.get("DIGITDRAW_UPDATE_SCREENSHOT") == "1"
ARTIFACTS = REPO_ROOT / "test-artifacts" / "inside"

# Pixels of a canvas that are neither white nor the gap colour: something was drawn.
DRAWN_PIXELS = """(canvas) => {
  if (!canvas.width || !canvas.height) return 0;
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let drawn = 0;
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
    const white = r === 255 && g === 255 && b === 255;
    const gap = r === 201 && g === 211 && b === 225;
    if (a > 0 && !white && !gap) drawn += 1;
  }
  return drawn;
}"""


@pytest.fixture
def open_at(browser: Browser, live_server: str) -> Iterator[Any]:
    """Open a path in a fresh context; yields (page, record) and checks the record at the end."""
    contexts = []

    def opener(path: str, **options: Any) -> tuple[Page, PageRecord]:
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        record = PageRecord()
        page.on("request", lambda request: record.requests.append(request))
        page.on("console", lambda m: record.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: record.errors.append(f"uncaught: {error}"))
        response = page.goto(live_server + path)
        assert response is not None and response.status == 200
        assert response.headers["content-security-policy"] == PAGE_POLICY
        return page, record

    yield opener
    for context in contexts:
        context.close()


def assert_clean(page: Page, record: PageRecord, base_url: str) -> None:
    """No console error, nothing fetched elsewhere, no WCAG 2.1 AA violation."""
    assert record.errors == []
    assert_stayed_on_origin(record, base_url)
    results = Axe().run(page, options=AXE_RULES)
    violations = [(v["id"], v["help"], len(v["nodes"])) for v in results.response["violations"]]
    assert violations == []


def draw_four(page: Page) -> None:
    strokes = [[[x * 1000, y * 1000] for x, y in stroke] for stroke in FOUR]
    draw_with_mouse(page, fit_to_pad(strokes, pad_box(page)))


def drawn_pixels(page: Page, selector: str) -> int:
    return page.eval_on_selector(selector, DRAWN_PIXELS)


def screenshot(page: Page, name: str, selector: str | None = None, docs: bool = True) -> None:
    """Into test-artifacts/inside/, and into docs/ with DIGITDRAW_UPDATE_SCREENSHOT=1 (as a
    256-colour PNG: a committed picture should not weigh a megabyte)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if selector:
        page.locator(selector).screenshot(path=path)
    else:
        page.screenshot(path=path, full_page=True)
    if UPDATE_SCREENSHOTS and docs:
        with Image.open(path) as picture:
            picture.convert("RGB").quantize(256).save(DOCS / f"{name}.png", optimize=True)


def open_inside(page: Page) -> None:
    page.wait_for_selector("#model:enabled")
    draw_four(page)
    assert read_answer(page).state == "ready"
    assert page.is_hidden("#inside")
    page.click("#inside-toggle")
    assert page.get_attribute("#inside-toggle", "aria-expanded") == "true"
    page.wait_for_selector('#inside[data-state="ready"]')


def test_look_inside_draws_every_layer_and_tapping_a_bar_changes_the_saliency(
    open_at: Any, live_server: str
) -> None:
    page, record = open_at("/", **DESKTOP)
    open_inside(page)
    for name in MODELS:
        page.select_option("#model", name)
        page.wait_for_selector(f'#inside[data-state="ready"][data-model="{name}"]')
        page.wait_for_selector('#app[data-state="ready"]')
        layers = httpx.get(f"{live_server}/models/{name}").json()["layers"]
        blocks = page.eval_on_selector_all("[data-layer]", "els => els.map(e => e.dataset.layer)")
        assert blocks == [layer["name"] for layer in layers]
        for layer in blocks:
            assert drawn_pixels(page, f'[data-layer="{layer}"] canvas') > 0, (name, layer)
        assert drawn_pixels(page, "#saliency") > 0
        page.wait_for_selector(f'#weights[data-model="{name}"]', state="attached")
        assert drawn_pixels(page, "#weights") > 0
    answer = int(page.text_content("#prediction"))
    before = page.eval_on_selector("#saliency", "c => c.toDataURL()")
    other = (answer + 5) % 10
    page.click(f'#bars [data-digit="{other}"]')
    page.wait_for_selector(f'#inside[data-state="ready"][data-target="{other}"]')
    assert page.eval_on_selector("#saliency", "c => c.toDataURL()") != before
    assert page.get_attribute(f'button[data-target="{other}"]', "aria-pressed") == "true"
    assert str(other) in page.text_content("#saliency-title")
    screenshot(page, "inside", "#inside")
    assert_clean(page, record, live_server)


@pytest.mark.parametrize("options", [PHONE, PROJECTOR], ids=["phone", "projector"])
def test_look_inside_is_accessible_on_phone_and_projector(
    open_at: Any, live_server: str, options: dict[str, Any]
) -> None:
    page, record = open_at("/", **options)
    open_inside(page)
    assert_clean(page, record, live_server)
    if options is PROJECTOR:
        screenshot(page, "inside-projector")
    else:
        screenshot(page, "inside-phone", "#inside", docs=False)


def test_drawing_page_in_chinese_has_no_english_ui_text(open_at: Any, live_server: str) -> None:
    page, record = open_at("/?lang=zh-CN", **DESKTOP)
    assert page.get_attribute("html", "lang") == "zh-CN"
    open_inside(page)
    assert english_words(page) == []
    assert_clean(page, record, live_server)


# Words that are not English UI text: the product and model names, layer names and kinds, units.
ALLOWED_LATIN = {"digitdraw", "mnist", "post", "predict", "http", "ctrl", "shift", "z", "esc"}
ENGLISH_TEXT = """() => {
  const words = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    const skipped = '[lang="en"], [translate="no"], script, style, kbd, code, option';
    if (!parent || parent.closest(skipped)) continue;
    if (parent.closest("[hidden]") || !parent.getClientRects().length) continue;
    for (const word of node.textContent.match(/[A-Za-z]{2,}/g) ?? []) words.push(word);
  }
  const attributes = [...document.querySelectorAll("[aria-label], [alt], [title]")]
    .filter((element) => !element.closest('[lang="en"], [translate="no"]'))
    .flatMap((element) => ["aria-label", "alt", "title"].map((name) => element.getAttribute(name)))
    .filter(Boolean);
  for (const text of attributes) {
    for (const word of text.match(/[A-Za-z]{2,}/g) ?? []) words.push(word);
  }
  return words;
}"""


LAYER_NAMES = "els => els.map(e => `${e.dataset.layer} ${e.dataset.kind}`).join(' ')"


def latin_words(text: str) -> set[str]:
    return {word.lower() for word in re.findall(r"[A-Za-z]{2,}", text)}


def english_words(page: Page) -> list[str]:
    """Latin words shown as UI text, less names (models, layers, layer kinds) and units."""
    names = latin_words(page.eval_on_selector_all("[data-layer]", LAYER_NAMES))
    names |= latin_words(" ".join(MODELS)) | ALLOWED_LATIN
    return [word for word in page.evaluate(ENGLISH_TEXT) if word.lower() not in names]


def test_compare_page_shows_every_models_answer(open_at: Any, live_server: str) -> None:
    page, record = open_at("/compare", **DESKTOP)
    blocks = page.eval_on_selector_all(
        "#compare [data-model]", "els => els.map(e => e.dataset.model)"
    )
    assert blocks == sorted(MODELS)
    draw_four(page)
    page.wait_for_selector('#app[data-state="ready"]')
    digits = page.eval_on_selector_all(
        "#compare [data-model] .digit[data-digit]", "els => els.map(e => e.dataset.digit)"
    )
    assert len(digits) == len(MODELS) and all(digit.isdigit() for digit in digits)
    for name, digit in zip(blocks, digits, strict=True):
        bars = page.eval_on_selector_all(
            f'[data-model="{name}"] [data-bar]', "els => els.map(e => Number(e.dataset.prob))"
        )
        assert len(bars) == 10 and abs(sum(bars) - 1) < 1e-3
        assert max(range(10), key=lambda d: bars[d]) == int(digit)
    screenshot(page, "compare")
    assert_clean(page, record, live_server)
    projector, projector_record = open_at("/compare?lang=zh-CN", **PROJECTOR)
    draw_four(projector)
    projector.wait_for_selector('#app[data-state="ready"]')
    screenshot(projector, "compare-projector-zh")
    assert projector_record.errors == []
    phone, phone_record = open_at("/compare?lang=zh-CN", **PHONE)
    assert english_words(phone) == []
    assert_clean(phone, phone_record, live_server)


@pytest.mark.parametrize("name", MODELS)
def test_report_page_shows_curves_confusion_and_gallery(
    open_at: Any, live_server: str, name: str
) -> None:
    page, record = open_at(f"/report/{name}", **DESKTOP)
    assert page.eval_on_selector("#curves", "svg => svg.querySelectorAll('polyline').length") == 2
    assert page.eval_on_selector_all("#confusion tbody td", "cells => cells.length") == 100
    card = httpx.get(f"{live_server}/models/{name}").json()
    diagonal = page.eval_on_selector_all(
        "#confusion tbody td.diagonal", "cells => cells.map(c => Number(c.textContent))"
    )
    matrix = card["evaluation"]["mnist_test"]["confusion_matrix"]
    assert diagonal == [matrix[d][d] for d in range(10)]
    images = page.eval_on_selector_all(
        "#gallery img", "imgs => imgs.map(i => i.complete && i.naturalWidth)"
    )
    assert images and all(width == 28 for width in images)
    rows = page.eval_on_selector_all("#layers-table tbody tr", "rows => rows.length")
    assert rows == len(card["layers"])
    assert_honesty_section(page, card)
    assert_clean(page, record, live_server)
    chinese, chinese_record = open_at(f"/report/{name}?lang=zh-CN", **PHONE)
    assert chinese.get_attribute("html", "lang") == "zh-CN"
    assert english_words(chinese) == []
    assert_clean(chinese, chinese_record, live_server)
    if name == "robust-cnn":
        screenshot(page, "report")
        projector, _ = open_at(f"/report/{name}", **PROJECTOR)
        screenshot(projector, "report-projector")


def assert_honesty_section(page: Page, card: dict) -> None:
    """The report's honest answers: the card's calibration and verdict figures as shown, the
    stored reliability diagram and trade-off curve loaded, every kind of non-digit listed."""
    figures = page.eval_on_selector_all(
        "#honesty img", "imgs => imgs.map(i => [i.id, i.complete && i.naturalWidth > 0])"
    )
    assert figures == [["reliability", True], ["tradeoff", True]]
    ece = card["calibration"]["ece_calibrated"]
    assert f"{ece * 100:.1f}%" in (page.text_content("#honesty") or "")
    real = card["evaluation"]["honesty"]["real_digits"]
    shown = page.eval_on_selector_all(
        "#real-digits-table tbody tr", "rows => rows.map(r => r.cells[1].textContent.trim())"
    )
    expected = ["mnist_test", "pendigits_strokes", "pendigits_image"]
    assert shown == [f"{real[source]['accepted'] * 100:.1f}%" for source in expected]
    assert page.eval_on_selector_all("#rejected-table tbody tr", "rows => rows.length") == 11
    numbers = card["evaluation"]["numbers"]["results"]
    cells = page.eval_on_selector_all(
        "#numbers-table tbody tr", "rows => rows.map(r => r.cells[2].textContent.trim())"
    )
    assert cells == [
        f"{paths[path]['numbers_right'] * 100:.1f}%" for paths in numbers.values() for path in paths
    ]


def test_report_of_an_unknown_model_is_the_apis_404(live_server: str) -> None:
    response = httpx.get(f"{live_server}/report/nope")
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_model"
