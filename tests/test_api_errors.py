"""Every client mistake gets a 4xx in the one error shape, never a 500, and says how to fix it."""

import json
import logging
import random
import struct
import zlib
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from app.main import create_app
from app.settings import Settings
from tests.helpers import TestClient, assert_error, data_url, encode, served_app

SETTINGS = Settings()
JSON = {"Content-Type": "application/json"}
BLANK_PIXELS = [[0] * 28] * 28
DOT = [[[5.0, 5.0]]]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with served_app() as test_client:
        yield test_client


def post_json(client: TestClient, body: bytes | str, path: str = "/predict"):
    return client.post(path, content=body, headers=JSON)


def png_declaring(width: int, height: int) -> bytes:
    """A few hundred bytes of PNG whose header claims width x height grayscale pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def test_malformed_json_is_400_malformed_json(client: TestClient) -> None:
    assert_error(post_json(client, '{"image": "abc"'), 400, "malformed_json", "not valid JSON")
    assert_error(post_json(client, ""), 400, "malformed_json", "not valid JSON")
    assert_error(post_json(client, b'{"image": "\xff"}'), 400, "malformed_json", "not valid JSON")


@pytest.mark.parametrize(
    ("body", "code", "where"),
    [
        ('{"pixels": [[NaN]]}', "invalid_pixels", "pixels[0][0]"),
        ('{"strokes": [[[1, Infinity]]]}', "invalid_strokes", "strokes[0][0][1]"),
        ('{"strokes": [[[-Infinity, 1]]]}', "invalid_strokes", "strokes[0][0][0]"),
        ('{"strokes": [[[1e999, 1]]]}', "invalid_strokes", "strokes[0][0][0]"),
    ],
)
def test_nan_and_infinity_are_422(client: TestClient, body: str, code: str, where: str) -> None:
    message = assert_error(post_json(client, body), 422, code, where)
    assert "finite" in message


def test_no_input_kind_is_422_listing_the_three(client: TestClient) -> None:
    message = assert_error(client.post("/predict", json={}), 422, "invalid_input_kind", "none")
    assert "image, strokes or pixels" in message


def test_two_input_kinds_are_422_naming_them(client: TestClient) -> None:
    response = client.post("/predict", json={"image": "x", "strokes": DOT})
    assert_error(response, 422, "invalid_input_kind", "has image and strokes")


def test_unknown_model_is_404_listing_available_models(client: TestClient) -> None:
    response = client.post("/predict", json={"strokes": DOT, "model": "gpt-digit"})
    message = assert_error(response, 404, "unknown_model", "'gpt-digit'")
    assert SETTINGS.default_model in message


def test_body_over_the_limit_is_413_by_content_length(client: TestClient) -> None:
    body = b" " * (SETTINGS.max_body_bytes + 1)
    assert_error(post_json(client, body), 413, "body_too_large", str(SETTINGS.max_body_bytes))


def test_chunked_body_over_the_limit_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"image": "'
        for _ in range(SETTINGS.max_body_bytes // 65536 + 1):
            yield b"A" * 65536
        yield b'"}'

    response = client.post("/predict", content=chunks(), headers=JSON)
    assert_error(response, 413, "body_too_large", "larger than")


def test_multipart_over_the_limit_is_413(client: TestClient) -> None:
    files = {"file": ("big.png", b"\0" * (SETTINGS.max_body_bytes + 1), "image/png")}
    assert_error(client.post("/predict", files=files), 413, "body_too_large", "larger than")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_other_content_types_are_415(client: TestClient, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/predict", content=b'{"strokes": []}', headers=headers)
    assert_error(response, 415, "unsupported_media_type", "application/json")


def test_batch_takes_only_json(client: TestClient) -> None:
    response = client.post("/predict/batch", files={"file": ("a.png", b"x", "image/png")})
    assert_error(response, 415, "unsupported_media_type", "multipart/form-data is not accepted")


def test_unknown_path_is_404_in_the_error_shape(client: TestClient) -> None:
    assert_error(client.get("/predictions"), 404, "not_found", "/predictions")
    assert_error(client.get("/static/missing.js"), 404, "not_found", "/static/missing.js")


def test_wrong_method_is_405_naming_the_allowed_one(client: TestClient) -> None:
    response = client.get("/predict")
    assert_error(response, 405, "method_not_allowed", "use POST")
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        ({"image": data_url(encode(Image.new("RGB", (280, 280), "white")))}, "No ink found"),
        ({"image": data_url(encode(Image.new("RGBA", (280, 280), (0, 0, 0, 0))))}, "No ink"),
        ({"strokes": []}, "no points"),
        ({"strokes": [[], []]}, "no points"),
        ({"pixels": BLANK_PIXELS}, "no ink"),
    ],
    ids=["white-png", "transparent-png", "no-strokes", "empty-strokes", "zero-pixels"],
)
def test_a_drawing_without_ink_is_422_empty_input(
    client: TestClient, body: dict, message_part: str
) -> None:
    assert_error(client.post("/predict", json=body), 422, "empty_input", message_part)


@pytest.mark.parametrize(
    ("image", "message_part"),
    [
        ("data:image/png;base64,%%%", "not valid base64"),
        ("data:image/png,rawbytes", "must be base64-encoded"),
        (data_url(b"just some text, not an image"), "could not be decoded"),
        (data_url(encode(Image.new("L", (50, 50)))[:60]), "truncated or corrupt"),
    ],
    ids=["bad-base64", "not-base64-url", "not-an-image", "truncated-png"],
)
def test_undecodable_images_are_400_invalid_image(
    client: TestClient, image: str, message_part: str
) -> None:
    response = client.post("/predict", json={"image": image})
    assert_error(response, 400, "invalid_image", message_part)


def test_an_image_format_we_do_not_take_is_415(client: TestClient) -> None:
    tiff = data_url(encode(Image.new("L", (50, 50)), "TIFF"))
    response = client.post("/predict", json={"image": tiff})
    assert_error(response, 415, "unsupported_image_format", "TIFF")


def test_a_decompression_bomb_is_413_before_decoding(client: TestClient) -> None:
    bomb = png_declaring(20000, 20000)
    assert len(bomb) < 1000
    response = client.post("/predict", json={"image": data_url(bomb)})
    assert_error(response, 413, "image_too_large", "too large")


def test_an_image_over_the_pixel_limits_is_413(client: TestClient) -> None:
    response = client.post("/predict", json={"image": data_url(png_declaring(5000, 5000))})
    assert_error(response, 413, "image_too_large", "5000x5000")
    tall = encode(Image.new("L", (SETTINGS.max_image_side + 1, 8), 255))
    response = client.post("/predict", files={"file": ("tall.png", tall, "image/png")})
    assert_error(response, 413, "image_too_large", f"{SETTINGS.max_image_side + 1}x8")


def test_too_many_strokes_is_413(client: TestClient) -> None:
    strokes = [[[i, i], [i + 1, i]] for i in range(SETTINGS.max_strokes + 1)]
    response = client.post("/predict", json={"strokes": strokes})
    assert_error(response, 413, "too_many_points", f"{SETTINGS.max_strokes + 1} strokes")


def test_too_many_points_is_413(client: TestClient) -> None:
    stroke = [[i % 50, i // 50] for i in range(SETTINGS.max_points + 1)]
    response = client.post("/predict", json={"strokes": [stroke]})
    assert_error(response, 413, "too_many_points", f"{SETTINGS.max_points + 1} points")


@pytest.mark.parametrize(
    ("pixels", "message_part"),
    [
        ([[1] * 28] * 27, "shape [27, 28]"),
        ([[300] * 28] * 28, "between 0 and 255"),
        ([[-1] * 28] * 28, "between 0 and 255"),
        ([[1] * 28] * 27 + [[1] * 27], "28 rows of 28 numbers"),
    ],
    ids=["27-rows", "over-255", "negative", "ragged"],
)
def test_pixels_of_wrong_shape_or_range_are_422(
    client: TestClient, pixels: list, message_part: str
) -> None:
    response = client.post("/predict", json={"pixels": pixels})
    assert_error(response, 422, "invalid_pixels", message_part)


def test_a_three_number_point_is_422_naming_it(client: TestClient) -> None:
    response = client.post("/predict", json={"strokes": [[[1, 2], [3, 4, 5]]]})
    assert_error(response, 422, "invalid_strokes", "strokes[0][1]: Tuple should have at most 2")


def test_numbers_as_strings_are_422_naming_the_field(client: TestClient) -> None:
    response = client.post("/predict", json={"strokes": [[["1", "2"]]]})
    assert_error(response, 422, "invalid_strokes", "strokes[0][0][0]: Input should be a valid")
    response = client.post("/predict", json={"strokes": DOT, "model": 5})
    assert_error(response, 422, "invalid_request", "model: Input should be a valid string")


def test_multipart_without_a_file_is_422(client: TestClient) -> None:
    response = client.post("/predict", data={"model": "x"}, files={"other": ("a", b"x")})
    assert_error(response, 422, "invalid_request", "file field")


def test_unreadable_multipart_is_400(client: TestClient) -> None:
    headers = {"Content-Type": "multipart/form-data"}  # no boundary
    response = client.post("/predict", content=b"--x\r\n\r\n", headers=headers)
    assert_error(response, 400, "malformed_multipart", "cannot be read")


def test_batch_over_the_item_limit_is_413(client: TestClient) -> None:
    inputs = [{"strokes": DOT}] * (SETTINGS.max_batch + 1)
    response = client.post("/predict/batch", json={"inputs": inputs})
    assert_error(response, 413, "batch_too_large", f"limit is {SETTINGS.max_batch}")


@pytest.mark.parametrize(
    ("body", "status", "code", "message_part"),
    [
        ("{", 400, "malformed_json", "not valid JSON"),
        ("{}", 422, "invalid_request", "inputs: Field required"),
        ('{"inputs": {"image": "x"}}', 422, "invalid_request", "inputs: Input should be"),
        ('[{"image": "x"}]', 422, "invalid_request", "JSON object"),
        ('{"inputs": [], "model": "nope"}', 404, "unknown_model", "'nope'"),
    ],
)
def test_malformed_batches_fail_as_a_whole(
    client: TestClient, body: str, status: int, code: str, message_part: str
) -> None:
    assert_error(post_json(client, body, "/predict/batch"), status, code, message_part)


JUNK_BODIES = [
    "null",
    "true",
    "0",
    '"image"',
    "[]",
    '{"image": null, "strokes": null, "pixels": null}',
    '{"image": 12}',
    '{"image": ["data:image/png;base64,"]}',
    '{"image": {"data": "x"}}',
    '{"image": ""}',
    '{"image": "data:"}',
    '{"image": "data:image/png;base64,"}',
    '{"strokes": "M 0 0 L 10 10"}',
    '{"strokes": {"0": [[1, 2]]}}',
    '{"strokes": [1, 2, 3]}',
    '{"strokes": [[1, 2]]}',
    '{"strokes": [[[1]]]}',
    '{"strokes": [[[1, 2, 3]]]}',
    '{"strokes": [[[null, 2]]]}',
    '{"strokes": [[[true, false]]]}',
    '{"strokes": [[["1", "2"]]]}',
    '{"strokes": [[[{"x": 1}, 2]]]}',
    '{"strokes": [[[1e400, 2]]]}',
    '{"strokes": [[[' + "9" * 500 + ", 2]]]}",
    '{"strokes": [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}',
    '{"strokes": ' + "[" * 5000 + "]" * 5000 + "}",
    '{"pixels": 255}',
    '{"pixels": [255]}',
    '{"pixels": [[]]}',
    '{"pixels": [["0"]]}',
    '{"pixels": [[' + "9" * 500 + "]]}",
    '{"pixels": ' + json.dumps([[1e308] * 28] * 28) + "}",
    '{"pixels": ' + json.dumps([[[1]] * 28] * 28) + "}",
    '{"strokes": [[[1, 2]]], "model": ["robust-cnn"]}',
    '{"strokes": [[[1, 2]]], "model": ""}',
    '{"image": "\\ud800"}',
    '{"image": "' + "A" * 1001 + '"}',
]


def test_junk_of_every_kind_gets_a_4xx_in_the_error_shape(client: TestClient) -> None:
    for body in JUNK_BODIES:
        for path in ("/predict", "/predict/batch"):
            payload = body if path == "/predict" else f'{{"inputs": [{body}]}}'
            response = post_json(client, payload.encode("utf-8", "surrogatepass"), path)
            if path == "/predict" or response.status_code != 200:
                assert_error(response, range(400, 500), None)
            else:
                assert set(response.json()["results"][0]) == {"error"}, body


def test_mutated_bodies_never_cause_a_server_error(client: TestClient) -> None:
    valid = json.dumps({"strokes": [[[0, 0], [10, 20], [20, 40]]], "model": "mlp512"}).encode()
    rng = random.Random(7)
    for _ in range(150):
        body = bytearray(valid)
        for _ in range(rng.randint(1, 4)):
            body[rng.randrange(len(body))] = rng.choice(b'[]{}",:0-9e.ntfE\\ \x00\xff')
        response = post_json(client, bytes(body[: rng.randint(1, len(body))]))
        if response.status_code != 200:
            assert_error(response, range(400, 500), None)


def test_an_unexpected_failure_is_a_logged_500_with_a_generic_message(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(images: np.ndarray) -> np.ndarray:
        raise RuntimeError("interpreter exploded")

    with TestClient(create_app(), raise_server_exceptions=False) as client:
        model = client.app.state.registry.get()  # type: ignore[attr-defined]
        monkeypatch.setattr(model, "predict", broken)
        with caplog.at_level(logging.ERROR, logger="app.main"):
            response = client.post("/predict", json={"strokes": DOT})
    message = assert_error(response, 500, "internal_error", "the error was logged")
    assert "exploded" not in message
    assert "Internal error on POST /predict" in caplog.text


def test_before_models_are_warm_ready_and_predict_are_503() -> None:
    client = TestClient(create_app())  # no `with`: the lifespan has not run
    assert_error(client.get("/ready"), 503, "not_ready", "still loading")
    assert_error(client.post("/predict", json={"strokes": DOT}), 503, "not_ready", "try again")
    assert client.get("/health").json() == {"status": "ok"}
