"""Open Inference Protocol V2 (KServe, Triton, MLServer, Seldon) tensors in and out, without HTTP.

The protocol's side of ``POST /v2/models/{name}/infer``: a request's JSON header (and, with
Triton's binary-data extension, the raw tensors after it) becomes the list of drawings that
/predict would classify; the answers become output tensors, in JSON or as binary data.

Inputs (a request holds exactly one):
- ``pixels``: FP32 or UINT8 ``[N, 28, 28]``, 0..255 white on black, /predict's ``pixels``;
- ``image``: BYTES ``[N]``, image files as /predict's ``image`` takes them. In JSON a BYTES
  element is text, so files are base64 with ``parameters.content_type: "base64"`` (MLServer's
  convention) or data URLs; as binary data each element is a 4-byte little-endian length and
  the file's bytes (Triton's serialisation).
Outputs: ``probabilities`` FP32 ``[N, 10]``, ``digit`` INT64 ``[N]``, and ``is_digit`` BOOL
``[N]`` where the predictions carry it.

Spec: https://github.com/kserve/open-inference-protocol (REST), and Triton's binary-data
extension: docs/protocol/extension_binary_data.md in triton-inference-server/server.
"""

import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, StrictStr, ValidationError

from app.dependencies import Drawing
from app.errors import InputError
from app.preprocessing import MNIST_SIDE

V2_PREFIX = "/v2"
# Triton's binary-data extension: the JSON header's length; the tensors' bytes follow it.
HEADER_LENGTH = "Inference-Header-Content-Length"
EXTENSIONS = ["binary_tensor_data"]
PIXELS_INPUT = "pixels"
IMAGE_INPUT = "image"
PIXEL_TYPES = ("FP32", "UINT8")
BASE64 = "base64"

OutputName = Literal["probabilities", "digit", "is_digit"]
# Each output's datatype, shape after the batch dimension, and little-endian binary dtype.
OUTPUTS: dict[str, tuple[str, list[int], str]] = {
    "probabilities": ("FP32", [10], "<f4"),
    "digit": ("INT64", [], "<i8"),
    "is_digit": ("BOOL", [], "|u1"),  # one byte per element, as Triton sends BOOL
}


class InvalidInferenceRequest(InputError):
    """The request is not a V2 inference request this server can read."""

    code = "invalid_inference_request"
    status = 400


class UnsupportedEncoding(InputError):
    """A Content-Encoding other than gzip, deflate or identity."""

    code = "unsupported_encoding"
    status = 415


class DecompressedTooLarge(InputError):
    """A compressed body that unpacks past the body limit."""

    code = "body_too_large"
    status = 413


class UnknownVersion(InputError):
    """The model exists, the version does not."""

    code = "unknown_model_version"
    status = 404


def is_v2_path(path: str) -> bool:
    """Paths whose errors take the protocol's shape, {"error": "..."}."""
    return path == V2_PREFIX or path.startswith(V2_PREFIX + "/")


def error_body(message: str) -> dict[str, str]:
    """The protocol's error shape (not the rest of the API's {"error": {"code", ...}})."""
    return {"error": message}


class V2RequestInput(BaseModel):
    """One input tensor of an inference request."""

    # The enums document; the handler checks them itself, with messages that say what to send.
    name: StrictStr = Field(
        description="pixels (FP32 or UINT8 [N, 28, 28]) or image (BYTES [N]).",
        json_schema_extra={"enum": [PIXELS_INPUT, IMAGE_INPUT]},
    )
    shape: list[int] = Field(description="[N, 28, 28] for pixels, [N] for image; N is 1 to 256.")
    datatype: StrictStr = Field(json_schema_extra={"enum": [*PIXEL_TYPES, "BYTES"]})
    parameters: dict[str, Any] | None = Field(
        None,
        description='content_type "base64" for BYTES given as base64 text; binary_data_size '
        f"for a tensor sent as binary data after the JSON ({HEADER_LENGTH} header).",
    )
    data: Any = Field(None, description="The elements, flat or nested, in row-major order.")


class V2RequestOutput(BaseModel):
    """An output the client asks for."""

    name: StrictStr = Field(
        description="probabilities, digit or is_digit.", json_schema_extra={"enum": list(OUTPUTS)}
    )
    parameters: dict[str, Any] | None = Field(
        None, description="binary_data: true to get this output as binary data."
    )


class V2InferenceRequest(BaseModel):
    """A V2 inference request: one input tensor, optionally the outputs wanted."""

    id: StrictStr | None = None
    parameters: dict[str, Any] | None = Field(
        None, description="binary_data_output: true for every output as binary data."
    )
    inputs: list[V2RequestInput]
    outputs: list[V2RequestOutput] | None = None


class V2Tensor(BaseModel):
    """An input or output as the model's metadata lists it; -1 is the batch dimension."""

    name: str
    datatype: str
    shape: list[int]


class V2ServerMetadata(BaseModel):
    """GET /v2: who answers, and which protocol extensions it speaks."""

    name: str
    version: str
    extensions: list[str]


class V2ModelMetadata(BaseModel):
    """GET /v2/models/{name}: the model's versions, inputs and outputs."""

    name: str
    versions: list[str]
    platform: str
    inputs: list[V2Tensor]
    outputs: list[V2Tensor]


class V2OutputTensor(BaseModel):
    """An output: its data in JSON, or its binary_data_size when it follows as binary data."""

    name: str
    datatype: str
    shape: list[int]
    parameters: dict[str, Any] | None = None
    data: list[float | int | bool] | None = None


class V2InferenceResponse(BaseModel):
    """The outputs of one inference request."""

    model_name: str
    model_version: str
    id: str | None = None
    outputs: list[V2OutputTensor]


class V2Liveness(BaseModel):
    """The server process answers."""

    live: bool


class V2Readiness(BaseModel):
    """Every model is loaded and warm."""

    ready: bool


class V2ModelReadiness(BaseModel):
    """This model (version) can answer."""

    name: str
    ready: bool


class V2Error(BaseModel):
    """The protocol's error body: one message."""

    error: str = Field(examples=["There is no model named 'x'. Available models: mlp512."])


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its nested models written in place, for openapi_extra."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref", "")
            if reference.startswith("#/$defs/"):
                return resolve(definitions[reference.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)


@dataclass(frozen=True)
class ParsedRequest:
    """What an inference request asks: drawings to classify and which outputs, how."""

    id: str | None
    drawings: list[Drawing]
    input_name: str
    outputs: list[tuple[str, bool]] | None  # (name, as binary), or None for all
    binary_output: bool


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """The body under its Content-Encoding (tritonclient can gzip or deflate its requests).

    Bounded: a small compressed body may unpack into gigabytes, so decompression stops one
    byte past the body limit.
    """
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise UnsupportedEncoding(
            f"Content-Encoding {encoding} is not accepted; send gzip, deflate or no encoding."
        )
    window = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    unpacker = zlib.decompressobj(window)
    try:
        data = unpacker.decompress(body, limit + 1)
    except zlib.error as error:
        raise InvalidInferenceRequest(
            f"The {encoding} body cannot be decompressed ({error}); send the complete body."
        ) from error
    if len(data) > limit:
        raise DecompressedTooLarge(
            f"The body unpacks to more than {limit} bytes. Send fewer items per request."
        )
    if not unpacker.eof:
        raise InvalidInferenceRequest(f"The {encoding} body is truncated; send the complete body.")
    return data


def split_body(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """(JSON header, binary tensors) of a body, split where the extension's header says."""
    if header_length is None:
        return body, b""
    text = header_length.strip()
    if not text.isdigit() or not 0 < int(text) <= len(body):
        raise InvalidInferenceRequest(
            f"{HEADER_LENGTH} is {header_length!r}; it must be the byte length of the JSON "
            f"header, between 1 and the body's {len(body)} bytes."
        )
    return body[: int(text)], body[int(text) :]


def read_header(data: bytes) -> V2InferenceRequest:
    """The JSON header as a V2InferenceRequest; deep nesting and wrong types refused."""
    try:
        return V2InferenceRequest.model_validate_json(data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            problem = f"The request is not valid JSON ({first['msg']})."
            if "trailing characters" in first["msg"]:
                problem += (
                    f" If binary tensors follow the JSON, {HEADER_LENGTH} must give the JSON "
                    "header's length."
                )
        else:
            where = ".".join(str(part) for part in first["loc"]) or "the body"
            problem = f"{where}: {first['msg']}."
        raise InvalidInferenceRequest(
            f'{problem} Send {{"inputs": [{{"name": "pixels", "datatype": "FP32", '
            '"shape": [N, 28, 28], "data": [...]}]}, see GET /v2/models/{name}.'
        ) from error


def flatten(data: Any, depth: int) -> list[Any]:
    """A tensor's elements in row-major order from a flat or nested JSON list."""
    if not isinstance(data, list):
        raise TypeError("data is not a list")
    if depth <= 1 or not any(isinstance(item, list) for item in data):
        return data
    values: list[Any] = []
    for item in data:
        values.extend(flatten(item, depth - 1))
    return values


def json_elements(tensor: V2RequestInput, count: int) -> list[Any]:
    """The `count` elements of a tensor given in JSON, however nested."""
    try:
        values = flatten(tensor.data, len(tensor.shape))
    except TypeError as error:
        raise InvalidInferenceRequest(
            f"Input {tensor.name!r} has no data list: give its elements in data, or send it "
            f"as binary data with parameters.binary_data_size and the {HEADER_LENGTH} header."
        ) from error
    if len(values) != count:
        raise InvalidInferenceRequest(
            f"Input {tensor.name!r} has {len(values)} elements; shape {tensor.shape} needs {count}."
        )
    return values


def pixel_arrays(tensor: V2RequestInput, count: int, raw: bytes | None) -> np.ndarray:
    """The pixels tensor as an (N*784,) array, from JSON numbers or little-endian bytes."""
    if raw is not None:
        dtype = np.dtype("<f4") if tensor.datatype == "FP32" else np.dtype(np.uint8)
        if len(raw) != count * dtype.itemsize:
            raise InvalidInferenceRequest(
                f"Input {tensor.name!r} has {len(raw)} bytes of binary data; {tensor.datatype} "
                f"shape {tensor.shape} needs {count * dtype.itemsize}."
            )
        return np.frombuffer(raw, dtype=dtype)
    values = json_elements(tensor, count)
    # Booleans and numeric strings are client bugs, not pixels (numpy would take both).
    if tensor.datatype == "UINT8":
        if not all(type(value) is int and 0 <= value <= 255 for value in values):
            raise InvalidInferenceRequest(
                f"Input {tensor.name!r} is UINT8: every element must be an integer 0..255."
            )
        return np.array(values, dtype=np.uint8)
    if not all(type(value) is int or type(value) is float for value in values):
        raise InvalidInferenceRequest(
            f"Input {tensor.name!r} is FP32: every element must be a number."
        )
    try:
        pixels = np.array(values, dtype=np.float64)
    except OverflowError as error:  # an integer too large for a float
        raise InvalidInferenceRequest(
            f"Input {tensor.name!r} holds a number out of range; pixels are 0..255."
        ) from error
    # The JSON parser lets NaN and Infinity through; JSON itself has no such numbers.
    if not np.isfinite(pixels).all():
        raise InvalidInferenceRequest(
            f"Input {tensor.name!r} holds NaN or Infinity, which are not JSON numbers; "
            "pixels are 0..255."
        )
    return pixels


def byte_elements(raw: bytes, count: int, name: str) -> list[bytes]:
    """BYTES elements of binary data: each a 4-byte little-endian length, then the bytes."""
    elements: list[bytes] = []
    offset = 0
    while offset < len(raw) and len(elements) < count:
        if offset + 4 > len(raw):
            break
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + length > len(raw):
            break
        elements.append(raw[offset : offset + length])
        offset += length
    if len(elements) != count or offset != len(raw):
        raise InvalidInferenceRequest(
            f"Input {name!r} is BYTES [{count}]: its binary data must be {count} elements, each "
            "a 4-byte little-endian length followed by that many bytes (Triton's "
            "serialisation), and nothing more."
        )
    return elements


def image_files(tensor: V2RequestInput, count: int, raw: bytes | None) -> list[bytes | str]:
    """The image tensor's files: bytes from binary data, base64 text or data URLs from JSON.

    Text stays text: /predict's own path decodes it, so a bad item's error names the item.
    """
    if raw is not None:
        return list(byte_elements(raw, count, tensor.name))
    values = json_elements(tensor, count)
    if not all(isinstance(value, str) for value in values):
        raise InvalidInferenceRequest(f"Input {tensor.name!r} is BYTES: every element is text.")
    content_type = (tensor.parameters or {}).get("content_type")
    if content_type == BASE64 or (
        content_type is None and all(value.startswith("data:") for value in values)
    ):
        return list(values)  # data URLs say what they are
    raise InvalidInferenceRequest(
        f"Input {tensor.name!r}: JSON text cannot hold an image file's bytes. Send each file as "
        f'base64 with "parameters": {{"content_type": "base64"}} (or as a data URL), or as '
        f"binary data ({HEADER_LENGTH} header); content_type {content_type!r} is not read."
    )


def checked_shape(tensor: V2RequestInput, max_items: int) -> int:
    """N, after checking the input's name, datatype and shape against the model's metadata."""
    if tensor.name == PIXELS_INPUT:
        expected, wanted = [MNIST_SIDE, MNIST_SIDE], f"{' or '.join(PIXEL_TYPES)} [N, 28, 28]"
        datatype_ok = tensor.datatype in PIXEL_TYPES
    elif tensor.name == IMAGE_INPUT:
        expected, wanted = [], "BYTES [N]"
        datatype_ok = tensor.datatype == "BYTES"
    else:
        raise InvalidInferenceRequest(
            f"There is no input {tensor.name!r}; send {PIXELS_INPUT!r} (FP32 or UINT8 "
            f"[N, 28, 28], 0..255 white on black) or {IMAGE_INPUT!r} (BYTES [N], image files)."
        )
    if not datatype_ok or len(tensor.shape) != 1 + len(expected) or tensor.shape[1:] != expected:
        raise InvalidInferenceRequest(
            f"Input {tensor.name!r} is {tensor.datatype} {tensor.shape}; it must be {wanted}."
        )
    items = tensor.shape[0]
    if not 1 <= items <= max_items:
        raise InvalidInferenceRequest(
            f"Input {tensor.name!r} holds {items} items; send 1 to {max_items} per request."
        )
    return items


def binary_size(tensor: V2RequestInput) -> int | None:
    """The extension's binary_data_size of an input, or None when its data is in the JSON."""
    parameters = tensor.parameters or {}
    if "shared_memory_region" in parameters:
        raise InvalidInferenceRequest(
            "Shared memory is not supported: send the tensor in the body, as JSON or binary data."
        )
    size = parameters.get("binary_data_size")
    if size is None:
        return None
    if type(size) is not int or size < 0:
        raise InvalidInferenceRequest(
            f"Input {tensor.name!r}: parameters.binary_data_size must be a byte count."
        )
    if tensor.data is not None:
        raise InvalidInferenceRequest(
            f"Input {tensor.name!r} has both data and binary_data_size; send one of them."
        )
    return size


def requested_outputs(request: V2InferenceRequest) -> list[tuple[str, bool]] | None:
    """(name, as binary) of each output asked for, or None for all of them."""
    if request.outputs is None:
        return None
    default = (request.parameters or {}).get("binary_data_output") is True
    chosen = []
    for output in request.outputs:
        if output.name not in OUTPUTS:
            raise InvalidInferenceRequest(
                f"There is no output {output.name!r}; ask for {', '.join(OUTPUTS)}."
            )
        parameters = output.parameters or {}
        if parameters.get("classification") or "shared_memory_region" in parameters:
            raise InvalidInferenceRequest(
                f"Output {output.name!r}: the classification and shared-memory extensions are "
                "not supported; ask for digit or probabilities."
            )
        chosen.append((output.name, parameters.get("binary_data", default) is True))
    return chosen


def parse_infer_request(body: bytes, header_length: str | None, max_items: int) -> ParsedRequest:
    """The drawings (one per item of the single input) and the outputs an inference asks for."""
    header, binary = split_body(body, header_length)
    request = read_header(header)
    if len(request.inputs) != 1:
        raise InvalidInferenceRequest(
            f"The request has {len(request.inputs)} inputs; send exactly one, "
            f"{PIXELS_INPUT!r} or {IMAGE_INPUT!r}, holding up to {max_items} items."
        )
    tensor = request.inputs[0]
    items = checked_shape(tensor, max_items)
    size = binary_size(tensor)
    if (size or 0) != len(binary) or (size is not None and header_length is None):
        raise InvalidInferenceRequest(
            f"The body has {len(binary)} bytes after the JSON header but the input declares "
            f"binary_data_size {size}; {HEADER_LENGTH} must give the JSON header's length."
        )
    raw = binary if size is not None else None
    if tensor.name == PIXELS_INPUT:
        pixels = pixel_arrays(tensor, items * MNIST_SIDE * MNIST_SIDE, raw)
        images = pixels.reshape(items, MNIST_SIDE, MNIST_SIDE)
        drawings = [Drawing("pixels", image) for image in images]
    else:
        drawings = [Drawing("image", data) for data in image_files(tensor, items, raw)]
    return ParsedRequest(
        id=request.id,
        drawings=drawings,
        input_name=tensor.name,
        outputs=requested_outputs(request),
        binary_output=(request.parameters or {}).get("binary_data_output") is True,
    )


def output_tensors(predictions: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """The outputs of /predict's answers, is_digit only when every answer carries it."""
    tensors = {
        "probabilities": np.array([p["probabilities"] for p in predictions], dtype=np.float32),
        "digit": np.array([p["digit"] for p in predictions], dtype=np.int64),
    }
    if all("is_digit" in p for p in predictions):
        tensors["is_digit"] = np.array([bool(p["is_digit"]) for p in predictions], dtype=bool)
    return tensors


def infer_response(
    request: ParsedRequest,
    tensors: dict[str, np.ndarray],
    model_name: str,
    model_version: str,
) -> tuple[bytes, int | None]:
    """The serialised response and, when outputs go as binary data, the JSON header's length."""
    if request.outputs is None:
        wanted = [(name, request.binary_output) for name in tensors]
    else:
        wanted = request.outputs
    outputs, blobs = [], []
    for name, binary in wanted:
        if name not in tensors:
            raise InvalidInferenceRequest(
                f"Model {model_name!r} has no output {name!r}; it has {', '.join(tensors)}."
            )
        array = tensors[name]
        output: dict[str, Any] = {
            "name": name,
            "datatype": OUTPUTS[name][0],
            "shape": list(array.shape),
        }
        if binary:
            blob = np.ascontiguousarray(array, dtype=OUTPUTS[name][2]).tobytes()
            output["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            output["data"] = array.ravel().tolist()
        outputs.append(output)
    body: dict[str, Any] = {"model_name": model_name, "model_version": model_version}
    if request.id is not None:
        body["id"] = request.id
    body["outputs"] = outputs
    header = json.dumps(body, separators=(",", ":")).encode()
    if not blobs:
        return header, None
    return b"".join([header, *blobs]), len(header)


def tensor_metadata(name: str, datatype: str, shape: list[int]) -> dict[str, Any]:
    return {"name": name, "datatype": datatype, "shape": shape}


def model_metadata(name: str, versions: list[str], outputs: list[str]) -> dict[str, Any]:
    """GET /v2/models/{name}: inputs and outputs with -1 for the batch dimension."""
    side = [MNIST_SIDE, MNIST_SIDE]
    return {
        "name": name,
        "versions": versions,
        "platform": "tflite",
        "inputs": [
            tensor_metadata(PIXELS_INPUT, "FP32", [-1, *side]),
            tensor_metadata(IMAGE_INPUT, "BYTES", [-1]),
        ],
        "outputs": [
            tensor_metadata(output, OUTPUTS[output][0], [-1, *OUTPUTS[output][1]])
            for output in outputs
        ],
    }
