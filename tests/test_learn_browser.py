"""Watch it learn in a real browser: the teacher starts a job, curves and weights move, the new
model is offered afterwards; the page passes axe-core (WCAG 2.1 AA) at phone and desktop sizes.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import axe_playwright_python
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page

from app.settings import Settings
from tests.browser_fixtures import (
    CHROMIUM_ARGS,  # noqa: F401 (documents where the browser comes from)
    PageRecord,
    assert_stayed_on_origin,
    browser_fixture,  # noqa: F401 (a fixture: pytest finds it by its name, "browser")
    draw_with_mouse,
    pad_box,
)
from tests.conftest import REPO_ROOT
from tests.helpers import TEACHER_KEY, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

JOB_MS = 240_000  # TensorFlow's start and a small job, on a loaded machine
ARTIFACTS = REPO_ROOT / "test-artifacts"
PROJECTOR = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}
AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Keeps every value that #learn's data-weights-batch and #answer-when take, and the buttons'
# state when the job starts (run through the DevTools protocol, which the CSP does not govern).
RECORD_PROGRESS = """() => {
  const root = document.getElementById("learn");
  const when = document.getElementById("answer-when");
  const seen = window.progressSeen = { weightsBatches: [], answerWhen: [], runningButtons: null };
  new MutationObserver(() => {
    const batch = root.dataset.weightsBatch;
    if (batch !== seen.weightsBatches.at(-1)) seen.weightsBatches.push(batch);
    if (root.dataset.state === "running" && !seen.runningButtons) {
      seen.runningButtons = {
        start: document.getElementById("start").disabled,
        cancel: document.getElementById("cancel").disabled,
      };
    }
  }).observe(root, { attributes: true });
  new MutationObserver(() => seen.answerWhen.push(when.textContent)).observe(
    when, { childList: true, characterData: true, subtree: true });
}"""


@pytest.fixture(scope="module")
def learn_server(mnist_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("data")
    env = {"DIGITDRAW_MNIST": str(mnist_path)}
    with running_server(
        Settings().model_dir, "--log-level", "warning", data_dir=data_dir, env=env
    ) as (base_url, _):
        yield base_url


def open_learn(browser: Browser, base_url: str, viewport: dict) -> tuple[Page, PageRecord]:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(30_000)
    record = PageRecord()
    page.on("request", lambda request: record.requests.append(request))
    page.on("console", lambda m: record.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: record.errors.append(f"uncaught: {error}"))
    page.goto(base_url + "/learn")
    page.wait_for_selector("#model option", state="attached")  # the script has run
    return page, record


def axe_violations(page: Page) -> list[str]:
    # Evaluated through the DevTools protocol, which the page's CSP does not govern.
    page.evaluate(AXE_SOURCE)
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        WCAG_AA,
    )
    return [f"{v['id']}: {[n['target'] for n in v['nodes']]}" for v in result["violations"]]


def pixels(page: Page, selector: str, path: Path) -> np.ndarray:
    page.locator(selector).screenshot(path=path)
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def changed_share(before: np.ndarray, after: np.ndarray) -> float:
    assert before.shape == after.shape
    return float((np.abs(before - after).sum(axis=2) > 30).mean())


def test_the_class_watches_a_model_learn_and_then_draws_on_it(
    browser: Browser, learn_server: str
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page, record = open_learn(browser, learn_server, PROJECTOR)
    assert page.get_attribute("#learn", "data-state") == "idle"
    box = pad_box(page)
    x, top, height = box["x"] + box["width"] / 2, box["y"], box["height"]
    draw_with_mouse(page, [[[x, top + height * 0.15], [x, top + height * 0.5],
                            [x, top + height * 0.85]]])  # fmt: skip
    assert axe_violations(page) == []

    # A small job can finish within a few frames on a quiet machine, so what the page shows
    # while it runs is recorded as it changes rather than waited for.
    page.evaluate(RECORD_PROGRESS)
    weights_before = pixels(page, "#weights", ARTIFACTS / "learn-weights-before.png")
    loss_before = pixels(page, "#loss-chart", ARTIFACTS / "learn-loss-before.png")
    page.fill("#teacher-key", TEACHER_KEY)
    page.select_option("select[name=train_size]", "5000")
    page.fill("input[name=epochs]", "2")
    page.click("#start")
    page.wait_for_selector('#learn[data-state="done"]', timeout=JOB_MS)
    status = page.text_content("#status") or ""
    match = re.search(r"(class-mlp512-sgd-0\.1\S*) reads (\d+\.\d)%", status)
    assert match, status
    name = match.group(1)
    assert float(match.group(2)) > 70
    assert int(page.get_attribute("#learn", "data-batch") or 0) == 2 * 79
    seen = page.evaluate("window.progressSeen")
    weight_batches = [int(batch) for batch in seen["weightsBatches"] if batch]
    assert weight_batches[0] == 0 and weight_batches[-1] == 2 * 79, weight_batches
    assert weight_batches == sorted(weight_batches) and len(weight_batches) > 3
    assert seen["runningButtons"] == {"start": True, "cancel": False}  # disabled while running
    # The answer while it learns: the network's guess on the pad, with the batch it is from.
    answers = [text for text in seen["answerWhen"] if text]
    assert answers and all(re.fullmatch(r"before training|after batch \d+", a) for a in answers)
    weights_after = pixels(page, "#weights", ARTIFACTS / "learn-weights-after.png")
    loss_after = pixels(page, "#loss-chart", ARTIFACTS / "learn-loss-after.png")
    page.screenshot(path=ARTIFACTS / "learn-done.png")
    assert changed_share(weights_before, weights_after) > 0.05
    assert changed_share(loss_before, loss_after) > 0.005  # a curve was drawn

    # The new model is offered at once, chosen for the pad, and its answer is shown.
    page.wait_for_function("(name) => document.getElementById('model').value === name", arg=name)
    page.wait_for_selector("#answer-when:empty")
    assert page.text_content("#prediction") == "1"
    assert name in (page.text_content("#class-models") or "")
    assert axe_violations(page) == []
    assert record.errors == []
    assert_stayed_on_origin(record, learn_server)

    # And the drawing page's selector offers it too, without a restart.
    drawing, _ = open_learn(browser, learn_server, PROJECTOR)
    drawing.goto(learn_server + "/")
    drawing.wait_for_selector("#model:enabled")
    assert name in drawing.eval_on_selector_all("#model option", "os => os.map(o => o.value)")


def test_the_page_passes_axe_on_a_phone_and_in_chinese(browser: Browser, learn_server: str):
    page, record = open_learn(browser, learn_server, PHONE)
    assert axe_violations(page) == []
    page.goto(learn_server + "/learn?lang=zh-CN")
    page.wait_for_selector("#model option", state="attached")
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.text_content("#start") == "开始训练"
    assert axe_violations(page) == []
    page.screenshot(path=ARTIFACTS / "learn-phone-zh.png", full_page=True)
    assert record.errors == []


def test_starting_without_the_key_says_how_to_get_one(browser: Browser, learn_server: str):
    page, _ = open_learn(browser, learn_server, PROJECTOR)
    page.click("#start")
    page.wait_for_selector("#train-error:not(:empty)")
    assert "teacher key" in (page.text_content("#train-error") or "")
    assert page.get_attribute("#learn", "data-state") in ("idle", "done")
