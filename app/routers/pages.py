"""The HTML pages: Jinja2 templates in the reader's language, behaviour from ES modules in /static.

Pages carry no inline script or style (the Content-Security-Policy forbids them), so the
addresses and words a script needs travel in data- attributes of the page's root element.
Every page is rendered through ``render_page``, which picks the language (app.i18n) and fills
what base.html needs; a page of another feature calls it the same way.
"""

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import StrictUndefined

from app.i18n import choose_locale, locale_links, remember_locale
from app.settings import REPO_ROOT
from app.ui_strings import CLIENT_KEYS, LEARN_CLIENT_KEYS, client_strings_json, ui_strings

# Milliseconds between live predictions while a stroke is being drawn: often enough to feel live,
# rarely enough that a classroom of pads does not flood one small server.
LIVE_PREDICT_INTERVAL_MS = 120

templates = Jinja2Templates(directory=REPO_ROOT / "templates")
# A misspelt string key fails the page (and its tests) instead of rendering as nothing.
templates.env.undefined = StrictUndefined
router = APIRouter(tags=["pages"])


def app_path(request: Request, path: str) -> str:
    """`path` under the prefix the app is served at, so the page also works behind a proxy."""
    return f"{request.scope.get('root_path', '').rstrip('/')}{path}"


def render_page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    client_keys: Iterable[str] = (),
    status_code: int = 200,
) -> HTMLResponse:
    """A page in the reader's language, with `t` (the strings), `locale`, `static_root`,
    `app_root`, `lang_links` (the switch) and `client_strings` (JSON of `client_keys`, for a
    data-strings attribute).

    Usage from any router: ``return render_page(request, "teach.html", {...}, ("key", ...))``;
    templates read strings as ``{{ t.some_key }}`` and extend base.html.
    """
    locale = choose_locale(request)
    strings = ui_strings(locale)
    full_context = {
        "locale": locale,
        # Attribute access only: as a dict, t.clear would be the dict's clear method.
        "t": SimpleNamespace(**strings),
        "static_root": app_path(request, "/static"),
        "app_root": app_path(request, ""),
        "lang_links": locale_links(request, locale),
        "client_strings": client_strings_json(strings, tuple(client_keys)),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, template, full_context, status_code)
    remember_locale(request, response, locale)
    return response


@router.api_route(
    "/", methods=["GET", "HEAD"], response_class=HTMLResponse, include_in_schema=False
)
def drawing_page(request: Request) -> HTMLResponse:
    """The page students draw on."""
    context = {
        "predict_url": app_path(request, "/predict"),
        "explain_url": app_path(request, "/explain"),
        "weights_url": app_path(request, "/models/{name}/layers/{layer}/weights"),
        "report_url": app_path(request, "/report/"),
        "default_model": request.app.state.settings.default_model,
        "number_url": app_path(request, "/predict/number"),
        "models_url": app_path(request, "/models"),
        "corrections_url": app_path(request, "/corrections"),
        "live_interval_ms": LIVE_PREDICT_INTERVAL_MS,
    }
    return render_page(request, "index.html", context, CLIENT_KEYS)


# Choices of the /learn form: the sizes tell the "more data, better model" story in one list.
LEARN_TRAIN_SIZES = (500, 2000, 5000, 20_000, 55_000)
LEARN_BATCH_SIZES = (16, 32, 64, 128, 256)
LEARN_LEARNING_RATES = (0.0001, 0.001, 0.01, 0.05, 0.1, 0.5, 1.0)


@router.api_route(
    "/learn", methods=["GET", "HEAD"], response_class=HTMLResponse, include_in_schema=False
)
def learn_page(request: Request) -> HTMLResponse:
    """Watch it learn: the teacher trains a tutorial model live, on the projector."""
    context = {
        "training_url": app_path(request, "/api/training"),
        "predict_url": app_path(request, "/predict"),
        "models_url": app_path(request, "/models"),
        "live_interval_ms": LIVE_PREDICT_INTERVAL_MS,
        "train_sizes": LEARN_TRAIN_SIZES,
        "batch_sizes": LEARN_BATCH_SIZES,
        "learning_rates": LEARN_LEARNING_RATES,
    }
    return render_page(request, "learn.html", context, LEARN_CLIENT_KEYS)
