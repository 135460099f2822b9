"""POST /predict and /predict/batch: every input kind reads the right digit, in the agreed shape."""

import base64
import io
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from app.honesty import calibrate, temperature
from app.inference import ModelRegistry
from app.settings import Settings
from tests.helpers import TestClient, assert_error, data_url, digit_canvas, encode, served_app
from training.pendigits import read_pendigits, writer_split

SETTINGS = Settings()


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with served_app() as test_client:
        yield test_client


@pytest.fixture(scope="module")
def registry(client: TestClient) -> ModelRegistry:
    return client.app.state.registry  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def known_digits(
    mnist_test: tuple[np.ndarray, np.ndarray], registry: ModelRegistry
) -> list[tuple[np.ndarray, int]]:
    """One MNIST test digit per class that the default model reads right on its own."""
    images, labels = mnist_test
    answers = registry.get().predict(images[:200].astype(np.float32)).argmax(axis=1)
    chosen = {}
    for image, label, answer in zip(images[:200], labels[:200], answers, strict=True):
        if label == answer:
            chosen.setdefault(int(label), image)
    return [(chosen[label], label) for label in range(10)]


def assert_prediction(
    body: dict, digit: int, kind: str, model: str = SETTINGS.default_model
) -> None:
    """The contract's 200 body, answering `digit`."""
    assert set(body) == {
        "digit",
        "confidence",
        "probabilities",
        "is_digit",
        "digit_score",
        "model",
        "model_version",
        "input",
        "preprocessed",
        "timing_ms",
    }
    probabilities = body["probabilities"]
    assert len(probabilities) == 10 and all(0 <= p <= 1 for p in probabilities)
    assert abs(sum(probabilities) - 1) <= 1e-6
    assert body["digit"] == digit == int(np.argmax(probabilities)), body["digit"]
    assert body["confidence"] == probabilities[digit]
    assert (body["model"], body["input"]) == (model, kind)
    assert set(body["timing_ms"]) == {"preprocess", "inference"}
    assert all(v >= 0 for v in body["timing_ms"].values())
    assert preprocessed(body).shape == (28, 28)


def preprocessed(body: dict) -> np.ndarray:
    header, _, payload = body["preprocessed"].partition(",")
    assert header == "data:image/png;base64"
    image = Image.open(io.BytesIO(base64.b64decode(payload)))
    assert image.format == "PNG"
    return np.asarray(image)


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "WEBP", "GIF", "BMP"])
def test_predict_reads_a_digit_drawn_in_each_image_format(
    client: TestClient, known_digits: list, image_format: str
) -> None:
    for digit, label in known_digits[::3]:
        data = encode(digit_canvas(digit), image_format)
        response = client.post("/predict", json={"image": data_url(data)})
        assert response.status_code == 200, response.text
        assert_prediction(response.json(), label, "image")


def test_predict_reads_bare_base64(client: TestClient, known_digits: list) -> None:
    digit, label = known_digits[4]
    text = base64.b64encode(encode(digit_canvas(digit))).decode()
    assert_prediction(client.post("/predict", json={"image": text}).json(), label, "image")


def test_predict_reads_ink_on_a_transparent_canvas(client: TestClient, known_digits: list) -> None:
    for digit, label in known_digits[1::3]:
        image = data_url(encode(digit_canvas(digit, transparent=True)))
        assert_prediction(client.post("/predict", json={"image": image}).json(), label, "image")


def test_predict_reads_pendigits_strokes(client: TestClient, pendigits_path) -> None:
    _, heldout = writer_split(read_pendigits(pendigits_path))
    sample = heldout[:40]
    right = 0
    for pen_digit in sample:
        strokes = [stroke.tolist() for stroke in pen_digit.strokes]
        response = client.post("/predict", json={"strokes": strokes})
        assert response.status_code == 200, response.text
        body = response.json()
        assert_prediction(body, body["digit"], "strokes")
        right += body["digit"] == pen_digit.label
    assert right / len(sample) >= 0.8


def test_predict_takes_pixels_as_the_model_input_unchanged(
    client: TestClient, known_digits: list
) -> None:
    digit, label = known_digits[9]
    body = client.post("/predict", json={"pixels": digit.tolist()}).json()
    assert_prediction(body, label, "pixels")
    assert np.array_equal(preprocessed(body), digit)


def test_predict_uses_the_model_named_in_the_request(
    client: TestClient, known_digits: list, registry: ModelRegistry
) -> None:
    digit, _ = known_digits[3]
    for name in registry.names:
        body = client.post("/predict", json={"pixels": digit.tolist(), "model": name}).json()
        model = registry.get(name)
        raw = model.predict(digit[np.newaxis].astype(np.float32))[0]
        expected = calibrate(raw, temperature(model))  # served as calibrated (app.honesty)
        assert body["model"] == name
        assert np.allclose(body["probabilities"], expected, atol=1e-9)


def test_predict_reads_a_multipart_file_and_model_field(
    client: TestClient, known_digits: list, registry: ModelRegistry
) -> None:
    digit, label = known_digits[2]
    files = {"file": ("digit.png", encode(digit_canvas(digit)), "image/png")}
    assert_prediction(client.post("/predict", files=files).json(), label, "image")
    other = registry.names[0] if registry.names[0] != SETTINGS.default_model else registry.names[-1]
    body = client.post("/predict", files=files, data={"model": other}).json()
    assert body["model"] == other and body["input"] == "image"


def test_predict_accepts_json_with_a_charset(client: TestClient, known_digits: list) -> None:
    digit, label = known_digits[5]
    response = client.post(
        "/predict",
        content=f'{{"pixels": {digit.tolist()}}}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert_prediction(response.json(), label, "pixels")


def test_batch_answers_in_input_order_with_errors_in_place(
    client: TestClient, known_digits: list
) -> None:
    inputs = [{"pixels": digit.tolist()} for digit, _ in known_digits]
    inputs.insert(3, {"pixels": [[0] * 28] * 28})
    inputs.insert(7, {"image": "not base64!"})
    inputs.append({"strokes": [[[0, 0], [1, 1]]], "pixels": [[0]]})
    response = client.post("/predict/batch", json={"inputs": inputs})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == len(inputs)
    errors = {index: results.pop(index)["error"]["code"] for index in (len(inputs) - 1, 7, 3)}
    assert errors == {3: "empty_input", 7: "invalid_image", 12: "invalid_input_kind"}
    for result, (_, label) in zip(results, known_digits, strict=True):
        assert_prediction(result, label, "pixels")


def test_batch_reports_unknown_and_invalid_items_in_place(client: TestClient) -> None:
    inputs = [
        {"pixels": "dark"},
        {"strokes": [[[1, 2, 3]]]},
        {"image": "x", "model": "nope"},
        7,
    ]
    results = client.post("/predict/batch", json={"inputs": inputs}).json()["results"]
    codes = [result["error"]["code"] for result in results]
    assert codes == ["invalid_pixels", "invalid_strokes", "unknown_model", "invalid_request"]
    assert "pixels" in results[0]["error"]["message"]
    assert "strokes[0][0]" in results[1]["error"]["message"]


def test_batch_uses_the_batch_model_unless_an_item_names_one(
    client: TestClient, known_digits: list, registry: ModelRegistry
) -> None:
    digit = known_digits[0][0].tolist()
    other = next(name for name in registry.names if name != SETTINGS.default_model)
    body = {"inputs": [{"pixels": digit}, {"pixels": digit, "model": SETTINGS.default_model}]}
    results = client.post("/predict/batch", json={**body, "model": other}).json()["results"]
    assert [result["model"] for result in results] == [other, SETTINGS.default_model]


def test_empty_batch_answers_no_results(client: TestClient) -> None:
    response = client.post("/predict/batch", json={"inputs": []})
    assert response.status_code == 200 and response.json() == {"results": []}


def test_every_documented_example_is_answered(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/predict"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert set(examples) >= {"image", "bare_base64", "strokes", "pixels"}
    digits = {
        name: client.post("/predict", json=example["value"]).json()["digit"]
        for name, example in examples.items()
    }
    assert digits == {"image": 7, "bare_base64": 7, "strokes": 7, "pixels": 1}


def test_cors_lets_any_origin_call_the_api_without_credentials(client: TestClient) -> None:
    preflight = client.options(
        "/predict",
        headers={
            "Origin": "https://school.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in preflight.headers
    response = client.get("/models", headers={"Origin": "https://school.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.slow
def test_round_trip_of_500_drawn_mnist_digits_agrees_with_the_model(
    client: TestClient, mnist_test: tuple[np.ndarray, np.ndarray], registry: ModelRegistry
) -> None:
    """MNIST digits scaled x3-x10 onto random canvases read as the model reads the originals."""
    images, _ = mnist_test
    rng = np.random.default_rng(2024)
    chosen = rng.choice(len(images), 500, replace=False)
    direct = registry.get().predict(images[chosen].astype(np.float32)).argmax(axis=1)
    agreed = 0
    for index, expected in zip(chosen, direct, strict=True):
        scale = int(rng.integers(3, 11))
        side = 28 * scale
        size = (int(rng.integers(max(100, side), 601)), int(rng.integers(max(100, side), 601)))
        position = (
            int(rng.integers(0, size[0] - side + 1)),
            int(rng.integers(0, size[1] - side + 1)),
        )
        canvas = digit_canvas(images[index], scale, size, position, bool(rng.integers(2)))
        response = client.post("/predict", json={"image": data_url(encode(canvas))})
        assert response.status_code == 200, response.text
        agreed += response.json()["digit"] == expected
    assert agreed / len(chosen) >= 0.99


def test_error_items_use_the_error_shape(client: TestClient) -> None:
    response = client.post("/predict/batch", json={"inputs": [{}]})
    item = response.json()["results"][0]
    assert set(item) == {"error"} and set(item["error"]) == {"code", "message"}
    single = client.post("/predict", json={})
    assert_error(single, 422, item["error"]["code"], item["error"]["message"])
