"""POST /explain and GET /models/{name}/layers/{layer}/weights: a look inside a served model.

The prediction is /predict's own (app.routers.predict.predict_drawing, LiteRT); the layers and the
saliency come from the model's NumPy twin (app.inside), computed on the same 28x28 image. Like
/predict, the CPU work runs in a worker thread, and the answer is serialised by orjson straight
from the NumPy arrays: a CNN's activations are some 170,000 numbers.
"""

from typing import Any, Literal

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, ValidationError

from app.dependencies import Drawing, Registry, drawing_from, loaded_registry, read_predict_body
from app.dependencies import validation_problem as predict_validation_problem
from app.inference import ModelRegistry
from app.inside.explain import explain_image, layer_weights, network_for
from app.routers.predict import answer_in_worker_thread, predict_drawing, to_mnist
from app.schemas import ERROR_RESPONSES, PREDICT_EXAMPLES, Digit, Prediction, PredictRequest
from app.settings import Settings

router = APIRouter(tags=["look inside"])


class ExplainRequest(PredictRequest):
    """A drawing as for /predict, and optionally the digit to explain (default: the answer)."""

    target: Digit | None = Field(
        None, description="Digit whose probability the saliency map explains: 'why not a 3?'."
    )
    encoding: Literal["lists", "base64"] = Field(
        "lists",
        description="lists: activations as nested lists. base64: as activations_base64, "
        "float32 little-endian in C order (what the page asks for: 10x cheaper to send).",
    )


class LayerActivations(BaseModel):
    """One layer's output for this drawing, batch axis left out."""

    name: str = Field(description="The Keras layer's name.")
    kind: str = Field(description="The Keras layer class, e.g. Conv2D, Dense, ReLU.")
    shape: list[int]
    activations: list[Any] | None = Field(None, description="Nested lists of that shape.")
    activations_base64: str | None = Field(
        None, description='With "encoding": "base64": float32 little-endian, C order.'
    )


class Saliency(BaseModel):
    """d probability[target] / d input pixel, over the 28x28 [0, 1] image the model saw."""

    method: str = Field(examples=["gradient"])
    target: int = Field(ge=0, le=9)
    values: list[list[float]] = Field(description="28 rows of 28 gradients.")


class FirstLayer(BaseModel):
    """How much each first-layer unit or filter pushed towards the saliency target."""

    name: str
    contributions: list[float] = Field(
        description="Per unit: activation x d p[target] / d activation, summed over positions."
    )


class Explanation(Prediction):
    """The prediction of /predict, and what the model computed on the way to it."""

    layers: list[LayerActivations]
    first_layer: FirstLayer | None
    saliency: Saliency


class LayerVariable(BaseModel):
    shape: list[int]
    values: list[Any] = Field(description="Nested lists of that shape, as Keras stores them.")


class LayerWeights(BaseModel):
    """A layer's variables by Keras name: kernel and bias, or gamma, beta, moving mean/variance."""

    model: str
    layer: str
    kind: str
    weights: dict[str, LayerVariable]


EXPLAIN_EXAMPLES = {
    **PREDICT_EXAMPLES,
    "why_not": {
        "summary": "Why not a 3? Saliency of digit 3 for a drawn 7, on the tutorial MLP",
        "value": {"strokes": [[[10, 8], [30, 8], [18, 34]]], "target": 3, "model": "mlp128-64"},
    },
}
EXPLAIN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": ExplainRequest.model_json_schema(),
                "examples": EXPLAIN_EXAMPLES,
            }
        },
    }
}


def to_json(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)


def parse_explain_json(body: bytes) -> ExplainRequest:
    try:
        return ExplainRequest.model_validate_json(body)
    except ValidationError as error:
        raise predict_validation_problem(error) from error


def answer_explain(body: bytes | Drawing, registry: ModelRegistry, settings: Settings) -> bytes:
    """The serialised Explanation; runs in a worker thread."""
    if isinstance(body, Drawing):
        drawing, target, encoding = body, None, "lists"
    else:
        request = parse_explain_json(body)
        drawing, target, encoding = drawing_from(request), request.target, request.encoding
    model = registry.get(drawing.model)
    network = network_for(model)  # before the prediction: a model without one fails fast
    prediction = predict_drawing(drawing, model, settings)
    image = to_mnist(drawing, settings)
    target = prediction["digit"] if target is None else target
    return to_json({**prediction, **explain_image(network, image, target, encoding)})


@router.post(
    "/explain",
    summary="Classify one drawing and show the network's layers and saliency",
    response_model=Explanation,
    responses={**ERROR_RESPONSES, 409: {"description": "The model cannot be looked inside"}},
    openapi_extra=EXPLAIN_BODY,
)
async def explain(request: Request) -> Response:
    """The /predict answer for the drawing, plus every layer's activations and the saliency map
    of `target` (default: the answer): red pixels push towards it, blue away."""
    registry = loaded_registry(request)
    body = await read_predict_body(request)
    return await answer_in_worker_thread(request, answer_explain, body, registry)


@router.get(
    "/models/{name}/layers/{layer}/weights",
    summary="A layer's weights and biases",
    response_model=LayerWeights,
    responses={404: ERROR_RESPONSES[404], 409: {"description": "No readable Keras file"}},
    tags=["models"],
)
def weights(name: str, layer: str, registry: Registry) -> Response:
    """The layer's variables as nested lists in the Keras layout (a Conv2D kernel is
    kh x kw x in x out, a Dense kernel in x out), e.g. to draw first-layer units and filters.

    A plain function: FastAPI runs it in its thread pool, since the first call reads the file."""
    model = registry.get(name)
    return Response(to_json(layer_weights(model, layer)), media_type="application/json")
