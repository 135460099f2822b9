"""What handlers receive: the registry and settings from app.state, and parsed request bodies.

Bodies are parsed here by hand (pydantic's JSON parser straight from the bytes) instead of by
FastAPI's body parameters: one endpoint takes both JSON and multipart, NaN must be refused, and the
hot path stays cheap. Every problem becomes an InputError, which app.main turns into JSON.
"""

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from app.errors import InputError, InvalidPixels, InvalidStrokes
from app.inference import ModelRegistry
from app.schemas import BatchEnvelope, PredictRequest

InputKind = Literal["image", "strokes", "pixels"]
INPUT_KINDS: tuple[InputKind, ...] = ("image", "strokes", "pixels")
JSON_TYPE = "application/json"
MULTIPART_TYPE = "multipart/form-data"
MULTIPART_FIELDS = frozenset({"file", "model"})


class InvalidRequest(InputError):
    """A field of the request has the wrong type or shape."""

    code = "invalid_request"
    status = 422


class MalformedJson(InputError):
    """The body is not JSON at all."""

    code = "malformed_json"
    status = 400


class MalformedMultipart(InputError):
    """The body claims to be multipart/form-data but cannot be parsed as such."""

    code = "malformed_multipart"
    status = 400


class InvalidInputKind(InputError):
    """None, or more than one, of image, strokes and pixels."""

    code = "invalid_input_kind"
    status = 422


class UnsupportedMediaType(InputError):
    """A body in a content type the endpoint does not read."""

    code = "unsupported_media_type"
    status = 415


class BatchTooLarge(InputError):
    """More items than one batch may hold."""

    code = "batch_too_large"
    status = 413


class NotReady(Exception):
    """Models are not loaded and warm yet: a 503 the load balancer retries elsewhere."""

    code = "not_ready"
    status = 503

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Drawing:
    """One input to classify: its kind, its payload (image text or bytes, strokes, pixels)."""

    kind: InputKind
    data: Any
    model: str | None = None


def loaded_registry(request: Request) -> ModelRegistry:
    """The loaded models; NotReady while the lifespan is still loading or warming them."""
    registry: ModelRegistry | None = getattr(request.app.state, "registry", None)
    if registry is None or not registry.ready:
        raise NotReady("The models are still loading; try again in a moment.")
    return registry


# Async although it never awaits: FastAPI runs plain dependencies in the thread pool, a hop
# that costs more than the handlers that use it.
async def get_registry(request: Request) -> ModelRegistry:
    return loaded_registry(request)


Registry = Annotated[ModelRegistry, Depends(get_registry)]

# What a client can do about a wrong field, appended to pydantic's own words.
FIELD_HINTS = {
    "image": "image is a data URL or base64 text of a PNG, JPEG, WebP, GIF or BMP file.",
    "strokes": "strokes is a list of strokes, each a list of [x, y] number pairs.",
    "pixels": "pixels is 28 rows of 28 numbers from 0 to 255.",
    "model": "model is a model name from GET /models.",
    "inputs": 'inputs is a list of input objects, e.g. [{"image": "..."}, {"strokes": [...]}].',
}
FIELD_ERRORS: dict[str, type[InputError]] = {"strokes": InvalidStrokes, "pixels": InvalidPixels}


def field_path(location: tuple[int | str, ...]) -> str:
    """('strokes', 0, 3) -> 'strokes[0][3]', the way a client would index its own JSON."""
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location)
    return path.removeprefix(".")


PREDICT_SHAPE = 'a JSON object with exactly one of image, strokes or pixels, e.g. {"image": "..."}'
BATCH_SHAPE = 'a JSON object {"inputs": [...]} listing input objects such as {"image": "..."}'


def validation_problem(error: ValidationError, shape: str = PREDICT_SHAPE) -> InputError:
    """The first pydantic error as an InputError naming the field and how to fix it."""
    first = error.errors(include_url=False)[0]
    location = tuple(first["loc"])
    if first["type"] == "json_invalid":
        return MalformedJson(f"The body is not valid JSON ({first['msg']}). Send {shape}.")
    if not location:
        return InvalidRequest(f"The body must be {shape}.")
    field = str(location[0])
    error_type = FIELD_ERRORS.get(field, InvalidRequest)
    message = f"{field_path(location)}: {first['msg']}."
    if field in FIELD_HINTS:
        message += " " + FIELD_HINTS[field]
    return error_type(message)


def drawing_from(request: PredictRequest) -> Drawing:
    """The one input kind present; InvalidInputKind when there are none or several."""
    present = [kind for kind in INPUT_KINDS if getattr(request, kind) is not None]
    if len(present) != 1:
        found = " and ".join(present) if present else "none of them"
        raise InvalidInputKind(
            f"Send exactly one of image, strokes or pixels; this request has {found}."
        )
    kind = present[0]
    return Drawing(kind, getattr(request, kind), request.model)


def parse_drawing(item: Any) -> Drawing:
    """A batch item (already decoded JSON) as a Drawing, or the InputError describing it."""
    try:
        return drawing_from(PredictRequest.model_validate(item))
    except ValidationError as error:
        raise validation_problem(error) from error


def parse_predict_json(body: bytes) -> Drawing:
    """The JSON body of POST /predict as a Drawing; costs milliseconds for long strokes."""
    try:
        return drawing_from(PredictRequest.model_validate_json(body))
    except ValidationError as error:
        raise validation_problem(error) from error


def parse_batch_json(body: bytes, max_batch: int) -> BatchEnvelope:
    """The JSON body of POST /predict/batch; its items are checked one by one later, in place."""
    try:
        batch = BatchEnvelope.model_validate_json(body)
    except ValidationError as error:
        raise validation_problem(error, BATCH_SHAPE) from error
    if len(batch.inputs) > max_batch:
        raise BatchTooLarge(
            f"The batch has {len(batch.inputs)} inputs; the limit is {max_batch}. "
            "Split it into several requests."
        )
    return batch


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


async def read_multipart(request: Request) -> Drawing:
    """A form with a ``file`` field (the image) and an optional ``model`` field."""
    try:
        # As a context manager the form closes its spooled upload files when done.
        async with request.form(max_files=1, max_fields=4) as form:
            upload, model = form.get("file"), form.get("model")
            unknown = sorted(set(form.keys()) - MULTIPART_FIELDS)
            if unknown:
                raise InvalidRequest(
                    f"{unknown[0]}: unknown field; the multipart form takes a file field holding "
                    "the image and optionally a model field."
                )
            if not isinstance(upload, UploadFile):
                raise InvalidRequest(
                    "file: the multipart form needs a file field holding the image "
                    "(curl -F file=@digit.png ...)."
                )
            if model is not None and not isinstance(model, str):
                raise InvalidRequest("model: the model field must be text, a name from /models.")
            return Drawing("image", await upload.read(), model or None)
    except HTTPException as error:  # Starlette's answer to a body it cannot parse
        raise MalformedMultipart(f"The multipart body cannot be read: {error.detail}.") from error


async def read_predict_body(request: Request) -> bytes | Drawing:
    """POST /predict: JSON bytes, parsed later off the event loop, or a multipart Drawing."""
    kind = media_type(request)
    if kind == JSON_TYPE:
        return await request.body()
    if kind == MULTIPART_TYPE:
        return await read_multipart(request)
    raise UnsupportedMediaType(
        f"Content-Type {kind or '(none)'} is not accepted. Send {JSON_TYPE} "
        f"or {MULTIPART_TYPE} with a file field."
    )


async def read_batch_body(request: Request) -> bytes:
    """POST /predict/batch: JSON bytes, parsed later off the event loop."""
    kind = media_type(request)
    if kind != JSON_TYPE:
        raise UnsupportedMediaType(
            f"Content-Type {kind or '(none)'} is not accepted. Send {JSON_TYPE}: "
            '{"inputs": [...]}.'
        )
    return await request.body()
