"""The drawing page as served, checked in process: its hooks, its static files, its policy.

The browser tests drive the page for real; these catch a missing hook, a broken /static link or an
external URL in a fraction of a second, and say exactly which one.
"""

import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from app.ui_strings import CLIENT_KEYS, DEFAULT_LOCALE, UI_STRINGS
from tests.conftest import REPO_ROOT

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`", UserWarning)
    from fastapi.testclient import TestClient

VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
STATIC_TYPES = {
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
}
# Relative imports between the page's ES modules: import { X } from "./x.js";
MODULE_IMPORT = re.compile(r"""^\s*import\s[^;]*?from\s+["'](\./[\w./-]+)["']""", re.MULTILINE)
# Any absolute or protocol-relative address; SVG's namespace names a standard, not a request.
EXTERNAL_URL = re.compile(r"""(?:https?:)?//([\w-]+(?:\.[\w-]+)*\.[a-z]{2,})\b""", re.IGNORECASE)
NAMESPACE_HOSTS = {"www.w3.org"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list["Element"] = field(default_factory=list)


class PageParser(HTMLParser):
    """Every element of the page with its attributes and its own text, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.elements.append(element)
        if self.open:
            self.open[-1].children.append(element)
        if tag not in VOID_TAGS:
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self.open:
            if self.open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.open:
            self.open[-1].text += data


@dataclass
class Page:
    response: httpx.Response
    elements: list[Element]

    def by_id(self, element_id: str) -> Element:
        found = [e for e in self.elements if e.attrs.get("id") == element_id]
        assert len(found) == 1, f"expected one element with id={element_id}, found {len(found)}"
        return found[0]

    def all(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    """The app without its lifespan: the page and static files need no model."""
    yield TestClient(create_app())


@pytest.fixture(scope="module")
def page(client: TestClient) -> Page:
    response = client.get("/")
    assert response.status_code == 200, response.text
    parser = PageParser()
    parser.feed(response.text)
    parser.close()
    return Page(response, parser.elements)


def static_paths(page: Page) -> list[str]:
    """Every /static address the page itself links to (stylesheet, icon, scripts, images)."""
    links = [e.attrs.get("href", "") for e in page.all("link")]
    sources = [e.attrs.get("src", "") for e in page.all("script") + page.all("img")]
    return [url for url in links + sources if url.startswith("/static/")]


def test_page_is_utf8_html_with_the_language_set(page: Page) -> None:
    assert page.response.headers["content-type"] == "text/html; charset=utf-8"
    html = page.all("html")[0]
    assert html.attrs["lang"] == DEFAULT_LOCALE
    assert any(e.attrs.get("charset") == "utf-8" for e in page.all("meta"))
    viewport = [e for e in page.all("meta") if e.attrs.get("name") == "viewport"]
    assert "width=device-width" in viewport[0].attrs["content"]


def test_page_has_every_hook_the_script_and_the_tests_rely_on(page: Page) -> None:
    assert page.by_id("pad").tag == "canvas"
    assert page.by_id("prediction").text == ""
    for button in ("clear", "undo", "redo"):
        assert page.by_id(button).tag == "button"
        assert "disabled" in page.by_id(button).attrs, f"#{button} must start disabled"
    assert page.by_id("model").tag == "select"
    preview = page.by_id("preview")
    assert (preview.tag, preview.attrs["width"], preview.attrs["height"]) == ("img", "28", "28")
    assert preview.attrs["alt"]
    bars = [e for e in page.elements if "data-digit" in e.attrs]
    assert [bar.attrs["data-digit"] for bar in bars] == [str(digit) for digit in range(10)]
    assert all(bar.attrs["data-prob"] == "" for bar in bars)


def test_page_starts_idle_and_hands_the_script_its_addresses_and_words(page: Page) -> None:
    app = page.by_id("app")
    assert app.attrs["data-state"] == "idle"
    assert app.attrs["data-predict-url"] == "/predict"
    assert app.attrs["data-models-url"] == "/models"
    assert int(app.attrs["data-live-interval-ms"]) > 0
    strings = json.loads(app.attrs["data-strings"])
    assert set(strings) == set(CLIENT_KEYS)
    assert strings["announce"] == UI_STRINGS[DEFAULT_LOCALE]["announce"]


def test_page_announces_predictions_and_errors_to_screen_readers(page: Page) -> None:
    assert page.by_id("announce").attrs["aria-live"] == "polite"
    assert page.by_id("error").attrs["role"] == "alert"
    assert page.by_id("hint").text.strip() == UI_STRINGS[DEFAULT_LOCALE]["hint"]


def test_page_has_no_inline_script_style_or_event_handler(page: Page) -> None:
    scripts = page.all("script")
    assert scripts, "the page loads its script as a module"
    for script in scripts:
        assert script.attrs.get("type") == "module" and script.attrs.get("src"), script.attrs
        assert script.text.strip() == ""
    assert page.all("style") == []
    for element in page.elements:
        assert "style" not in element.attrs, element
        assert not [name for name in element.attrs if name.startswith("on")], element


def test_page_sends_a_content_security_policy_that_keeps_it_on_its_origin(page: Page) -> None:
    policy = page.response.headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["default-src"] == ["'self'"]
    for name in ("script-src", "style-src", "connect-src"):
        assert directives.get(name, directives["default-src"]) == ["'self'"], policy
    assert "data:" in directives["img-src"], "the 28x28 preview is a data URL"


def test_every_static_file_the_page_links_to_is_served_with_its_type(
    client: TestClient, page: Page
) -> None:
    paths = static_paths(page)
    assert {"/static/css/app.css", "/static/js/main.js", "/static/favicon.svg"} <= set(paths)
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        expected = STATIC_TYPES[Path(path).suffix]
        assert response.headers["content-type"].split(";")[0] == expected, path
        assert response.headers.get("etag") or response.headers.get("last-modified"), path


def test_every_module_the_page_script_imports_is_served(client: TestClient) -> None:
    to_visit, seen = ["/static/js/main.js"], set()
    while to_visit:
        path = to_visit.pop()
        seen.add(path)
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].split(";")[0] == "text/javascript", path
        folder = path.rsplit("/", 1)[0]
        for relative in MODULE_IMPORT.findall(response.text):
            imported = f"{folder}/{relative.removeprefix('./')}"
            if imported not in seen:
                to_visit.append(imported)
    assert {"/static/js/pad.js", "/static/js/api.js", "/static/js/chart.js"} <= seen


def test_templates_and_static_files_name_no_external_address() -> None:
    files = [*(REPO_ROOT / "templates").rglob("*"), *(REPO_ROOT / "static").rglob("*")]
    offenders = []
    for path in (f for f in files if f.is_file()):
        for match in EXTERNAL_URL.finditer(path.read_text(encoding="utf-8")):
            if match.group(1) not in NAMESPACE_HOSTS:
                offenders.append(f"{path.relative_to(REPO_ROOT)}: {match.group()}")
    assert offenders == []


def test_every_translation_has_the_keys_of_the_english_table() -> None:
    english = UI_STRINGS[DEFAULT_LOCALE]
    for locale, table in UI_STRINGS.items():
        assert set(table) == set(english), locale
        for key, text in table.items():
            placeholders = set(re.findall(r"\{(\w+)\}", text))
            assert placeholders == set(re.findall(r"\{(\w+)\}", english[key])), (locale, key)


def test_page_answers_head_requests_for_uptime_checks(client: TestClient) -> None:
    response = client.head("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
