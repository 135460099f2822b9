"""Request and response shapes of the JSON API, named by direction; they are the OpenAPI docs.

Requests are parsed with these models straight from the body bytes (see app.dependencies);
responses are built as plain dicts on the hot path, and the response models document them.
"""

from typing import Annotated, Any, Literal

from pydantic import AllowInfNan, BaseModel, BeforeValidator, ConfigDict, Field, Strict, StrictStr

# JSON numbers only: no numeric strings, no booleans, no NaN or infinity (Python's json
# module would let NaN through; a drawing with NaN coordinates is a client bug to report).
Number = Annotated[float, Strict(), AllowInfNan(False)]
Point = tuple[Number, Number]


def whole_number(value: Any) -> Any:
    """8.0 as 8: JSON Schema's integer takes any number with no fraction, so the server does too."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# A digit field: a JSON integer 0..9, with 8.0 taken as 8; no strings, no booleans.
Digit = Annotated[int, Field(ge=0, le=9), Strict(), BeforeValidator(whole_number)]

# A 40x40 PNG of a drawn 7 (black on white), small enough to read in the docs.
EXAMPLE_PNG_BASE64 = (
    "iVBORw0KGgoAAAANSUhEUgAAACgAAAAoCAAAAACpleexAAAAa0lEQVR42uWUQQrAIBADndL/f3l69KCUBLyUehIcl"
    "t0kLo7sXOOP4D2v7N5NK8LxHl17XMykqZgMQ9OjAUgztQFIo6MBSOOMJ/NIEwoDkCZmBiBNcA1Amq9gANIIbgDSWOjr"
    "SplQrKMfXaQPJSURVH/eB84AAAAASUVORK5CYII="
)
EXAMPLE_STROKES = [[[10, 8], [30, 8], [18, 34]]]
# A vertical bar: a 1 as MNIST draws it, white ink on black.
EXAMPLE_PIXELS = [
    [255 if 4 <= row < 24 and 13 <= col < 16 else 0 for col in range(28)] for row in range(28)
]

PREDICT_EXAMPLES: dict[str, dict[str, Any]] = {
    "image": {
        "summary": "PNG as a data URL",
        "value": {"image": "data:image/png;base64," + EXAMPLE_PNG_BASE64},
    },
    "bare_base64": {
        "summary": "Bare base64 of a PNG, JPEG, WebP, GIF or BMP file, with a model",
        "value": {"image": EXAMPLE_PNG_BASE64, "model": "mlp512"},
    },
    "strokes": {
        "summary": "Pen strokes: lists of [x, y] points, y pointing down, any unit",
        "value": {"strokes": EXAMPLE_STROKES},
    },
    "pixels": {
        "summary": "28x28 pixels 0..255, white ink on black, used as is",
        "value": {"pixels": EXAMPLE_PIXELS},
    },
}
BATCH_EXAMPLES: dict[str, dict[str, Any]] = {
    "mixed": {
        "summary": "One input of each kind",
        "value": {
            "inputs": [
                {"image": "data:image/png;base64," + EXAMPLE_PNG_BASE64},
                {"strokes": EXAMPLE_STROKES},
                {"pixels": EXAMPLE_PIXELS},
            ]
        },
    }
}


# Documented, not enforced by pydantic (the handlers check them, with messages of their own):
# what the schema promises must be what the server takes (tests/test_schema_fuzz.py).
EXACTLY_ONE_KIND = {
    "oneOf": [
        {"required": [kind], "properties": {kind: {"not": {"type": "null"}}}}
        for kind in ("image", "strokes", "pixels")
    ]
}
PIXEL_GRID = {
    "minItems": 28,
    "maxItems": 28,
    "items": {"minItems": 28, "maxItems": 28, "items": {"minimum": 0, "maximum": 255}},
}


class PredictRequest(BaseModel):
    """One drawing: exactly one of image, strokes or pixels, and optionally a model name."""

    model_config = ConfigDict(json_schema_extra=EXACTLY_ONE_KIND)

    image: StrictStr | None = Field(
        None, description="PNG, JPEG, WebP, GIF or BMP as a data URL or bare base64."
    )
    strokes: list[list[Point]] | None = Field(
        None,
        description="Strokes, each a list of [x, y] points (y down, any unit); at most 100 "
        "strokes and 10,000 points.",
        json_schema_extra={"maxItems": 100},
    )
    pixels: list[list[Number]] | None = Field(
        None,
        description="28 rows of 28 numbers 0..255, white ink on black, used without change.",
        json_schema_extra=PIXEL_GRID,
    )
    model: StrictStr | None = Field(
        None,
        description='A name from GET /models ("robust-cnn", its default version) or one version '
        '("robust-cnn@2"); the default model if absent.',
    )


class BatchRequest(BaseModel):
    """Several drawings classified in one call, answered in the same order."""

    inputs: list[PredictRequest] = Field(
        description="At most 256 input objects.", json_schema_extra={"maxItems": 256}
    )
    model: StrictStr | None = Field(None, description="Model for items that name none.")


class BatchEnvelope(BaseModel):
    """A batch as parsed: items stay raw so that one bad item fails alone, in place."""

    inputs: list[Any]
    model: StrictStr | None = None


class Timing(BaseModel):
    """Server time spent on one prediction, in milliseconds."""

    preprocess: float
    inference: float


class Prediction(BaseModel):
    """The model's answer for one drawing."""

    digit: int = Field(ge=0, le=9, description="The most probable digit.")
    confidence: float = Field(description="Probability of that digit.")
    probabilities: list[float] = Field(description="Ten probabilities, index = digit, sum 1.")
    is_digit: bool = Field(
        description="Whether the drawing looks like a digit at all (digit_score >= the "
        "detector's threshold); digit and probabilities are the network's best guess either way."
    )
    digit_score: float = Field(
        ge=0, le=1, description="How digit-like the drawing is, from the digit detector."
    )
    model: str
    model_version: int = Field(description='The version of the model that answered ("name@2").')
    input: Literal["image", "strokes", "pixels"]
    preprocessed: str = Field(description="PNG data URL of the 28x28 image the model saw.")
    timing_ms: Timing


class ErrorDetail(BaseModel):
    """What went wrong, as a stable code and a message that says how to fix it."""

    code: str = Field(examples=["empty_input"])
    message: str = Field(examples=["No ink found: draw a digit, then send the drawing."])


class ErrorResponse(BaseModel):
    """The body of every error response, and of a failed item in a batch."""

    error: ErrorDetail


class BatchResponse(BaseModel):
    """One result per input, in order: a prediction or an error."""

    results: list[Prediction | ErrorResponse]


class ModelVersionSummary(BaseModel):
    """One version of a model; /predict takes it as "name@version"."""

    version: int
    ref: str = Field(description='The exact name of this version, e.g. "robust-cnn@2".')
    default: bool = Field(
        description="True for the version used when a request names only the model."
    )
    parent: int | None = Field(description="The version this one was fine-tuned from.")
    created: str | None
    mnist_test_accuracy: float | None
    real_drawings_accuracy: float | None


class ModelSummary(BaseModel):
    """A served model as listed by GET /models (its default version); the card holds the rest."""

    name: str
    description: str | None
    architecture: str | None
    params: int | None
    mnist_test_accuracy: float | None
    real_drawings_accuracy: float | None = Field(
        None, description="Accuracy on strokes of held-out writers (UCI pendigits), if measured."
    )
    default: bool = Field(description="True for the model used when a request names none.")
    version: int = Field(1, description="The default version, answering requests for the name.")
    versions: list[ModelVersionSummary] = Field(
        default_factory=list, description="Every served version, oldest first."
    )
    report: str | None = Field(None, description="Path of the model's report page (HTML).")


class ModelList(BaseModel):
    """Every served model."""

    models: list[ModelSummary]


class Health(BaseModel):
    """The process is alive."""

    status: Literal["ok"]


class Readiness(BaseModel):
    """Every model is loaded and warm."""

    status: Literal["ready"]
    models: list[str]
    default_model: str


def add_request_schemas(openapi: dict[str, Any]) -> dict[str, Any]:
    """Put the hand-parsed request bodies among the named schemas their operations refer to."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    if "PredictRequest" in schemas:  # FastAPI caches the document; it is built once
        return openapi
    for model in (PredictRequest, BatchRequest):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    # A batch takes any item and answers a bad one with its own error, in place: say so.
    schemas["BatchRequest"]["properties"]["inputs"]["items"] = {
        "anyOf": [{"$ref": "#/components/schemas/PredictRequest"}, {}],
        "description": "An input object; any other item gets an error result in its place.",
    }
    return openapi


def json_body(name: str, examples: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The OpenAPI requestBody content for a JSON schema by name, with examples."""
    return {
        "schema": {"$ref": f"#/components/schemas/{name}"},
        "examples": examples,
    }


PREDICT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": json_body("PredictRequest", PREDICT_EXAMPLES),
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "model": {"type": "string"},
                    },
                    "additionalProperties": False,  # refused: 422 invalid_request
                }
            },
        },
    }
}
BATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": json_body("BatchRequest", BATCH_EXAMPLES)},
    }
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "Malformed JSON or an undecodable image",
        404: "Unknown model",
        413: "Body, image, drawing or batch too large",
        415: "Unsupported content type or image format",
        422: "Invalid fields, no ink, or not exactly one input kind",
        503: "Models still loading",
    }.items()
}


# --- POST /predict/number -----------------------------------------------------------------------

# "17" as strokes: a 1, then a 7 whose crossbar is drawn last, as people often do.
EXAMPLE_NUMBER_STROKES = [
    [[10, 10], [10, 60]],
    [[40, 10], [70, 10], [52, 60]],
    [[50, 36], [66, 36]],
]
NUMBER_EXAMPLES: dict[str, dict[str, Any]] = {
    "strokes": {
        "summary": "A number as pen strokes, in any order (here a 7's crossbar comes last)",
        "value": {"strokes": EXAMPLE_NUMBER_STROKES},
    },
    "image": {
        "summary": "A picture of a number: PNG, JPEG, WebP, GIF or BMP as a data URL or base64",
        "value": {"image": "data:image/png;base64," + EXAMPLE_PNG_BASE64},
    },
}


class NumberDigit(BaseModel):
    """One digit of a number: the model's answer for it and where it is in the input."""

    digit: int = Field(ge=0, le=9, description="The most probable digit.")
    confidence: float = Field(description="Probability of that digit.")
    probabilities: list[float] = Field(description="Ten probabilities, index = digit, sum 1.")
    is_digit: bool = Field(description="Whether this part looks like a digit at all.")
    digit_score: float = Field(description="How digit-like the part is, 0 to 1.")
    box: list[float] = Field(
        min_length=4,
        max_length=4,
        description="[left, top, right, bottom] in the input's own units (stroke units, or "
        "pixels of the image, right and bottom exclusive).",
    )


class NumberPrediction(BaseModel):
    """A whole number read digit by digit, left to right."""

    number: str = Field(examples=["2026"], description="The digits read, left to right.")
    digits: list[NumberDigit] = Field(description="At most 12, left to right.")
    model: str
    input: Literal["image", "strokes", "pixels"]
    timing_ms: Timing


NUMBER_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": json_body("PredictRequest", NUMBER_EXAMPLES),
            "multipart/form-data": PREDICT_BODY["requestBody"]["content"]["multipart/form-data"],
        },
    }
}
