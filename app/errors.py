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


class UnknownClass(InputError):
    """No class has this join code (mistyped, or deleted by the teacher)."""

    code = "unknown_class"
    status = 404


class ClassEnded(InputError):
    """The teacher ended this class: nobody joins or sends any more."""

    code = "class_ended"
    status = 410


class ClassFull(InputError):
    """The class has as many students as settings.classroom_max_students allows."""

    code = "class_full"
    status = 409


class ClassPaused(InputError):
    """The teacher paused sending for a moment."""

    code = "class_paused"
    status = 409


class TooManyClasses(InputError):
    """The store keeps settings.classroom_max_classes classes; old ones must be deleted first."""

    code = "too_many_classes"
    status = 409


class NameTooLong(InputError):
    """A student name over settings.classroom_max_name characters."""

    code = "name_too_long"
    status = 422


class UnknownDrawing(InputError):
    """No drawing with this id in this class."""

    code = "unknown_drawing"
    status = 404


class RateLimited(InputError):
    """Too many requests in a short time; `retry_after` says in how many seconds to try again."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class TrainingBusy(InputError):
    """A training job is already running (one at a time: the laptop has two cores)."""

    code = "training_busy"
    status = 409


class JobFinished(InputError):
    """The training job has already ended, so it cannot be cancelled or shown a drawing."""

    code = "job_finished"
    status = 409


class UnknownJob(InputError):
    """No training job has this id."""

    code = "unknown_job"
    status = 404


class UnknownClassModel(InputError):
    """No model trained in class has this name."""

    code = "unknown_class_model"
    status = 404


class MnistMissing(InputError):
    """Training needs MNIST, which is not on this computer; the message says how to get it."""

    code = "mnist_missing"
    status = 503


class StoreBusy(InputError):
    """The store's write lock stayed taken past the busy timeout (a disk stalled on fsync).

    Not the client's fault, but nothing was written: the same request can be sent again, which
    Retry-After says; the class page does so by itself.
    """

    code = "store_busy"
    status = 503

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}


class TooManyDigits(InputError):
    """A number split into more digits than a number may have (POST /predict/number)."""

    code = "too_many_digits"
    status = 422
