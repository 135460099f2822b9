"""Fixtures and helpers for the real-browser tests: a uvicorn server, Debian's Chromium, input.

Import the *_fixture functions into a test module; tests ask for them by their short names
(live_server, browser, open_page), which keeps the imports distinct from the parameters. The
browser is the system's Chromium, never a downloaded one. A browser or server that cannot start
fails the run under CI=true: browser tests that quietly skipped would prove nothing.
"""

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, BrowserContext, CDPSession, Page, Request, sync_playwright

from app.settings import Settings
from tests.helpers import running_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-sync",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
]
SETTLED = '#app[data-state="ready"], #app[data-state="error"]'
WAIT_MS = 15_000  # generous: two CPU cores shared with the server and the rest of the suite
PAD_MARGIN = 0.12  # share of the pad left empty around a replayed digit, as people leave it

Strokes = Sequence[Sequence[Sequence[float]]]


@dataclass
class PageRecord:
    """What a page did: every request it made and every console error or uncaught exception."""

    requests: list[Request] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def predict_requests(self) -> list[Request]:
        return [r for r in self.requests if r.url.endswith("/predict") and r.method == "POST"]


@dataclass
class Answer:
    """What the page shows once settled."""

    state: str
    digit: str
    probabilities: list[float | None]
    error: str


PageOpener = Callable[..., tuple[Page, PageRecord]]


@pytest.fixture(scope="module", name="live_server")
def live_server_fixture() -> Iterator[str]:
    """``python -m app`` on a free loopback port, models warm; yields its base URL."""
    with running_server(Settings().model_dir, "--log-level", "warning") as (base_url, _):
        yield base_url


@pytest.fixture(scope="module", name="browser")
def browser_fixture() -> Iterator[Browser]:
    if not CHROMIUM.exists() and os.environ.get("CI") != "true":
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        except Exception as error:
            pytest.fail(f"Chromium at {CHROMIUM} did not start: {error}")
        yield launched
        launched.close()


@pytest.fixture(name="open_page")
def open_page_fixture(browser: Browser, live_server: str) -> Iterator[PageOpener]:
    """Open the drawing page in a fresh context (options as for browser.new_context)."""
    contexts: list[BrowserContext] = []

    def opener(**context_options: Any) -> tuple[Page, PageRecord]:
        context = browser.new_context(**context_options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        record = PageRecord()
        page.on("request", lambda request: record.requests.append(request))
        page.on("console", lambda m: record.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: record.errors.append(f"uncaught: {error}"))
        page.goto(live_server + "/")
        page.wait_for_selector("#model:enabled")
        return page, record

    yield opener
    for context in contexts:
        context.close()


def assert_stayed_on_origin(record: PageRecord, base_url: str) -> None:
    """No request left the server's origin: the page works in a classroom without internet."""
    elsewhere = [r.url for r in record.requests if not r.url.startswith((base_url + "/", "data:"))]
    assert elsewhere == []


def fit_to_pad(strokes: Strokes, box: dict[str, float], margin: float = PAD_MARGIN) -> list:
    """Strokes scaled and centred into the pad's page box, keeping their aspect ratio."""
    points = np.concatenate([np.asarray(s, dtype=float) for s in strokes])
    low, high = points.min(axis=0), points.max(axis=0)
    side = min(box["width"], box["height"]) * (1 - 2 * margin)
    scale = side / max(float((high - low).max()), 1.0)
    centre = np.array([box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    offset = centre - (low + high) / 2 * scale
    return [(np.asarray(s, dtype=float) * scale + offset).tolist() for s in strokes]


def pad_box(page: Page) -> dict[str, float]:
    box = page.locator("#pad").bounding_box()
    assert box is not None, "the pad is not visible"
    return box


def draw_with_mouse(page: Page, strokes: Strokes) -> None:
    """Drag the mouse along each stroke (page coordinates), button down, then up."""
    for stroke in strokes:
        page.mouse.move(*stroke[0])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(x, y)
        page.mouse.up()


def draw_with_finger(session: CDPSession, strokes: Strokes) -> None:
    """Touch along each stroke: what a finger sends (pointerType "touch")."""
    for stroke in strokes:
        touch(session, "touchStart", [stroke[0]])
        for point in stroke[1:]:
            touch(session, "touchMove", [point])
        touch(session, "touchEnd", [])


def touch(session: CDPSession, kind: str, points: Sequence[Sequence[float]]) -> None:
    touch_points = [
        {"x": x, "y": y, "id": i, "radiusX": 4, "radiusY": 4} for i, (x, y) in enumerate(points)
    ]
    session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touch_points})


def shown_answer(page: Page) -> Answer:
    """What the page shows right now: state, digit, each bar's probability (None if empty)."""
    shown = page.evaluate(
        """() => ({
            state: document.getElementById("app").dataset.state,
            digit: document.getElementById("prediction").textContent,
            probabilities: [...document.querySelectorAll("[data-digit]")]
                .map((bar) => bar.dataset.prob === "" ? null : Number(bar.dataset.prob)),
            error: document.getElementById("error").textContent,
        })"""
    )
    return Answer(**shown)


def read_answer(page: Page) -> Answer:
    """Wait until the page shows an answer or an error for the current drawing, then read it."""
    page.wait_for_selector(SETTLED)
    return shown_answer(page)


def read_idle(page: Page) -> Answer:
    """Wait until the page is back to an empty pad, then read what it shows."""
    page.wait_for_selector('#app[data-state="idle"]')
    return shown_answer(page)


def stroke_count(page: Page) -> int:
    return int(page.get_attribute("#app", "data-strokes") or "0")


def clear_pad(page: Page) -> None:
    page.keyboard.press("Escape")
    page.wait_for_selector('#app[data-state="idle"][data-strokes="0"]')
