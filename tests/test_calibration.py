"""Calibrated confidence: the served probabilities mean what they say on held-out digits."""

from pathlib import Path

import numpy as np
import pytest

from app.honesty import calibrate, temperature
from app.inference import load_model, model_folders
from app.preprocessing import strokes_to_mnist
from app.settings import Settings
from training.honest import REAL_SOURCES, fit_temperature, reliability, threshold_for
from training.pendigits import read_pendigits, writer_split

SETTINGS = Settings()
MNIST_SAMPLE = 3000
# The cards' figure is <= 2% on MNIST test + pendigits writers 26-30; this smaller sample
# (strokes path only) gets some slack for its sampling error.
ECE_BOUND = 0.03


def test_calibrate_equals_softmax_of_logits_over_the_temperature() -> None:
    logits = np.random.default_rng(0).normal(0, 4, (50, 10))
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    for t in (0.5, 1.0, 1.7):
        scaled = np.exp(logits / t) / np.exp(logits / t).sum(axis=1, keepdims=True)
        assert np.allclose(calibrate(softmax, t), scaled, atol=1e-9)
        assert (calibrate(softmax, t).argmax(axis=1) == softmax.argmax(axis=1)).all()


@pytest.fixture(scope="module")
def heldout_strokes(pendigits_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Pendigits writers 26-30 (never used to fit a temperature) through the strokes path."""
    digits = [d for d in writer_split(read_pendigits(pendigits_path))[1] if d.writer >= 26]
    images = np.stack([strokes_to_mnist([s.tolist() for s in d.strokes]) for d in digits])
    return images, np.array([d.label for d in digits])


@pytest.mark.parametrize("folder", model_folders(SETTINGS.model_dir), ids=lambda f: f.name)
def test_every_model_is_calibrated_on_held_out_digits(
    folder: Path,
    mnist_test: tuple[np.ndarray, np.ndarray],
    heldout_strokes: tuple[np.ndarray, np.ndarray],
) -> None:
    model = load_model(folder)
    images, labels = mnist_test
    pen_images, pen_labels = heldout_strokes
    probabilities = np.concatenate(
        [
            model.predict(images[-MNIST_SAMPLE:].astype(np.float32)),
            model.predict(pen_images * 255.0),
        ]
    )
    every_label = np.concatenate([labels[-MNIST_SAMPLE:], pen_labels])
    calibrated = calibrate(probabilities, temperature(model))
    assert reliability(calibrated, every_label)["ece"] <= ECE_BOUND
    assert model.card["calibration"]["ece_calibrated"] <= 0.02
    assert (folder / model.card["calibration"]["reliability_file"]).is_file()


def test_fitted_temperature_recovers_the_one_that_made_the_labels() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (4000, 10))
    truth = np.exp(logits / 2.0) / np.exp(logits / 2.0).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(10, p=row) for row in truth])
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert fit_temperature(softmax, labels) == pytest.approx(2.0, rel=0.1)


def test_threshold_accepts_99_percent_of_every_real_digit_source() -> None:
    rng = np.random.default_rng(2)
    scores = {source: rng.uniform(0.2 * k, 1.0, 1000) for k, source in enumerate(REAL_SOURCES)}
    threshold = threshold_for(scores)
    assert all((scores[s] >= threshold).mean() >= 0.99 for s in REAL_SOURCES)
