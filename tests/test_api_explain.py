"""POST /explain and the weights endpoint against Keras and tf.GradientTape, on a real server.

For every committed model and 20 MNIST test digits: each layer's activations equal the Keras
model's (float32, as served) within 1e-4 of the layer's largest magnitude, and the saliency map
equals tf.GradientTape's within 1e-3 of the map's largest magnitude, for the answer and for
another digit ("why not?"). The gradient reference is the same Keras model run in float64: in
float32, TensorFlow's softmax gradient takes 1 - p for a sure answer (p = 0.9999999) from
rounding noise, and its map is then off by up to 200% (measured on these digits for the MLPs and
the tutorial CNN; robust-cnn, trained with label smoothing, agrees with float32 within 5e-6).
A max-pooling window whose two largest values tie, or differ by less than float32's rounding,
has two valid gradients; float32 and float64 may pick different cells there (how often depends
on the machine's kernels), so the reference sends each window's gradient to the cell the served
activations hold largest, and checks that cell is the window's maximum in float64 too.
"""

import base64
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from app.settings import Settings
from tests.helpers import assert_error, digit_canvas, encode, running_server

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

SETTINGS = Settings()
MODELS = ("mlp512", "mlp128-64", "cnn-tutorial", "robust-cnn")
DIGITS = 20  # MNIST test digits per model
ACTIVATION_TOLERANCE = 1e-4  # of each layer's largest magnitude
SALIENCY_TOLERANCE = 1e-3  # of each map's largest magnitude


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running_server(SETTINGS.model_dir, "--log-level", "warning") as (base_url, _):
        yield base_url


@pytest.fixture(scope="module")
def digits(mnist_test: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    images, _ = mnist_test
    return images[:DIGITS]


def keras_path(name: str) -> Path:
    return SETTINGS.model_dir / name / "model.keras"


def float64_twin(model: Any, path: Path) -> Any:
    """The same network built with float64 variables and arithmetic."""
    config = zipfile.ZipFile(path).read("config.json").decode().replace('"float32"', '"float64"')
    twin = keras.models.model_from_json(config)
    twin.set_weights([weights.astype(np.float64) for weights in model.get_weights()])
    return twin


def tape_saliency(
    model: Any, images: np.ndarray, targets: np.ndarray, routes: dict[str, np.ndarray]
) -> np.ndarray:
    """d p[target] / d image for images in [0, 1], the model reading image * 255, each
    max-pooling layer sending its gradient to the window cells `routes` names (routed_pool)."""
    image = tf.Variable(images)
    with tf.GradientTape() as tape:
        x = image * 255.0
        for layer in model.layers:
            if isinstance(layer, keras.layers.InputLayer):
                continue
            if isinstance(layer, keras.layers.MaxPooling2D):
                x = routed_pool(x, routes[layer.name], tuple(layer.pool_size))
            else:
                x = layer(x)
        chosen = tf.gather(x, targets, axis=1, batch_dims=1)
    return tape.gradient(chosen, image).numpy()


def window_cells(x: Any, pool: tuple[int, int]) -> Any:
    """(n, rows, columns, channels, cells): each pooling window's cells in row-major order."""
    n, height, width, channels = x.shape
    rows, columns = height // pool[0], width // pool[1]
    tiles = tf.reshape(
        x[:, : rows * pool[0], : columns * pool[1]], (n, rows, pool[0], columns, pool[1], channels)
    )
    cells = tf.transpose(tiles, (0, 1, 3, 5, 2, 4))
    return tf.reshape(cells, (n, rows, columns, channels, pool[0] * pool[1]))


def routed_pool(x: Any, route: np.ndarray, pool: tuple[int, int]) -> Any:
    """Max-pooling whose gradient goes to the chosen cell of each window, after checking that
    the cell holds the window's maximum (within the activations' tolerance)."""
    cells = window_cells(x, pool)
    chosen = tf.reduce_sum(cells * tf.one_hot(route, pool[0] * pool[1], dtype=x.dtype), axis=-1)
    largest = tf.reduce_max(cells, axis=-1)
    shortfall = float(tf.reduce_max(largest - chosen)) / max(float(tf.reduce_max(largest)), 1e-30)
    assert shortfall <= ACTIVATION_TOLERANCE, shortfall
    return chosen


def served_routes(answers: list[dict[str, Any]], model: Any) -> dict[str, np.ndarray]:
    """Per max-pooling layer, the cell of each window that the served activations of the layer
    before it hold largest (the first, as the server's replay and TensorFlow pick)."""
    routes = {}
    for position, layer in enumerate(model.layers):
        if isinstance(layer, keras.layers.MaxPooling2D):
            before = np.stack(
                [np.asarray(a["layers"][position - 1]["activations"]) for a in answers]
            )
            cells = window_cells(tf.constant(before), tuple(layer.pool_size)).numpy()
            routes[layer.name] = cells.argmax(axis=-1)
    return routes


def relative_error(values: Any, reference: np.ndarray) -> float:
    scale = max(float(np.abs(reference).max()), 1e-30)
    return float(np.abs(np.asarray(values, dtype=np.float64) - reference).max() / scale)


def explain(base_url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{base_url}/explain", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_explain_matches_keras_and_gradient_tape(
    server: str, digits: np.ndarray, name: str
) -> None:
    model = keras.models.load_model(keras_path(name))
    every_layer = keras.Model(model.inputs, [layer.output for layer in model.layers])
    references = [np.asarray(output) for output in every_layer(digits.astype(np.float32))]
    twin = float64_twin(model, keras_path(name))
    images = digits.astype(np.float64) / 255.0
    answers, other_targets, why_nots = [], [], []
    for index, digit in enumerate(digits):
        body = {"pixels": digit.tolist(), "model": name}
        answer = explain(server, body)
        prediction = httpx.post(f"{server}/predict", json=body).json()
        for key in set(prediction) - {"timing_ms"}:
            assert answer[key] == prediction[key], key
        assert [layer["name"] for layer in answer["layers"]] == [
            layer.name for layer in model.layers
        ]
        for layer, keras_layer, reference in zip(
            answer["layers"], model.layers, references, strict=True
        ):
            assert layer["kind"] == type(keras_layer).__name__
            assert layer["shape"] == list(reference.shape[1:])
            error = relative_error(layer["activations"], reference[index])
            assert error <= ACTIVATION_TOLERANCE, (name, index, layer["name"], error)
        other = (answer["digit"] + 3) % 10
        why_not = explain(server, {**body, "target": other})
        assert why_not["saliency"]["target"] == other
        assert why_not["digit"] == answer["digit"]
        answers.append(answer)
        other_targets.append(other)
        why_nots.append(why_not["saliency"])
    targets = np.array([answer["digit"] for answer in answers])
    routes = served_routes(answers, model)
    for maps, wanted in (
        ([answer["saliency"] for answer in answers], targets),
        (why_nots, np.array(other_targets)),
    ):
        reference = tape_saliency(twin, images, wanted, routes)
        for index, saliency in enumerate(maps):
            assert saliency["method"] == "gradient" and saliency["target"] == wanted[index]
            error = relative_error(saliency["values"], reference[index])
            assert error <= SALIENCY_TOLERANCE, (name, index, int(wanted[index]), error)


@pytest.mark.parametrize("name", MODELS)
def test_weights_endpoint_returns_the_keras_files_weights(server: str, name: str) -> None:
    model = keras.models.load_model(keras_path(name))
    for layer in model.layers:
        response = httpx.get(f"{server}/models/{name}/layers/{layer.name}/weights", timeout=30)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["model"], body["layer"]) == (name, layer.name)
        assert body["kind"] == type(layer).__name__
        served = list(body["weights"].values())
        assert [variable.path.rsplit("/", 1)[-1] for variable in layer.weights] == list(
            body["weights"]
        )
        for variable, stored in zip(layer.get_weights(), served, strict=True):
            assert stored["shape"] == list(variable.shape)
            assert np.array_equal(np.asarray(stored["values"], dtype=np.float32), variable)


def test_explain_refuses_what_predict_refuses_and_a_bad_target(server: str) -> None:
    stroke = {"strokes": [[[10, 8], [30, 8], [18, 34]]]}
    assert_error(httpx.post(f"{server}/explain", json={"strokes": []}), 422, "empty_input")
    assert_error(
        httpx.post(f"{server}/explain", json={**stroke, "model": "nope"}), 404, "unknown_model"
    )
    for target in (10, -1, "3", 2.5, True):
        response = httpx.post(f"{server}/explain", json={**stroke, "target": target})
        assert_error(response, 422, "invalid_request", "target")
    assert_error(
        httpx.post(f"{server}/explain", content=b"{", headers={"Content-Type": "application/json"}),
        400,
        "malformed_json",
    )


def test_weights_endpoint_names_unknown_models_and_layers(server: str) -> None:
    assert_error(httpx.get(f"{server}/models/nope/layers/dense/weights"), 404, "unknown_model")
    response = httpx.get(f"{server}/models/mlp512/layers/nope/weights")
    assert_error(response, 404, "unknown_layer", "dense")


def test_explain_reads_strokes_and_a_multipart_image(server: str, digits: np.ndarray) -> None:
    stroke = {"strokes": [[[10, 8], [30, 8], [18, 34]]], "model": "mlp128-64", "target": 3}
    answer = explain(server, stroke)
    assert answer["input"] == "strokes" and answer["saliency"]["target"] == 3
    assert np.asarray(answer["saliency"]["values"]).shape == (28, 28)
    png = encode(digit_canvas(digits[0]))
    response = httpx.post(f"{server}/explain", files={"file": ("d.png", png, "image/png")})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["input"] == "image" and answer["model"] == SETTINGS.default_model
    assert answer["saliency"]["target"] == answer["digit"] == 7


def test_explain_is_documented_with_examples(server: str) -> None:
    document = httpx.get(f"{server}/openapi.json").json()
    operation = document["paths"]["/explain"]["post"]
    content = operation["requestBody"]["content"]["application/json"]
    assert "why_not" in content["examples"] and "target" in content["schema"]["properties"]
    assert "/models/{name}/layers/{layer}/weights" in document["paths"]
    assert json.dumps(operation["responses"]["200"])  # the Explanation schema is referenced


def test_base64_encoding_carries_the_same_float32_activations(
    server: str, digits: np.ndarray
) -> None:
    body = {"pixels": digits[1].tolist(), "model": "cnn-tutorial"}
    lists = explain(server, body)
    packed = explain(server, {**body, "encoding": "base64"})
    assert packed["saliency"] == lists["saliency"] and packed["digit"] == lists["digit"]
    for plain, layer in zip(lists["layers"], packed["layers"], strict=True):
        assert "activations" not in layer and layer["shape"] == plain["shape"]
        values = np.frombuffer(base64.b64decode(layer["activations_base64"]), dtype="<f4")
        expected = np.asarray(plain["activations"], dtype=np.float32).ravel()
        assert np.array_equal(values, expected), layer["name"]


@pytest.mark.parametrize("name", MODELS)
def test_first_layer_contributions_are_activation_times_gradient_tape(
    server: str, digits: np.ndarray, name: str
) -> None:
    """activation x d p[target] / d activation of the first Dense or Conv2D, per unit."""
    model = keras.models.load_model(keras_path(name))
    twin = float64_twin(model, keras_path(name))
    first = next(
        i for i, layer in enumerate(twin.layers) if type(layer).__name__ in ("Dense", "Conv2D")
    )
    head = keras.Model(twin.inputs, twin.layers[first].output)
    for digit in digits[:3]:
        answer = explain(server, {"pixels": digit.tolist(), "model": name, "target": 2})
        assert answer["first_layer"]["name"] == twin.layers[first].name
        hidden = tf.Variable(head(digit[np.newaxis].astype(np.float64)))
        with tf.GradientTape() as tape:
            output = hidden
            for layer in twin.layers[first + 1 :]:
                output = layer(output)
            chosen = output[0, 2]
        gradient = tape.gradient(chosen, hidden).numpy()
        product = (hidden.numpy() * gradient)[0]
        reference = product.reshape(-1, product.shape[-1]).sum(axis=0)
        error = relative_error(answer["first_layer"]["contributions"], reference)
        assert error <= SALIENCY_TOLERANCE, (name, error)
