"""The drawing page: HTML from Jinja2 templates, behaviour from the ES modules under /static.

The page carries no inline script or style (the Content-Security-Policy forbids them), so the
addresses and words the script needs travel in data- attributes of the page's root element.
"""

from types import SimpleNamespace

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import StrictUndefined

from app.settings import REPO_ROOT
from app.ui_strings import DEFAULT_LOCALE, client_strings_json, ui_strings

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


@router.api_route(
    "/", methods=["GET", "HEAD"], response_class=HTMLResponse, include_in_schema=False
)
def drawing_page(request: Request) -> HTMLResponse:
    """The page students draw on."""
    strings = ui_strings(DEFAULT_LOCALE)
    context = {
        "locale": DEFAULT_LOCALE,
        # Attribute access only: as a dict, t.clear would be the dict's clear method.
        "t": SimpleNamespace(**strings),
        "static_root": app_path(request, "/static"),
        "predict_url": app_path(request, "/predict"),
        "number_url": app_path(request, "/predict/number"),
        "models_url": app_path(request, "/models"),
        "client_strings": client_strings_json(strings),
        "live_interval_ms": LIVE_PREDICT_INTERVAL_MS,
    }
    return templates.TemplateResponse(request, "index.html", context)
