"""Domain errors raised below the HTTP layer; one handler in app.main turns them into JSON.

Each carries a stable snake_case ``code`` (part of the API contract), a message that says what was
wrong and how to fix it, and the HTTP status it maps to.
"""


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    """The one error shape of the API: {"error": {"code", "message"}}."""
    return {"error": {"code": code, "message": message}}


class InputError(ValueError):
    """Client input we cannot use; never a server fault."""

    code = "invalid_input"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EmptyInput(InputError):
    """The drawing has no ink: answering with a digit would be invented."""

    code = "empty_input"
    status = 422


class UndecodableImage(InputError):
    """The bytes are not an image we can read."""

    code = "invalid_image"


class UnsupportedImage(InputError):
    """A readable image in a format we do not accept."""

    code = "unsupported_image_format"
    status = 415


class ImageTooLarge(InputError):
    """Too many pixels, or a decompression bomb."""

    code = "image_too_large"
    status = 413


class InvalidStrokes(InputError):
    """Strokes that are not lists of finite [x, y] points."""

    code = "invalid_strokes"
    status = 422


class TooManyPoints(InputError):
    """More strokes or points than a drawing needs."""

    code = "too_many_points"
    status = 413


class InvalidPixels(InputError):
    """Pixels of the wrong shape, type or range."""

    code = "invalid_pixels"
    status = 422


class MissingCredentials(InputError):
    """A teacher or student action without its key or token."""

    code = "unauthorized"
    status = 401


class WrongCredentials(InputError):
    """A key or token that is not the one this action needs."""

    code = "forbidden"
    status = 403


class TooManyDigits(InputError):
    """A number split into more digits than a number may have (POST /predict/number)."""

    code = "too_many_digits"
    status = 422
