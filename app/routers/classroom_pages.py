"""The classroom's pages: /teach (the teacher's lobby and the projector wall) and /join (phones).

The teacher key never appears in a page or in a URL that stays on screen: the sign-in form (or a
one-time ``/teach?key=...`` link, as Jupyter prints) sets the HttpOnly, SameSite=Strict cookie
and redirects to the clean /teach. Everything the scripts need travels in data- attributes.
"""

from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth import TEACHER_COOKIE, is_teacher_key
from app.classroom.join import normalise_code
from app.routers.pages import LIVE_PREDICT_INTERVAL_MS, app_path, templates
from app.ui_strings import DEFAULT_LOCALE, classroom_strings_json, ui_strings

router = APIRouter(tags=["pages"], include_in_schema=False)
# Seconds without any phone before the wall suggests that the Wi-Fi isolates devices.
ISOLATION_HINT_SECONDS = 45
PAGE_METHODS = ["GET", "HEAD"]


def page_context(request: Request, **extra: Any) -> dict[str, Any]:
    strings = ui_strings(DEFAULT_LOCALE)
    return {
        "locale": DEFAULT_LOCALE,
        "t": SimpleNamespace(**strings),
        "static_root": app_path(request, "/static"),
        "api_root": app_path(request, "/api/classes"),
        "join_root": app_path(request, "/join"),
        "teach_root": app_path(request, "/teach"),
        "client_strings": classroom_strings_json(strings),
        **extra,
    }


def is_teacher(request: Request) -> bool:
    expected = request.app.state.settings.teacher_key
    return is_teacher_key(request.cookies.get(TEACHER_COOKIE), expected)


def signed_in(request: Request, key: str) -> Response:
    """A redirect to the clean /teach that keeps the key in an HttpOnly cookie."""
    response = RedirectResponse(app_path(request, "/teach"), status_code=303)
    response.set_cookie(
        TEACHER_COOKIE,
        key,
        httponly=True,
        samesite="strict",
        path=app_path(request, "/") or "/",
    )
    return response


def sign_in_page(request: Request, wrong: bool = False, status: int = 200) -> HTMLResponse:
    context = page_context(request, wrong_key=wrong)
    return templates.TemplateResponse(request, "teach_key.html", context, status_code=status)


@router.api_route("/teach", methods=PAGE_METHODS, response_class=HTMLResponse)
def teach(request: Request, key: str | None = None) -> Response:
    """The lobby (classes, start a class) once signed in; the sign-in form before."""
    if key is not None:
        if is_teacher_key(key, request.app.state.settings.teacher_key):
            return signed_in(request, key)
        return sign_in_page(request, wrong=True, status=403)
    if not is_teacher(request):
        return sign_in_page(request)
    return templates.TemplateResponse(request, "teach.html", page_context(request, code=""))


@router.post("/teach", response_class=HTMLResponse)
def teach_sign_in(request: Request, key: Annotated[str, Form()] = "") -> Response:
    if is_teacher_key(key.strip(), request.app.state.settings.teacher_key):
        return signed_in(request, key.strip())
    return sign_in_page(request, wrong=True, status=403)


@router.api_route("/teach/{code}", methods=PAGE_METHODS, response_class=HTMLResponse)
def wall(request: Request, code: str) -> Response:
    """The projector view of one class."""
    if not is_teacher(request):
        return RedirectResponse(app_path(request, "/teach"), status_code=303)
    context = page_context(
        request, code=normalise_code(code), isolation_seconds=ISOLATION_HINT_SECONDS
    )
    return templates.TemplateResponse(request, "teach.html", context)


@router.api_route("/join", methods=PAGE_METHODS, response_class=HTMLResponse)
@router.api_route("/join/{code}", methods=PAGE_METHODS, response_class=HTMLResponse)
def join(request: Request, code: str = "") -> HTMLResponse:
    """A student's page: the join form, then the drawing pad in class mode."""
    context = page_context(
        request,
        code=normalise_code(code),
        predict_url=app_path(request, "/predict"),
        live_interval_ms=LIVE_PREDICT_INTERVAL_MS,
    )
    return templates.TemplateResponse(request, "join.html", context)
