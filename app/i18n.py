"""Which language a page speaks: ?lang= (kept in a cookie), else Accept-Language, else English.

Every page calls ``app.routers.pages.render_page``, which uses this module; API error messages
stay English whatever the page language. The words themselves live in app.ui_strings.
"""

from fastapi import Request, Response

from app.ui_strings import DEFAULT_LOCALE, UI_STRINGS

LOCALE_COOKIE = "digitdraw_lang"
LOCALE_PARAM = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600  # a classroom laptop keeps its language for the school year
# What a locale is called in its own language, for the switch on every page.
LOCALE_NAMES = {"en": "English", "zh-CN": "简体中文"}


def supported(locale: str | None) -> str | None:
    """The served locale a tag asks for ("zh", "zh-Hans-CN", "EN-us"), or None."""
    if not locale:
        return None
    tag = locale.strip().lower().replace("_", "-")
    for served in UI_STRINGS:
        if tag == served.lower():
            return served
    language = tag.split("-", 1)[0]
    # Only Simplified Chinese is served: it is also what most readers of zh-TW can read.
    return next((served for served in UI_STRINGS if served.lower().split("-")[0] == language), None)


def from_accept_language(header: str) -> str | None:
    """The best served locale of an Accept-Language header (q-values honoured, order on ties)."""
    ranked = []
    for position, part in enumerate(header.split(",")):
        tag, _, parameters = part.partition(";")
        quality = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        locale = supported(tag)
        if locale is not None and quality > 0:
            ranked.append((-quality, position, locale))
    return min(ranked)[2] if ranked else None


def choose_locale(request: Request) -> str:
    """?lang= first (a visible switch), then the cookie it set, then the browser's languages."""
    return (
        supported(request.query_params.get(LOCALE_PARAM))
        or supported(request.cookies.get(LOCALE_COOKIE))
        or from_accept_language(request.headers.get("accept-language", ""))
        or DEFAULT_LOCALE
    )


def remember_locale(request: Request, response: Response, locale: str) -> None:
    """Keep an explicit ?lang= choice for the next pages; vary caches on what chose it."""
    if supported(request.query_params.get(LOCALE_PARAM)) == locale:
        response.set_cookie(
            LOCALE_COOKIE, locale, max_age=COOKIE_MAX_AGE, samesite="lax", httponly=True
        )
    response.headers["Vary"] = "Accept-Language, Cookie"


def locale_links(request: Request, locale: str) -> list[dict[str, str | bool]]:
    """The language switch: this page's address in every served locale."""
    links = []
    for served, label in LOCALE_NAMES.items():
        if served not in UI_STRINGS:
            continue
        url = request.url.include_query_params(**{LOCALE_PARAM: served})
        links.append(
            {
                "locale": served,
                "label": label,
                "href": f"{url.path}?{url.query}",
                "current": served == locale,
            }
        )
    return links
