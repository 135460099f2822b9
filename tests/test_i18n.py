"""The page languages: complete tables, and the choice by ?lang=, cookie and Accept-Language."""

import re
from collections.abc import Iterator

import pytest
from starlette.requests import Request

from app.i18n import LOCALE_COOKIE, choose_locale, from_accept_language, supported
from app.ui_strings import DEFAULT_LOCALE, UI_STRINGS, ui_strings
from tests.helpers import TestClient, served_app

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")
PLACEHOLDER = re.compile(r"\{\w+\}")
# Names that stay as they are in every language.
SAME_IN_EVERY_LANGUAGE = {"app_name"}
HTML_LANG = re.compile(r'<html lang="([^"]+)">')


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with served_app() as test_client:
        yield test_client


@pytest.mark.parametrize("locale", [name for name in UI_STRINGS if name != DEFAULT_LOCALE])
def test_every_key_is_translated_and_not_left_in_english(locale: str) -> None:
    english, table = UI_STRINGS[DEFAULT_LOCALE], UI_STRINGS[locale]
    assert sorted(set(english) - set(table)) == [], "keys missing from the translation"
    assert sorted(set(table) - set(english)) == [], "keys the English table lacks"
    for key, text in table.items():
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(english[key])), key
        if key in SAME_IN_EVERY_LANGUAGE:
            continue
        assert text != english[key], f"{key} is left in English"
        assert CJK.search(text), f"{key} has no Chinese text: {text!r}"


def test_locale_tags_map_to_the_served_tables() -> None:
    assert supported("zh") == supported("zh-Hans-CN") == supported("zh_TW") == "zh-CN"
    assert supported("EN-us") == "en" and supported("fr") is None and supported("") is None
    assert from_accept_language("fr-FR,zh;q=0.8,en;q=0.5") == "zh-CN"
    assert from_accept_language("zh-CN;q=0.4, en-GB;q=0.9") == "en"
    assert from_accept_language("de, fr;q=0.9") is None
    assert from_accept_language("zh;q=0, en") == "en"
    assert from_accept_language("zh;q=oops, en;q=0.1") == "en"


def make_request(query: str = "", headers: dict[str, str] | None = None) -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    return Request({"type": "http", "query_string": query.encode(), "headers": raw})


def test_query_beats_cookie_beats_accept_language() -> None:
    cookie = {"cookie": f"{LOCALE_COOKIE}=en", "accept-language": "zh-CN"}
    assert choose_locale(make_request("lang=zh-CN", cookie)) == "zh-CN"
    assert choose_locale(make_request("", cookie)) == "en"
    assert choose_locale(make_request("", {"accept-language": "zh-CN,zh;q=0.9"})) == "zh-CN"
    assert choose_locale(make_request("lang=klingon")) == DEFAULT_LOCALE


def test_page_follows_accept_language_and_sets_html_lang(client: TestClient) -> None:
    page = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert HTML_LANG.search(page.text).group(1) == "zh-CN"
    assert ui_strings("zh-CN")["tagline"] in page.text
    assert ui_strings("en")["tagline"] not in page.text
    assert "Accept-Language" in page.headers["vary"]
    assert LOCALE_COOKIE not in page.headers.get("set-cookie", "")
    english = client.get("/", headers={"Accept-Language": "en-GB"})
    assert HTML_LANG.search(english.text).group(1) == "en"


def test_lang_switch_is_remembered_in_a_cookie(client: TestClient) -> None:
    client.cookies.clear()
    chosen = client.get("/?lang=zh-CN", headers={"Accept-Language": "en"})
    assert HTML_LANG.search(chosen.text).group(1) == "zh-CN"
    assert f"{LOCALE_COOKIE}=zh-CN" in chosen.headers["set-cookie"]
    later = client.get("/", headers={"Accept-Language": "en"})
    assert HTML_LANG.search(later.text).group(1) == "zh-CN"
    back = client.get("/?lang=en")
    assert HTML_LANG.search(back.text).group(1) == "en"
    client.cookies.clear()


@pytest.mark.parametrize("path", ["/", "/compare", "/report/robust-cnn"])
def test_every_page_shows_the_language_switch_and_speaks_chinese(
    client: TestClient, path: str
) -> None:
    page = client.get(f"{path}?lang=en").text
    assert 'hreflang="zh-CN"' in page and "简体中文" in page and 'aria-current="true"' in page
    chinese = client.get(path, headers={"Accept-Language": "zh-CN"}).text
    assert HTML_LANG.search(chinese).group(1) == "en"  # the cookie from ?lang=en still wins
    client.cookies.clear()
    chinese = client.get(path, headers={"Accept-Language": "zh-CN"}).text
    assert HTML_LANG.search(chinese).group(1) == "zh-CN"
    assert ui_strings("zh-CN")["nav_compare"] in chinese
