"""POST /predict and /predict/batch: a drawing in, ten probabilities out.

Parsing, preprocessing and inference are CPU work, so they run in one of the app's two worker
threads (app.worker_threads), in one hop, never on the event loop. Responses are serialised
once, by hand, from plain dicts: this is the hot path.
"""

import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from fastapi import APIRouter, Request, Response

from app import honesty, metrics, preprocessing
from app.dependencies import (
    Drawing,
    loaded_registry,
    parse_batch_json,
    parse_drawing,
    parse_predict_json,
    read_batch_body,
    read_predict_body,
)
from app.errors import InputError, error_body
from app.inference import Model, ModelRegistry
from app.schemas import BATCH_BODY, ERROR_RESPONSES, PREDICT_BODY, BatchResponse, Prediction
from app.settings import Settings

router = APIRouter(tags=["prediction"])
# A handler's CPU work: (body, registry, settings) -> the serialised JSON answer.
Answer = Callable[[Any, ModelRegistry, Settings], bytes]


def to_json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def to_mnist(drawing: Drawing, settings: Settings) -> np.ndarray:
    """The 28x28 [0, 1] image the model sees, whatever the input kind."""
    if drawing.kind == "strokes":
        return preprocessing.strokes_to_mnist(
            drawing.data, settings.max_strokes, settings.max_points
        )
    if drawing.kind == "pixels":
        return preprocessing.pixels_to_mnist(drawing.data)
    data = drawing.data
    if isinstance(data, str):
        data = preprocessing.decode_base64_image(data)
    return preprocessing.image_bytes_to_mnist(
        data, settings.max_image_pixels, settings.max_image_side
    )


def served_probabilities(digit_image: np.ndarray, model: Model) -> np.ndarray:
    """The ten probabilities a client is shown for one 28x28 model input: the model's, calibrated
    with its card's temperature (app.honesty). Whatever stores "what the model said" uses this."""
    return honesty.served(model.predict(digit_image[np.newaxis] * 255.0)[0], model)


def predict_drawing(drawing: Drawing, model: Model, settings: Settings) -> dict[str, Any]:
    """The Prediction body for one drawing; InputError when the drawing cannot be used."""
    started = time.perf_counter()
    digit_image = to_mnist(drawing, settings)
    preprocessed = time.perf_counter()
    probabilities = served_probabilities(digit_image, model)
    answer = honesty.digit_answer(digit_image, probabilities, settings.model_dir)
    finished = time.perf_counter()
    metrics.count_prediction(model.name, answer["digit"])
    return {
        **answer,
        "model": model.name,
        "model_version": model.version,
        "input": drawing.kind,
        "preprocessed": preprocessing.to_png_data_url(digit_image),
        "timing_ms": {
            "preprocess": round((preprocessed - started) * 1000, 3),
            "inference": round((finished - preprocessed) * 1000, 3),
        },
    }


def predict_item(
    item: Any, default_model: str | None, registry: ModelRegistry, settings: Settings
) -> dict[str, Any]:
    """One batch result: a prediction, or the error of this item alone."""
    try:
        drawing = parse_drawing(item)
        model = registry.get(default_model if drawing.model is None else drawing.model)
        return predict_drawing(drawing, model, settings)
    except InputError as error:
        return error_body(error.code, error.message)


def answer_one(body: bytes | Drawing, registry: ModelRegistry, settings: Settings) -> bytes:
    """The serialised Prediction for a /predict body; runs in a worker thread."""
    drawing = body if isinstance(body, Drawing) else parse_predict_json(body)
    return to_json(predict_drawing(drawing, registry.get(drawing.model), settings))


def answer_batch(body: bytes, registry: ModelRegistry, settings: Settings) -> bytes:
    """The serialised BatchResponse for a /predict/batch body; runs in a worker thread."""
    batch = parse_batch_json(body, settings.max_batch)
    registry.get(batch.model)  # an unknown batch-wide model fails the whole request
    results = [predict_item(item, batch.model, registry, settings) for item in batch.inputs]
    return to_json({"results": results})


async def answer_in_worker_thread(
    request: Request, answer: Answer, body: Any, registry: ModelRegistry
) -> Response:
    """Run `answer` off the event loop: bulky bodies in one worker thread, drawings in the other.

    The handlers take the Request alone and read registry, settings and body themselves:
    solving them as FastAPI dependencies cost about 25 microseconds a request on the hot path.
    """
    state = request.app.state
    bulky = body_size(body) > state.settings.bulk_body_bytes
    content = await state.worker_threads.run(answer, body, registry, state.settings, bulky=bulky)
    return Response(content, media_type="application/json")


def body_size(body: bytes | Drawing) -> int:
    """Bytes of a JSON body, or of the file of a multipart one."""
    return len(body) if isinstance(body, bytes) else len(body.data)


@router.post(
    "/predict",
    summary="Classify one drawing",
    response_model=Prediction,
    responses=ERROR_RESPONSES,
    openapi_extra=PREDICT_BODY,
)
async def predict(request: Request) -> Response:
    """Send JSON with exactly one of image, strokes or pixels, or a multipart file field."""
    registry = loaded_registry(request)  # 503 before reading a body that cannot be answered
    body = await read_predict_body(request)
    return await answer_in_worker_thread(request, answer_one, body, registry)


@router.post(
    "/predict/batch",
    summary="Classify several drawings",
    response_model=BatchResponse,
    responses=ERROR_RESPONSES,
    openapi_extra=BATCH_BODY,
)
async def predict_many(request: Request) -> Response:
    """Results come in input order; a bad item gets its own error and the others still run."""
    registry = loaded_registry(request)
    body = await read_batch_body(request)
    return await answer_in_worker_thread(request, answer_batch, body, registry)
