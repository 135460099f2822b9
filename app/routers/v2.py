"""Open Inference Protocol V2 over REST, the protocol of KServe, Triton, MLServer and Seldon.

Next to the API's own routes, which stay as they are: tritonclient, the kserve SDK and any V2
tool can ask for health, metadata and inferences. Tensors are decoded in app.v2_protocol; each
item then goes through /predict's own code (predict_drawing), so both APIs give the same answers.
Errors take the protocol's shape, {"error": "..."}, with a 4xx (503 while models load).
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Any
from weakref import WeakKeyDictionary

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from app import v2_protocol as v2
from app.dependencies import Drawing, NotReady, loaded_registry
from app.errors import InputError
from app.inference import Model, ModelRegistry, UnknownModel
from app.routers.predict import predict_drawing, to_json
from app.schemas import EXAMPLE_PIXELS, EXAMPLE_PNG_BASE64
from app.settings import Settings

DEFAULT_VERSION = "1"  # what a model without versions answers as
KNOWN_OUTPUTS: "WeakKeyDictionary[Model, list[str]]" = WeakKeyDictionary()


def v2_error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """An error in the protocol's shape (app.main uses it for routing and body-size errors)."""
    return Response(
        to_json(v2.error_body(message)),
        status,
        {"X-Content-Type-Options": "nosniff", **(headers or {})},
        media_type="application/json",
    )


class V2Route(APIRoute):
    """A route whose domain errors answer in the protocol's shape, not the API's."""

    def get_route_handler(self) -> Any:
        handler = super().get_route_handler()

        async def protocol_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except (InputError, NotReady) as error:
                return v2_error_response(error.status, error.message)

        return protocol_handler


def error_docs(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "Not a V2 request this server reads, or the model is not ready",
        404: "Unknown model or version",
        413: "Body, image or batch too large",
        415: "Unsupported image format or content encoding",
        422: "Pixels out of range, or a drawing without ink",
        503: "Models still loading",
    }
    return {
        status: {"model": v2.V2Error, "description": descriptions[status]} for status in statuses
    }


INFER_ERRORS = error_docs(400, 404, 413, 415, 422, 503)
INFER_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": v2.inline_schema(v2.V2InferenceRequest),
                "example": {
                    "inputs": [
                        {
                            "name": "image",
                            "datatype": "BYTES",
                            "shape": [1],
                            "parameters": {"content_type": "base64"},
                            "data": [EXAMPLE_PNG_BASE64],
                        }
                    ]
                },
            },
        },
        # The binary-data extension (the JSON header, then the tensors' bytes, with the
        # Inference-Header-Content-Length header) is also read, but no schema can describe such a
        # body: documented in words only, so that schema-valid bodies are ones the server takes.
        "description": "The V2 inference request as JSON. The binary-data extension is also "
        f"accepted: the JSON header ({v2.HEADER_LENGTH} bytes, given in that header), then the "
        "input tensors' bytes, any Content-Type.",
    }
}
INFER_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": v2.V2InferenceResponse,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        "description": "Outputs; as application/octet-stream when some follow as binary data.",
    },
    **INFER_ERRORS,
}

router = APIRouter(prefix=v2.V2_PREFIX, tags=["open inference protocol (v2)"], route_class=V2Route)


def server_version() -> str:
    try:
        return package_version("digitdraw")
    except PackageNotFoundError:
        return "unknown"


def model_version(model: Model) -> str:
    """A model's version as the protocol names it; models before versions are version 1."""
    return str(getattr(model, "version", None) or DEFAULT_VERSION)


def model_versions(registry: ModelRegistry, name: str) -> list[str]:
    """Every served version of a model, oldest first."""
    registry.get(name)  # UnknownModel for a name the registry lacks
    return [str(number) for number in sorted(registry.catalogue.models[name])]


def versioned_model(registry: ModelRegistry, name: str, version: str | None) -> Model:
    """The model for /v2/models/{name}[/versions/{version}]: 404 for an unknown one."""
    model = registry.get(name)
    if version is None or version == model_version(model):
        return model
    try:
        return registry.get(f"{name}@{version}")
    except UnknownModel as error:
        raise v2.UnknownVersion(
            f"Model {name!r} has no version {version!r}; "
            f"it has {', '.join(model_versions(registry, name))}."
        ) from error


def output_names(model: Model, settings: Settings) -> list[str]:
    """The outputs this model gives: is_digit only where its predictions carry one.

    Learnt once per model from one prediction, so metadata never promises an output the
    predictions lack, whoever adds fields to them.
    """
    names = KNOWN_OUTPUTS.get(model)
    if names is None:
        probe = predict_drawing(Drawing("pixels", EXAMPLE_PIXELS), model, settings)
        names = KNOWN_OUTPUTS[model] = list(v2.output_tensors([probe]))
    return names


def answer_infer(
    body: bytes, request: Request, model: Model, name: str, version: str | None
) -> tuple[bytes, int | None]:
    """The serialised response for an inference body; runs in a worker thread."""
    settings: Settings = request.app.state.settings
    data = v2.decompress(body, request.headers.get("content-encoding", ""), settings.max_body_bytes)
    parsed = v2.parse_infer_request(data, request.headers.get(v2.HEADER_LENGTH), settings.max_batch)
    predictions = []
    for index, drawing in enumerate(parsed.drawings):
        try:
            predictions.append(predict_drawing(drawing, model, settings))
        except InputError as error:
            raise type(error)(f"{parsed.input_name}[{index}]: {error.message}") from error
    tensors = v2.output_tensors(predictions)
    return v2.infer_response(parsed, tensors, name, version or model_version(model))


@router.get("", summary="Server metadata", response_model=v2.V2ServerMetadata)
async def server_metadata() -> dict[str, Any]:
    """The server's name, version and the protocol extensions it speaks."""
    return {"name": "digitdraw", "version": server_version(), "extensions": v2.EXTENSIONS}


@router.get("/health/live", summary="Server liveness", response_model=v2.V2Liveness)
async def server_live() -> dict[str, bool]:
    """200 as long as the process answers."""
    return {"live": True}


@router.get(
    "/health/ready",
    summary="Server readiness",
    response_model=v2.V2Readiness,
    responses=error_docs(400),
)
async def server_ready(request: Request) -> Any:
    """200 once every model is loaded and warm; 400 before, as the protocol says (4xx)."""
    registry = getattr(request.app.state, "registry", None)
    if registry is None or not registry.ready:
        return v2_error_response(400, "The models are still loading; try again in a moment.")
    return {"ready": True}


def metadata(request: Request, name: str, version: str | None) -> dict[str, Any]:
    registry = loaded_registry(request)
    model = versioned_model(registry, name, version)
    versions = model_versions(registry, name) if version is None else [version]
    return v2.model_metadata(name, versions, output_names(model, request.app.state.settings))


def readiness(request: Request, name: str, version: str | None) -> Any:
    registry = getattr(request.app.state, "registry", None)
    if registry is None or not registry.ready:
        return v2_error_response(400, f"Model {name!r} is still loading; try again in a moment.")
    versioned_model(registry, name, version)
    return {"name": name, "ready": True}


async def infer(request: Request, name: str, version: str | None) -> Response:
    registry = loaded_registry(request)  # 503 before reading a body that cannot be answered
    model = versioned_model(registry, name, version)
    body = await request.body()
    state = request.app.state
    bulky = len(body) > state.settings.bulk_body_bytes
    content, header_length = await state.worker_threads.run(
        answer_infer, body, request, model, name, version, bulky=bulky
    )
    if header_length is None:
        return Response(content, media_type="application/json")
    return Response(
        content,
        media_type="application/octet-stream",
        headers={v2.HEADER_LENGTH: str(header_length)},
    )


METADATA = {"response_model": v2.V2ModelMetadata, "responses": error_docs(404, 503)}
READY = {"response_model": v2.V2ModelReadiness, "responses": error_docs(400, 404)}
INFER = {"responses": INFER_RESPONSES, "openapi_extra": INFER_BODY}


@router.get("/models/{name}", summary="Model metadata", **METADATA)
async def model_metadata(request: Request, name: str) -> dict[str, Any]:
    """Versions, inputs and outputs, with -1 for the batch dimension."""
    return metadata(request, name, None)


@router.get("/models/{name}/versions/{version}", summary="Model version metadata", **METADATA)
async def version_metadata(request: Request, name: str, version: str) -> dict[str, Any]:
    """Inputs and outputs of one version."""
    return metadata(request, name, version)


@router.get("/models/{name}/ready", summary="Model readiness", **READY)
async def model_ready(request: Request, name: str) -> Any:
    """200 when the model can answer; 404 for a model the server does not have."""
    return readiness(request, name, None)


@router.get("/models/{name}/versions/{version}/ready", summary="Model version readiness", **READY)
async def version_ready(request: Request, name: str, version: str) -> Any:
    """200 when this version can answer; 404 for an unknown model or version."""
    return readiness(request, name, version)


@router.post("/models/{name}/infer", summary="Inference (V2)", **INFER)
async def model_infer(request: Request, name: str) -> Response:
    """pixels (FP32 or UINT8 [N, 28, 28]) or image (BYTES [N]) in; probabilities, digit out."""
    return await infer(request, name, None)


@router.post("/models/{name}/versions/{version}/infer", summary="Inference on a version", **INFER)
async def version_infer(request: Request, name: str, version: str) -> Response:
    """As /v2/models/{name}/infer, on one version of the model."""
    return await infer(request, name, version)
