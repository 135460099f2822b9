"""POST /corrections ("it was really a 7"), GET /corrections and its export (teacher key).

A correction is a /predict input plus the digit it really was. The server prepares the input
exactly as /predict does (same limits, same errors), asks the named model again for its answer
and probabilities, and stores all of it (app.store.corrections). The CPU work runs in the app's
worker threads like a prediction; the write, which waits for the disk, in a thread of its own.
If the store cannot be written the answer is 503 ``store_unavailable``, and /predict still works.
"""

import asyncio
import base64
import json
import logging
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, StrictStr, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from app import preprocessing
from app.auth import TeacherOnly
from app.dependencies import (
    JSON_TYPE,
    MULTIPART_TYPE,
    Drawing,
    InvalidRequest,
    MalformedMultipart,
    NotReady,
    UnsupportedMediaType,
    drawing_from,
    loaded_registry,
    media_type,
    validation_problem,
)
from app.inference import ModelRegistry
from app.routers.predict import served_probabilities, to_mnist
from app.schemas import ERROR_RESPONSES, Digit, ErrorResponse, PredictRequest
from app.settings import Settings
from app.store.corrections import (
    PAGE_LIMIT,
    CorrectionStore,
    NewCorrection,
    correction_summary,
    examples_csv,
    examples_npz,
    labelled_examples,
)
from app.store.db import StoreUnavailable

logger = logging.getLogger(__name__)
router = APIRouter(tags=["corrections"])

CORRECTION_SHAPE = (
    'a JSON object with one of image, strokes or pixels and the label it really is, e.g. {"strokes"'
    ': [[[10, 10], [90, 10], [40, 110]]], "label": 7}'
)
MULTIPART_FIELDS = ("label", "answer", "model", "source", "writer")
MAX_ID = 2**63 - 1  # SQLite's largest integer: ids are never larger
LABEL_HINT = "label is the digit the drawing really is, an integer from 0 to 9."


class StoreNotWritable(NotReady):
    """The store cannot be written now (read-only data folder, full disk): retry later."""

    code = "store_unavailable"
    status = 503


class CorrectionRequest(PredictRequest):
    """A /predict input and the digit it really is."""

    label: Digit = Field(description="The digit the drawing really is.")
    answer: Digit | None = Field(None, description="The answer the user saw, if any.")
    source: Literal["page", "class", "api"] = Field(
        "api", description="Where the correction was made: the drawing page, a class, the API."
    )
    writer: StrictStr | None = Field(
        None,
        max_length=64,
        description="Who drew it (a pseudonym); held-out evaluation keeps each writer whole.",
    )


MULTIPART_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["file", "label"],
    "properties": {
        "file": {"type": "string", "format": "binary"},
        "label": {"type": "integer", "minimum": 0, "maximum": 9},
        "answer": {"type": "integer", "minimum": 0, "maximum": 9},
        "model": {"type": "string"},
        "source": {"type": "string", "enum": ["page", "class", "api"]},
        "writer": {"type": "string", "maxLength": 64},
    },
    "additionalProperties": False,  # refused: 422 invalid_request
}
CORRECTION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": CorrectionRequest.model_json_schema(),
                "example": {"strokes": [[[10, 10], [90, 10], [40, 110]]], "label": 7},
            },
            MULTIPART_TYPE: {"schema": MULTIPART_SCHEMA},
        },
    }
}


class CorrectionCreated(BaseModel):
    """The stored correction's id."""

    id: int


class CorrectionItem(BaseModel):
    """A stored correction."""

    id: int
    created_at: float = Field(description="Seconds since the epoch (UTC).")
    source: str
    writer: str | None
    input: Literal["image", "strokes", "pixels"]
    data: Any = Field(description="The input as sent: strokes or pixels, or the image's base64.")
    preprocessed: str = Field(description="PNG data URL of the 28x28 the model saw.")
    model: str
    model_version: int
    digit: int = Field(description="The model's answer.")
    shown_digit: int | None = Field(description="The answer the user said they saw.")
    probabilities: list[float]
    label: int


class CorrectionPage(BaseModel):
    """Corrections oldest first; pass `next_after` as `after` for the next page."""

    corrections: list[CorrectionItem]
    next_after: int | None
    total: int


def store_for(request: Request) -> CorrectionStore:
    """The app's one CorrectionStore (it opens a connection per call, so sharing it is safe)."""
    state = request.app.state
    store = getattr(state, "corrections", None)
    if store is None:
        store = state.corrections = CorrectionStore(state.settings.data_dir)
    return store


def parse_correction_json(body: bytes) -> tuple[CorrectionRequest, Drawing, bytes]:
    """The request, its drawing, and the input's bytes as sent."""
    try:
        request = CorrectionRequest.model_validate_json(body)
    except ValidationError as error:
        problem = validation_problem(error, CORRECTION_SHAPE)
        if error.errors()[0]["loc"][:1] == ("label",):
            problem.message += " " + LABEL_HINT
        raise problem from error
    drawing = drawing_from(request)
    if drawing.kind == "image":
        data = preprocessing.decode_base64_image(drawing.data)
        return request, Drawing("image", data, drawing.model), data
    # Strokes and pixels are kept as the client wrote them (1 stays 1, not 1.0).
    raw = json.loads(body)[drawing.kind]
    return request, drawing, json.dumps(raw, separators=(",", ":")).encode()


async def read_correction_multipart(request: Request) -> tuple[CorrectionRequest, Drawing, bytes]:
    """A form with a ``file`` field (the image), ``label`` and the optional other fields."""
    try:
        async with request.form(max_files=1, max_fields=8) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidRequest(
                    "file: the multipart form needs a file field holding the image "
                    "(curl -F file=@digit.png -F label=7 ...)."
                )
            unknown = sorted(set(form.keys()) - {"file", *MULTIPART_FIELDS})
            if unknown:
                raise InvalidRequest(
                    f"{unknown[0]}: unknown field; the multipart form takes a file field holding "
                    f"the image, label and optionally {', '.join(MULTIPART_FIELDS[1:])}."
                )
            fields: dict[str, Any] = {}
            for key in MULTIPART_FIELDS:
                value = form.get(key)
                if value is not None and not isinstance(value, str):
                    raise InvalidRequest(f"{key}: the {key} field must be text, not a file.")
                if value is not None:
                    fields[key] = value
            data = await upload.read()
    except HTTPException as error:
        raise MalformedMultipart(f"The multipart body cannot be read: {error.detail}.") from error
    # Form fields are text: digits become numbers, anything else stays text and is refused.
    values: dict[str, Any] = dict(fields)
    for key in ("label", "answer"):
        if key in values:
            values[key] = int(values[key]) if values[key].strip().isdigit() else values[key]
    try:
        parsed = CorrectionRequest.model_validate(values)
    except ValidationError as error:
        problem = validation_problem(error, CORRECTION_SHAPE)
        if error.errors()[0]["loc"][:1] == ("label",):
            problem.message += " " + LABEL_HINT
        raise problem from error
    return parsed, Drawing("image", data, parsed.model), data


def prepare_correction(
    parsed: tuple[CorrectionRequest, Drawing, bytes] | bytes,
    registry: ModelRegistry,
    settings: Settings,
) -> NewCorrection:
    """Parse, prepare and predict as /predict does; runs in a worker thread."""
    request, drawing, data = parse_correction_json(parsed) if isinstance(parsed, bytes) else parsed
    model = registry.get(drawing.model)
    digit_image = to_mnist(drawing, settings)
    # The probabilities /predict showed (calibrated), not the model's raw softmax.
    probabilities = served_probabilities(digit_image, model)
    # Rounded as the preview PNG is (preprocessing.to_png_bytes): the stored 28x28 is the one
    # the page showed.
    mnist = np.clip(np.rint(digit_image * 255.0), 0, 255).astype(np.uint8)
    return NewCorrection(
        source=request.source,
        writer=request.writer,
        input_kind=drawing.kind,
        input_data=data,
        mnist=mnist,
        model=model.name,
        model_version=model.version,
        digit=int(probabilities.argmax()),
        shown_digit=request.answer,
        probabilities=probabilities.tolist(),
        label=request.label,
    )


def unwritable(error: StoreUnavailable) -> StoreNotWritable:
    logger.error("A correction could not be stored: %s", error)
    return StoreNotWritable(
        "The correction could not be saved: the server cannot write to its data folder "
        "right now (read-only or full). Predictions still work; try again later."
    )


@router.post(
    "/corrections",
    status_code=201,
    summary="Store a correction",
    response_model=CorrectionCreated,
    responses={
        **ERROR_RESPONSES,
        503: {"model": ErrorResponse, "description": "Models still loading, or store not writable"},
    },
    openapi_extra=CORRECTION_BODY,
)
async def post_correction(request: Request) -> Response:
    """A /predict input (JSON or multipart) plus `label`, the digit it really is."""
    registry = loaded_registry(request)
    state = request.app.state
    kind = media_type(request)
    if kind == JSON_TYPE:
        body: Any = await request.body()
        size = len(body)
    elif kind == MULTIPART_TYPE:
        body = await read_correction_multipart(request)
        size = len(body[2])
    else:
        raise UnsupportedMediaType(
            f"Content-Type {kind or '(none)'} is not accepted. Send {JSON_TYPE} "
            f"or {MULTIPART_TYPE} with file and label fields."
        )
    bulky = size > state.settings.bulk_body_bytes
    correction = await state.worker_threads.run(
        prepare_correction, body, registry, state.settings, bulky=bulky
    )
    try:
        correction_id = await asyncio.to_thread(store_for(request).add, correction)
    except StoreUnavailable as error:
        raise unwritable(error) from error
    return JSONResponse({"id": correction_id}, status_code=201)


def item(correction: Any) -> dict[str, Any]:
    body = correction_summary(correction)
    if correction.input_kind == "image":
        body["data"] = base64.b64encode(correction.input_data).decode("ascii")
    else:
        body["data"] = json.loads(correction.input_data)
    body["preprocessed"] = preprocessing.to_png_data_url(correction.mnist / 255.0)
    return body


def read_page(store: CorrectionStore, after: int, limit: int) -> dict[str, Any]:
    found = store.page(after, limit)
    return {
        "corrections": [item(correction) for correction in found],
        "next_after": found[-1].id if len(found) == limit else None,
        "total": store.count(),
    }


@router.get("/corrections", summary="List corrections (teacher)", response_model=CorrectionPage)
async def list_corrections(
    request: Request,
    _: TeacherOnly,
    after: Annotated[
        int, Query(ge=0, le=MAX_ID, description="Return corrections with a larger id.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT)] = 100,
) -> Response:
    """Stored corrections, oldest first, with their input as sent."""
    try:
        page = await asyncio.to_thread(read_page, store_for(request), after, limit)
    except StoreUnavailable as error:
        raise unwritable(error) from error
    return JSONResponse(page)


@router.get(
    "/corrections/export",
    summary="Export corrections for training (teacher)",
    responses={200: {"content": {"application/octet-stream": {}, "text/csv": {}}}},
)
async def export_corrections(
    request: Request,
    _: TeacherOnly,
    format: Annotated[Literal["npz", "csv"], Query(description="npz: MNIST's layout.")] = "npz",
) -> Response:
    """Corrections and labelled class drawings: `.npz` with x (N, 28, 28) uint8 white on black
    and y, as MNIST; or CSV, one digit a row with its 784 pixels."""
    data_dir = request.app.state.settings.data_dir
    disposition = {"Content-Disposition": f'attachment; filename="corrections.{format}"'}
    if format == "csv":
        # A plain generator: Starlette pulls it in a thread, a few hundred rows at a time.
        rows = examples_csv(labelled_examples(data_dir))
        return StreamingResponse(rows, media_type="text/csv; charset=utf-8", headers=disposition)
    try:
        content = await asyncio.to_thread(examples_npz, labelled_examples(data_dir))
    except StoreUnavailable as error:
        raise unwritable(error) from error
    return Response(content, media_type="application/octet-stream", headers=disposition)
