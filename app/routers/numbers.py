"""POST /predict/number: a whole number in, its digits left to right out.

Takes what /predict takes (JSON with image, strokes or pixels, or a multipart file) and answers
in the same worker threads; the splitting itself is app.numbers.
"""

import time
from typing import Any

from fastapi import APIRouter, Request, Response

from app import preprocessing
from app.dependencies import Drawing, loaded_registry, parse_predict_json, read_predict_body
from app.inference import Model, ModelRegistry
from app.numbers import answer, images, strokes
from app.numbers.segmenting import Judge
from app.numbers.splitter import splitter_in
from app.routers.predict import answer_in_worker_thread, to_json
from app.schemas import ERROR_RESPONSES, NUMBER_BODY, NumberPrediction
from app.settings import Settings

router = APIRouter(tags=["prediction"])


def digit_parts(drawing: Drawing, judge: Judge, settings: Settings) -> list:
    """The number's digits, whatever the input kind."""
    if drawing.kind == "strokes":
        return strokes.stroke_parts(drawing.data, judge, settings.max_strokes, settings.max_points)
    digit_splitter = splitter_in(settings.model_dir)
    if drawing.kind == "pixels":
        return images.pixels_parts(drawing.data, judge, digit_splitter)
    data = drawing.data
    if isinstance(data, str):
        data = preprocessing.decode_base64_image(data)
    return images.image_parts(
        data, judge, digit_splitter, settings.max_image_pixels, settings.max_image_side
    )


def read_number(drawing: Drawing, model: Model, settings: Settings) -> dict[str, Any]:
    """The NumberPrediction body for one drawing; InputError when it cannot be used."""
    started = time.perf_counter()
    parts = digit_parts(drawing, answer.model_judge(model, settings.model_dir), settings)
    split = time.perf_counter()
    digits = answer.read_digits(parts, model, settings.model_dir)
    finished = time.perf_counter()
    return {
        "number": "".join(str(digit["digit"]) for digit in digits),
        "digits": digits,
        "model": model.name,
        "input": drawing.kind,
        "timing_ms": {
            "preprocess": round((split - started) * 1000, 3),
            "inference": round((finished - split) * 1000, 3),
        },
    }


def answer_number(body: bytes | Drawing, registry: ModelRegistry, settings: Settings) -> bytes:
    """The serialised NumberPrediction for a /predict/number body; runs in a worker thread."""
    drawing = body if isinstance(body, Drawing) else parse_predict_json(body)
    return to_json(read_number(drawing, registry.get(drawing.model), settings))


@router.post(
    "/predict/number",
    summary="Read a whole number",
    response_model=NumberPrediction,
    responses=ERROR_RESPONSES,
    openapi_extra=NUMBER_BODY,
)
async def predict_number(request: Request) -> Response:
    """The same inputs as /predict; digits are split by position, never by stroke order."""
    registry = loaded_registry(request)
    body = await read_predict_body(request)
    return await answer_in_worker_thread(request, answer_number, body, registry)
