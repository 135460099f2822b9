"""Open Inference Protocol V2 with the ecosystem's own clients against a real ``python -m app``.

tritonclient (Triton's HTTP client) and the kserve SDK's REST client talk to the server as they
would to Triton or KServe; their answers must equal /predict's on the same digits.
"""

import asyncio
import base64
import copy
import gzip
import json
import struct
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from kserve import InferenceRESTClient, InferInput, InferRequest, InferResponse, RESTConfig
from kserve.protocol.infer_type import RequestedOutput
from tritonclient.utils import InferenceServerException

from app import honesty
from app.settings import Settings
from tests.helpers import data_url, digit_canvas, encode, running_server, served_app

SETTINGS = Settings()
MODEL = SETTINGS.default_model
DIGITS = 1000  # MNIST test digits compared with /predict
BATCH = 250  # items per V2 request (the limit is settings.max_batch)
IMAGES = 12  # drawn canvases sent as image files


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running_server(SETTINGS.model_dir, "--log-level", "warning") as (base_url, _):
        yield base_url


@pytest.fixture(scope="module")
def http(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def triton_client(server: str) -> Iterator[triton.InferenceServerClient]:
    client = triton.InferenceServerClient(urlsplit(server).netloc, network_timeout=120)
    yield client
    client.close()


@pytest.fixture(scope="module")
def digits(mnist_test: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return mnist_test[0][:DIGITS]


@pytest.fixture(scope="module")
def predict_answers(http: httpx.Client, digits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities (N, 10) float64, digits (N,)) from POST /predict with pixels, one by one."""
    probabilities, answers = [], []
    for image in digits:
        response = http.post("/predict", json={"pixels": image.tolist()})
        assert response.status_code == 200, response.text
        probabilities.append(response.json()["probabilities"])
        answers.append(response.json()["digit"])
    return np.array(probabilities), np.array(answers)


@pytest.fixture(scope="module")
def canvases(mnist_test: tuple[np.ndarray, np.ndarray]) -> list[bytes]:
    """PNG files of digits drawn as black ink on a 280x280 canvas, as the page sends them."""
    return [encode(digit_canvas(image)) for image in mnist_test[0][DIGITS : DIGITS + IMAGES]]


@pytest.fixture(scope="module")
def canvas_answers(http: httpx.Client, canvases: list[bytes]) -> np.ndarray:
    """/predict's probabilities for the canvases, sent as data URLs."""
    rows = []
    for png in canvases:
        response = http.post("/predict", json={"image": data_url(png)})
        assert response.status_code == 200, response.text
        rows.append(response.json()["probabilities"])
    return np.array(rows)


def assert_same_answers(
    probabilities: np.ndarray, digits: np.ndarray, expected: np.ndarray
) -> None:
    """V2's FP32 outputs are /predict's float64 probabilities in float32, bit for bit."""
    assert probabilities.dtype == np.float32 and digits.dtype == np.int64
    np.testing.assert_array_equal(probabilities, expected.astype(np.float32))
    np.testing.assert_array_equal(digits, expected.argmax(axis=1))


def assert_v2_error(response: httpx.Response, status: int, message_part: str) -> None:
    """The protocol's error shape: {"error": "<message>"} and this status."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"], str), body
    assert message_part in body["error"], body


def pixels_request(images: np.ndarray, datatype: str = "UINT8", **extra: object) -> dict:
    return {
        "inputs": [
            {
                "name": "pixels",
                "datatype": datatype,
                "shape": list(images.shape),
                "data": images.ravel().tolist(),
            }
        ],
        **extra,
    }


def serialise_bytes(elements: list[bytes]) -> bytes:
    """Triton's BYTES serialisation: a 4-byte little-endian length before each element."""
    return b"".join(struct.pack("<I", len(element)) + element for element in elements)


# --- tritonclient -------------------------------------------------------------------------


def test_tritonclient_reads_1000_digits_as_predict_does(
    triton_client: triton.InferenceServerClient,
    digits: np.ndarray,
    predict_answers: tuple[np.ndarray, np.ndarray],
) -> None:
    """FP32 in binary data, outputs in binary data (tritonclient's defaults)."""
    probabilities, answers = [], []
    for start in range(0, DIGITS, BATCH):
        batch = digits[start : start + BATCH].astype(np.float32)
        pixels = triton.InferInput("pixels", list(batch.shape), "FP32")
        pixels.set_data_from_numpy(batch)
        result = triton_client.infer(MODEL, [pixels])
        assert result.get_response()["model_name"] == MODEL
        probabilities.append(result.as_numpy("probabilities"))
        answers.append(result.as_numpy("digit"))
    assert_same_answers(np.concatenate(probabilities), np.concatenate(answers), predict_answers[0])
    np.testing.assert_array_equal(np.concatenate(answers), predict_answers[1])


def test_tritonclient_sends_uint8_as_json_and_gets_json_outputs(
    triton_client: triton.InferenceServerClient,
    digits: np.ndarray,
    predict_answers: tuple[np.ndarray, np.ndarray],
) -> None:
    pixels = triton.InferInput("pixels", [100, 28, 28], "UINT8")
    pixels.set_data_from_numpy(digits[:100], binary_data=False)
    outputs = [triton.InferRequestedOutput(name, binary_data=False) for name in ("digit",)]
    result = triton_client.infer(MODEL, [pixels], outputs=outputs, model_version="1")
    response = result.get_response()
    assert [output["name"] for output in response["outputs"]] == ["digit"]
    assert response["outputs"][0]["shape"] == [100] and response["model_version"] == "1"
    np.testing.assert_array_equal(result.as_numpy("digit"), predict_answers[1][:100])


def test_tritonclient_gzip_request_is_read(
    triton_client: triton.InferenceServerClient,
    digits: np.ndarray,
    predict_answers: tuple[np.ndarray, np.ndarray],
) -> None:
    pixels = triton.InferInput("pixels", [50, 28, 28], "UINT8")
    pixels.set_data_from_numpy(digits[:50])
    result = triton_client.infer(MODEL, [pixels], request_compression_algorithm="gzip")
    np.testing.assert_array_equal(
        result.as_numpy("probabilities"), predict_answers[0][:50].astype(np.float32)
    )


def test_tritonclient_sends_image_files_as_binary_bytes(
    triton_client: triton.InferenceServerClient,
    canvases: list[bytes],
    canvas_answers: np.ndarray,
) -> None:
    files = triton.InferInput("image", [len(canvases)], "BYTES")
    files.set_data_from_numpy(np.array(canvases, dtype=np.object_))
    result = triton_client.infer(MODEL, [files])
    assert_same_answers(result.as_numpy("probabilities"), result.as_numpy("digit"), canvas_answers)


def test_tritonclient_health_and_metadata(triton_client: triton.InferenceServerClient) -> None:
    assert triton_client.is_server_live() and triton_client.is_server_ready()
    assert triton_client.is_model_ready(MODEL) and triton_client.is_model_ready(MODEL, "1")
    assert not triton_client.is_model_ready("no-such-model")
    assert not triton_client.is_model_ready(MODEL, "99")
    server = triton_client.get_server_metadata()
    assert server["name"] == "digitdraw" and "binary_tensor_data" in server["extensions"]
    metadata = triton_client.get_model_metadata(MODEL)
    assert metadata["name"] == MODEL and metadata["versions"] == ["1"]
    assert metadata["inputs"] == [
        {"name": "pixels", "datatype": "FP32", "shape": [-1, 28, 28]},
        {"name": "image", "datatype": "BYTES", "shape": [-1]},
    ]
    assert metadata["outputs"][:2] == [
        {"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]},
        {"name": "digit", "datatype": "INT64", "shape": [-1]},
    ]
    assert metadata["outputs"][2:] in (
        [],
        [{"name": "is_digit", "datatype": "BOOL", "shape": [-1]}],
    )
    assert triton_client.get_model_metadata(MODEL, "1")["versions"] == ["1"]


@pytest.mark.parametrize(
    ("model", "version", "status"), [("no-such-model", "", "404"), (MODEL, "2", "404")]
)
def test_tritonclient_unknown_model_or_version_is_404(
    triton_client: triton.InferenceServerClient,
    digits: np.ndarray,
    model: str,
    version: str,
    status: str,
) -> None:
    pixels = triton.InferInput("pixels", [1, 28, 28], "UINT8")
    pixels.set_data_from_numpy(digits[:1])
    with pytest.raises(InferenceServerException) as raised:
        triton_client.infer(model, [pixels], model_version=version)
    assert raised.value.status() == status
    assert "no model" in raised.value.message() or "no version" in raised.value.message()


def test_tritonclient_sees_a_blank_image_as_422(
    triton_client: triton.InferenceServerClient, digits: np.ndarray
) -> None:
    images = digits[:3].copy()
    images[1] = 0
    pixels = triton.InferInput("pixels", [3, 28, 28], "UINT8")
    pixels.set_data_from_numpy(images)
    with pytest.raises(InferenceServerException) as raised:
        triton_client.infer(MODEL, [pixels])
    assert raised.value.status() == "422"
    assert raised.value.message().startswith("pixels[1]: ")


# --- plain HTTP, as curl would send it -----------------------------------------------------


def test_base64_image_files_in_json_as_mlserver_sends_them(
    http: httpx.Client, canvases: list[bytes], canvas_answers: np.ndarray
) -> None:
    body = {
        "id": "request-7",
        "inputs": [
            {
                "name": "image",
                "datatype": "BYTES",
                "shape": [len(canvases)],
                "parameters": {"content_type": "base64"},
                "data": [base64.b64encode(png).decode() for png in canvases],
            }
        ],
    }
    response = http.post(f"/v2/models/{MODEL}/infer", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert (answer["id"], answer["model_name"], answer["model_version"]) == (
        "request-7",
        MODEL,
        "1",
    )
    outputs = {output["name"]: output for output in answer["outputs"]}
    assert outputs["probabilities"]["shape"] == [len(canvases), 10]
    probabilities = np.array(outputs["probabilities"]["data"], dtype=np.float32).reshape(-1, 10)
    assert_same_answers(probabilities, np.array(outputs["digit"]["data"]), canvas_answers)


def test_binary_outputs_follow_the_json_header(
    http: httpx.Client, digits: np.ndarray, predict_answers: tuple[np.ndarray, np.ndarray]
) -> None:
    body = pixels_request(
        digits[:4],
        outputs=[{"name": "digit", "parameters": {"binary_data": True}}, {"name": "probabilities"}],
    )
    response = http.post(f"/v2/models/{MODEL}/versions/1/infer", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    length = int(response.headers["inference-header-content-length"])
    header, blob = response.content[:length], response.content[length:]
    outputs = json.loads(header)["outputs"]
    assert [output["name"] for output in outputs] == ["digit", "probabilities"]
    assert outputs[0]["parameters"] == {"binary_data_size": 32} and "data" not in outputs[0]
    np.testing.assert_array_equal(np.frombuffer(blob, "<i8"), predict_answers[1][:4])
    assert len(outputs[1]["data"]) == 40


def test_nested_json_data_is_read_in_row_major_order(
    http: httpx.Client, digits: np.ndarray, predict_answers: tuple[np.ndarray, np.ndarray]
) -> None:
    body = pixels_request(digits[:2], datatype="FP32")
    body["inputs"][0]["data"] = digits[:2].astype(float).tolist()
    response = http.post(f"/v2/models/{MODEL}/infer", json=body)
    assert response.status_code == 200, response.text
    digit = next(o for o in response.json()["outputs"] if o["name"] == "digit")
    assert digit["data"] == predict_answers[1][:2].tolist()


BLANK = np.zeros((1, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize(
    ("body", "status", "message_part"),
    [
        (b"not json", 400, "not valid JSON"),
        (b'{"inputs": [' * 5000, 400, "not valid JSON"),
        (b"{}", 400, "inputs"),
        (b'{"inputs": []}', 400, "exactly one"),
        (
            b'{"inputs": [{"name": "pixels", "datatype": "FP32", "shape": [1, 28, 28], '
            b'"data": [' + b",".join([b"NaN"] * 784) + b"]}]}",
            400,
            "NaN or Infinity",
        ),
        (
            b'{"inputs": [{"name": "pixels", "datatype": "FP32", "shape": [1, 28, 27], '
            b'"data": []}]}',
            400,
            "must be FP32 or UINT8 [N, 28, 28]",
        ),
        (
            b'{"inputs": [{"name": "pixels", "datatype": "INT32", "shape": [1, 28, 28], '
            b'"data": []}]}',
            400,
            "must be FP32 or UINT8",
        ),
        (
            b'{"inputs": [{"name": "pixels", "datatype": "FP32", "shape": [1, 28, 28], '
            b'"data": [1, 2]}]}',
            400,
            "has 2 elements; shape [1, 28, 28] needs 784",
        ),
        (
            b'{"inputs": [{"name": "pixels", "datatype": "FP32", "shape": [1, 28, 28], '
            b'"data": "' + b"x" * 10 + b'"}]}',
            400,
            "no data list",
        ),
        (
            b'{"inputs": [{"name": "pixels", "datatype": "FP32", "shape": [1, 28, 28], '
            b'"data": [' + b",".join([b"true"] * 784) + b"]}]}",
            400,
            "must be a number",
        ),
        (
            b'{"inputs": [{"name": "pixels", "datatype": "UINT8", "shape": [1, 28, 28], '
            b'"data": [' + b",".join([b"256"] * 784) + b"]}]}",
            400,
            "integer 0..255",
        ),
        (
            b'{"inputs": [{"name": "pixels", "datatype": "FP32", "shape": [1, 28, 28], '
            b'"data": [' + b",".join([b"300.5"] * 784) + b"]}]}",
            422,
            "pixels[0]: pixels must be between 0 and 255",
        ),
        (
            b'{"inputs": [{"name": "pixels", "datatype": "FP32", "shape": [1, 28, 28], '
            b'"data": [' + b",".join([b"1" + b"0" * 400] * 784) + b"]}]}",
            400,
            "out of range",
        ),
        (
            b'{"inputs": [{"name": "pixels", "datatype": "UINT8", "shape": [257, 28, 28], '
            b'"data": []}]}',
            400,
            "send 1 to 256 per request",
        ),
        (
            b'{"inputs": [{"name": "pixels", "datatype": "UINT8", "shape": [0, 28, 28], '
            b'"data": []}]}',
            400,
            "send 1 to 256 per request",
        ),
        (
            b'{"inputs": [{"name": "strokes", "datatype": "FP32", "shape": [1], "data": [1]}]}',
            400,
            "no input 'strokes'",
        ),
        (
            b'{"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], '
            b'"data": ["iVBORw0KGgo="]}]}',
            400,
            'content_type": "base64"',
        ),
        (
            b'{"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], '
            b'"parameters": {"content_type": "base64"}, "data": ["bm90IGFuIGltYWdl"]}]}',
            400,
            "image[0]: The image could not be decoded",
        ),
        (
            b'{"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], '
            b'"parameters": {"content_type": "base64"}, "data": ["***"]}]}',
            400,
            "image[0]: The image text is not valid base64",
        ),
        (
            b'{"inputs": [{"name": "pixels", "datatype": "UINT8", "shape": [1, 28, 28], '
            b'"parameters": {"shared_memory_region": "r"}}]}',
            400,
            "Shared memory is not supported",
        ),
    ],
)
def test_bad_requests_get_the_protocols_error_with_an_exact_status(
    http: httpx.Client, body: bytes, status: int, message_part: str
) -> None:
    response = http.post(
        f"/v2/models/{MODEL}/infer", content=body, headers={"content-type": "application/json"}
    )
    assert_v2_error(response, status, message_part)


def test_unknown_and_duplicate_outputs_are_400(http: httpx.Client, digits: np.ndarray) -> None:
    body = pixels_request(digits[:1], outputs=[{"name": "logits"}])
    assert_v2_error(http.post(f"/v2/models/{MODEL}/infer", json=body), 400, "no output 'logits'")
    body = pixels_request(
        digits[:1], outputs=[{"name": "digit", "parameters": {"classification": 3}}]
    )
    assert_v2_error(http.post(f"/v2/models/{MODEL}/infer", json=body), 400, "classification")


@pytest.mark.parametrize(
    ("header_length", "tail", "message_part"),
    [
        ("abc", b"", "Inference-Header-Content-Length is 'abc'"),
        ("999999", b"", "between 1 and the body's"),
        (None, b"\x00" * 784, "must give the JSON header's length"),
        ("HEADER", b"\x00" * 783, "has 783 bytes of binary data"),
        ("HEADER", b"\x00" * 785, "declares binary_data_size 784"),
    ],
)
def test_binary_data_that_does_not_add_up_is_400(
    http: httpx.Client, header_length: str | None, tail: bytes, message_part: str
) -> None:
    size = 783 if len(tail) == 783 else 784
    header = (
        b'{"inputs": [{"name": "pixels", "datatype": "UINT8", "shape": [1, 28, 28], '
        b'"parameters": {"binary_data_size": ' + str(size).encode() + b"}}]}"
    )
    headers = {}
    if header_length == "HEADER":
        headers["Inference-Header-Content-Length"] = str(len(header))
    elif header_length is not None:
        headers["Inference-Header-Content-Length"] = header_length
    response = http.post(f"/v2/models/{MODEL}/infer", content=header + tail, headers=headers)
    assert_v2_error(response, 400, message_part)


def test_binary_bytes_with_a_lying_length_are_400(http: httpx.Client) -> None:
    blob = struct.pack("<I", 1000) + b"\x89PNG"
    header = (
        b'{"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], '
        b'"parameters": {"binary_data_size": ' + str(len(blob)).encode() + b"}}]}"
    )
    response = http.post(
        f"/v2/models/{MODEL}/infer",
        content=header + blob,
        headers={"Inference-Header-Content-Length": str(len(header))},
    )
    assert_v2_error(response, 400, "4-byte little-endian length")


def test_a_gzip_bomb_is_413(http: httpx.Client) -> None:
    bomb = gzip.compress(b"[" * (SETTINGS.max_body_bytes + 10))
    response = http.post(
        f"/v2/models/{MODEL}/infer", content=bomb, headers={"Content-Encoding": "gzip"}
    )
    assert_v2_error(response, 413, "unpacks to more than")
    response = http.post(
        f"/v2/models/{MODEL}/infer", content=b"{}", headers={"Content-Encoding": "br"}
    )
    assert_v2_error(response, 415, "Content-Encoding br")


def test_a_body_over_the_limit_is_413_in_the_protocols_shape(
    http: httpx.Client, server: str
) -> None:
    response = http.post(f"/v2/models/{MODEL}/infer", content=b"0" * (SETTINGS.max_body_bytes + 1))
    assert_v2_error(response, 413, "larger than")
    chunks = (b"0" * 65536 for _ in range(SETTINGS.max_body_bytes // 65536 + 2))
    response = http.post(f"/v2/models/{MODEL}/infer", content=chunks)
    assert_v2_error(response, 413, "larger than")


def test_unknown_paths_methods_models_and_versions(http: httpx.Client) -> None:
    assert_v2_error(http.get("/v2/no/such/thing"), 404, "Nothing at /v2/no/such/thing")
    assert_v2_error(http.get(f"/v2/models/{MODEL}/infer"), 405, "use POST")
    assert_v2_error(http.get("/v2/models/no-such-model"), 404, "no model named 'no-such-model'")
    assert_v2_error(http.get("/v2/models/no-such-model/ready"), 404, "no model named")
    assert_v2_error(http.get(f"/v2/models/{MODEL}/versions/2"), 404, "has no version '2'")
    assert_v2_error(http.get(f"/v2/models/{MODEL}/versions/2/ready"), 404, "has no version '2'")
    # The rest of the API keeps its own error shape.
    assert set(http.get("/models/no-such-model").json()["error"]) == {"code", "message"}


def test_health_and_readiness_bodies(http: httpx.Client) -> None:
    assert http.get("/v2/health/live").json() == {"live": True}
    assert http.get("/v2/health/ready").json() == {"ready": True}
    assert http.get(f"/v2/models/{MODEL}/ready").json() == {"name": MODEL, "ready": True}
    assert http.get(f"/v2/models/{MODEL}/versions/1/ready").status_code == 200


def test_not_ready_is_400_on_health_and_503_on_infer() -> None:
    with served_app() as client:
        registry = client.app.state.registry  # type: ignore[attr-defined]
        registry.ready = False
        try:
            assert_v2_error(client.get("/v2/health/ready"), 400, "still loading")
            assert_v2_error(client.get(f"/v2/models/{MODEL}/ready"), 400, "still loading")
            assert client.get("/v2/health/live").status_code == 200
            response = client.post(f"/v2/models/{MODEL}/infer", json=pixels_request(BLANK))
            assert_v2_error(response, 503, "still loading")
        finally:
            registry.ready = True


def test_v2_operations_are_documented(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    for path in (
        "/v2",
        "/v2/health/live",
        "/v2/health/ready",
        "/v2/models/{name}",
        "/v2/models/{name}/versions/{version}",
        "/v2/models/{name}/ready",
        "/v2/models/{name}/versions/{version}/ready",
    ):
        assert "get" in paths[path], path
    for path in ("/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer"):
        operation = paths[path]["post"]
        assert {"400", "404", "413", "415", "422", "503"} <= set(operation["responses"])
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert "$ref" not in str(schema) and schema["required"] == ["inputs"]


# --- the kserve SDK's REST client --------------------------------------------------------


def kserve_infer(base_url: str, request: InferRequest, model: str = MODEL) -> InferResponse:
    """One inference through kserve's (asynchronous) InferenceRESTClient, protocol v2."""

    async def call() -> InferResponse:
        async with InferenceRESTClient(RESTConfig(protocol="v2", retries=0)) as client:
            return await client.infer(base_url, request, model_name=model)

    return asyncio.run(call())


def kserve_output(response: InferResponse, name: str) -> np.ndarray:
    output = response.get_output_by_name(name)
    assert output is not None, [o.name for o in response.outputs]
    return output.as_numpy()


def test_kserve_client_reads_1000_digits_as_predict_does(
    server: str, digits: np.ndarray, predict_answers: tuple[np.ndarray, np.ndarray]
) -> None:
    """FP32 pixels in JSON, outputs in JSON (the kserve client's defaults)."""
    probabilities, answers = [], []
    for start in range(0, DIGITS, BATCH):
        batch = digits[start : start + BATCH].astype(np.float32)
        pixels = InferInput("pixels", list(batch.shape), "FP32")
        pixels.set_data_from_numpy(batch, binary_data=False)
        response = kserve_infer(server, InferRequest(MODEL, [pixels]))
        assert response.model_name == MODEL
        probabilities.append(kserve_output(response, "probabilities").astype(np.float32))
        answers.append(kserve_output(response, "digit"))
    assert_same_answers(np.concatenate(probabilities), np.concatenate(answers), predict_answers[0])


def test_kserve_client_binary_uint8_in_and_binary_outputs_back(
    server: str, digits: np.ndarray, predict_answers: tuple[np.ndarray, np.ndarray]
) -> None:
    pixels = InferInput("pixels", [100, 28, 28], "UINT8")
    pixels.set_data_from_numpy(digits[:100], binary_data=True)
    wanted = [RequestedOutput(name, {"binary_data": True}) for name in ("probabilities", "digit")]
    response = kserve_infer(server, InferRequest(MODEL, [pixels], request_outputs=wanted))
    assert_same_answers(
        kserve_output(response, "probabilities"),
        kserve_output(response, "digit"),
        predict_answers[0][:100],
    )


@pytest.mark.parametrize("binary", [False, True], ids=["base64-json", "binary-data"])
def test_kserve_client_sends_image_files(
    server: str, canvases: list[bytes], canvas_answers: np.ndarray, binary: bool
) -> None:
    if binary:
        files = InferInput("image", [len(canvases)], "BYTES")
        files.set_data_from_numpy(np.array(canvases, dtype=np.object_), binary_data=True)
    else:
        files = InferInput("image", [len(canvases)], "BYTES", parameters={"content_type": "base64"})
        text = [base64.b64encode(png) for png in canvases]
        files.set_data_from_numpy(np.array(text, dtype=np.object_), binary_data=False)
    response = kserve_infer(server, InferRequest(MODEL, [files], request_id="files-1"))
    assert response.id == "files-1"
    assert_same_answers(
        kserve_output(response, "probabilities").astype(np.float32),
        kserve_output(response, "digit"),
        canvas_answers,
    )


def test_kserve_client_health_and_readiness(server: str) -> None:
    async def probe() -> tuple[bool, bool, bool, bool]:
        async with InferenceRESTClient(RESTConfig(protocol="v2", retries=0)) as client:
            return (
                await client.is_server_live(server),
                await client.is_server_ready(server),
                await client.is_model_ready(server, MODEL),
                await client.is_model_ready(server, "no-such-model"),
            )

    assert asyncio.run(probe()) == (True, True, True, False)


def test_kserve_client_sees_the_protocols_errors(server: str, digits: np.ndarray) -> None:
    pixels = InferInput("pixels", [1, 28, 28], "UINT8")
    pixels.set_data_from_numpy(digits[:1], binary_data=False)
    with pytest.raises(httpx.HTTPStatusError) as raised:
        kserve_infer(server, InferRequest("no-such-model", [pixels]), model="no-such-model")
    assert raised.value.response.status_code == 404
    assert "There is no model named 'no-such-model'" in str(raised.value)
    wrong = InferInput("pixels", [1, 784], "UINT8")
    wrong.set_data_from_numpy(digits[:1].reshape(1, 784), binary_data=False)
    with pytest.raises(httpx.HTTPStatusError) as raised:
        kserve_infer(server, InferRequest(MODEL, [wrong]))
    assert raised.value.response.status_code == 400
    assert "must be FP32 or UINT8 [N, 28, 28]" in str(raised.value)


def test_versions_map_to_registry_names_with_an_at_sign(digits: np.ndarray) -> None:
    """/versions/2 is the registry's "name@2" (how model versions are named in /predict)."""
    with served_app() as client:
        registry = client.app.state.registry  # type: ignore[attr-defined]
        second = copy.copy(registry.get("mlp512"))  # a second version, in place
        second.name, second.version = MODEL, 2
        registry.catalogue.models[MODEL][2] = second
        assert client.get(f"/v2/models/{MODEL}").json()["versions"] == ["1", "2"]
        assert client.get(f"/v2/models/{MODEL}/versions/2/ready").status_code == 200
        answers = {}
        for version in ("1", "2"):
            response = client.post(
                f"/v2/models/{MODEL}/versions/{version}/infer", json=pixels_request(digits[:20])
            )
            assert response.status_code == 200, response.text
            assert response.json()["model_version"] == version
            answers[version] = response.json()["outputs"][0]["data"]
        mlp512 = registry.get("mlp512")
        raw = mlp512.predict(digits[:20].astype(np.float32))
        expected = honesty.calibrate(raw, honesty.temperature(mlp512))  # as /predict answers
        np.testing.assert_allclose(np.reshape(answers["2"], (20, 10)), expected, atol=1e-6)
        assert answers["1"] != answers["2"]
        assert_v2_error(client.get(f"/v2/models/{MODEL}/versions/3"), 404, "it has 1, 2.")
