"""Honest answers over HTTP: letters and shapes are refused, real digits accepted, calibrated.

A real server (python -m app) answers batches of drawings: hand-made letters, shapes and marks
must come back with is_digit false, held-out MNIST and pendigits digits with is_digit true, and
every prediction (batch items too) carries both fields, with the calibrated probabilities.
"""

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from app.honesty import DETECTOR_FOLDER, calibrate, temperature
from app.inference import load_model
from app.settings import Settings
from tests.helpers import assert_error, running_server
from training.card_file import read_card
from training.pendigits import read_pendigits, writer_split

SETTINGS = Settings()
SAMPLE = 40  # digits of each source: a small sample, the full figures are in the cards
MIN_ACCEPTED = 37  # of SAMPLE: the threshold accepts 99% of each source; a little slack

# Non-digits as a student draws them, in pad pixels (y down).
NOT_DIGITS = {
    "letter A": [[[10, 100], [50, 0], [90, 100]], [[28, 55], [72, 55]]],
    "letter B": [
        [[20, 0], [20, 100]],
        [[20, 0], [60, 0], [75, 12], [75, 38], [60, 50], [20, 50]],
        [[20, 50], [65, 50], [82, 63], [82, 88], [65, 100], [20, 100]],
    ],
    "star": [[[50, 0], [79, 90], [2, 35], [98, 35], [21, 90], [50, 0]]],
    "square": [[[0, 0], [100, 0], [100, 100], [0, 100], [0, 0]]],
    "hash": [[[35, 0], [30, 100]], [[70, 0], [65, 100]], [[5, 35], [95, 35]], [[5, 70], [95, 70]]],
    "horizontal line": [[[0, 50], [100, 55]]],
    "cross": [[[0, 0], [100, 100]], [[100, 0], [0, 100]]],
}


def dense(strokes: list) -> list:
    """Points every few pixels along each segment, as a pointer reports them."""
    out = []
    for stroke in strokes:
        points = [stroke[0]]
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:], strict=False):
            points += [[x0 + (x1 - x0) * t / 10, y0 + (y1 - y0) * t / 10] for t in range(1, 11)]
        out.append(points)
    return out


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running_server(SETTINGS.model_dir, "--log-level", "warning") as (base_url, _):
        yield base_url


def batch(server: str, inputs: list[dict]) -> list[dict]:
    response = httpx.post(f"{server}/predict/batch", json={"inputs": inputs}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_letters_shapes_and_marks_are_answered_as_not_digits(server: str) -> None:
    results = batch(server, [{"strokes": dense(s)} for s in NOT_DIGITS.values()])
    verdicts = {name: r["is_digit"] for name, r in zip(NOT_DIGITS, results, strict=True)}
    assert verdicts == dict.fromkeys(NOT_DIGITS, False), results
    for result in results:  # the network's guess is still there, for a class to see
        assert 0 <= result["digit"] <= 9 and len(result["probabilities"]) == 10


def test_held_out_mnist_and_pendigits_digits_are_accepted(
    server: str, mnist_test: tuple[np.ndarray, np.ndarray], pendigits_path: Path
) -> None:
    images, labels = mnist_test
    heldout = writer_split(read_pendigits(pendigits_path))[1][::60][:SAMPLE]
    inputs = [{"pixels": image.tolist()} for image in images[:SAMPLE]]
    inputs += [{"strokes": [s.tolist() for s in d.strokes]} for d in heldout]
    results = batch(server, inputs)
    mnist, pen = results[:SAMPLE], results[SAMPLE:]
    assert sum(r["is_digit"] for r in mnist) >= MIN_ACCEPTED
    assert sum(r["is_digit"] for r in pen) >= MIN_ACCEPTED
    right = [r["digit"] == int(y) for r, y in zip(mnist, labels[:SAMPLE], strict=True)]
    assert sum(right) >= SAMPLE - 1


def test_every_prediction_carries_is_digit_and_a_score_matching_the_threshold(
    server: str,
) -> None:
    card = read_card(SETTINGS.model_dir / DETECTOR_FOLDER)
    threshold = card["threshold"]
    single = httpx.post(f"{server}/predict", json={"strokes": dense(NOT_DIGITS["star"])}).json()
    items = batch(server, [{"strokes": [[[50, 0], [50, 100]]]}, {"pixels": [[0] * 28] * 28}])
    for result in (single, items[0]):
        assert isinstance(result["is_digit"], bool)
        assert 0.0 <= result["digit_score"] <= 1.0
        assert result["is_digit"] == (result["digit_score"] >= threshold)
    assert items[1]["error"]["code"] == "empty_input"  # blank stays an error, item by item
    assert_error(httpx.post(f"{server}/predict", json={"strokes": []}), 422, "empty_input")


def test_served_probabilities_are_the_models_with_its_card_temperature(
    server: str, mnist_test: tuple[np.ndarray, np.ndarray]
) -> None:
    images, _ = mnist_test
    for name in ("robust-cnn", "mlp128-64"):
        model = load_model(SETTINGS.model_dir / name)
        assert temperature(model) != 1.0, f"{name} has no calibration in its card"
        expected = calibrate(model.predict(images[:3].astype(np.float32)), temperature(model))
        served = batch(server, [{"pixels": i.tolist(), "model": name} for i in images[:3]])
        for answer, row in zip(served, expected, strict=True):
            assert np.allclose(answer["probabilities"], row, atol=1e-6)
            assert answer["confidence"] == pytest.approx(row.max(), abs=1e-6)
