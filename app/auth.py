"""Who may do what: the teacher key for teacher actions, read from a Bearer header or a cookie.

The key is compared in constant time and never logged or echoed. The teacher's pages may keep it
in an HttpOnly, SameSite=Strict cookie (set by the page that took the key), so it never appears in
a URL that students could see on the projector.
"""

import secrets
from typing import Annotated

from fastapi import Depends, Request

from app.errors import MissingCredentials, WrongCredentials

TEACHER_COOKIE = "digitdraw_teacher"


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def new_teacher_key() -> str:
    """A random key for one start of the server (when DIGITDRAW_TEACHER_KEY is unset)."""
    return secrets.token_urlsafe(18)


def is_teacher_key(given: str | None, expected: str | None) -> bool:
    return (
        given is not None
        and expected is not None
        and secrets.compare_digest(given.encode(), expected.encode())
    )


async def require_teacher(request: Request) -> None:
    """401 without a key, 403 with a wrong one; the Bearer header wins over the cookie."""
    expected = request.app.state.settings.teacher_key
    given = bearer_token(request) or request.cookies.get(TEACHER_COOKIE)
    if given is None:
        raise MissingCredentials(
            "This is a teacher action: send the teacher key printed when the server started, "
            "as 'Authorization: Bearer <key>'."
        )
    if not is_teacher_key(given, expected):
        raise WrongCredentials(
            "The teacher key is wrong; use the key printed when the server started."
        )


TeacherOnly = Annotated[None, Depends(require_teacher)]
