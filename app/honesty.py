"""Honest answers: "is this a digit at all?" and confidences that mean what they say.

Every prediction gains ``digit_score`` in [0, 1] (how digit-like the 28x28 model input is) and
``is_digit`` (``digit_score >= threshold``). The score comes from the digit detector, a small
binary network in ``model_store/_digit-detector/`` (trained by ``python -m training detector``
on real digits and generated non-digits; the registry skips folders starting with "_"). It runs
on the same 28x28 the classifier sees, so the answer does not depend on the model a class picked.
Its threshold, in its card, was set on held-out real digits (MNIST test, pendigits writers
21-30) to accept 99% of them: see ``python -m training honest``.

The classifiers' softmax is over-confident or under-confident depending on training (label
smoothing keeps robust-cnn below 99% on clear digits). Each card may carry a temperature T fitted
on held-out writers; the served probabilities are softmax(logits / T), which from the
probabilities p alone is normalise(p ** (1 / T)): the digit and the order of the ten stay as they
are, only the confidence changes.
"""

import functools
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.inference import (
    Model,
    ModelStoreError,
    card_value,
    helper_network_in,
    open_helper_network,
)

DETECTOR_FOLDER = "_digit-detector"
DETECTOR_COMMAND = "python -m training detector --data mnist.npz --pendigits pendigits-orig.tra"
# Without a detector (a model store that lacks one), the calibrated top probability stands in as
# the score, with this threshold: a weaker signal, logged at start-up.
FALLBACK_THRESHOLD = 0.5


class Detector:
    """The digit detector: a LiteRT interpreter (not thread-safe) and its threshold."""

    def __init__(self, card: dict[str, Any], interpreter: Any, folder: Path | None = None) -> None:
        self.card = card
        self.folder = folder  # where its card and figures (the trade-off curve) are
        self.threshold = float(card.get("threshold", 0.5))
        self._interpreter = interpreter
        self._input_index = interpreter.get_input_details()[0]["index"]
        self._output_index = interpreter.get_output_details()[0]["index"]
        self._lock = threading.Lock()

    def score(self, digit_image: np.ndarray) -> float:
        """How digit-like a 28x28 model input in [0, 1] is, from 0 to 1."""
        pixels = np.ascontiguousarray(digit_image[np.newaxis] * 255.0, dtype=np.float32)
        with self._lock:
            self._interpreter.set_tensor(self._input_index, pixels)
            self._interpreter.invoke()
            value = float(self._interpreter.get_tensor(self._output_index)[0, 0])
        return min(max(value, 0.0), 1.0)


def open_detector(folder: Path) -> Detector:
    """The detector in `folder`, checked against its card like every model."""
    card, interpreter, model_path = open_helper_network(folder)
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    if list(inputs[0]["shape"]) != [1, 28, 28] or list(outputs[0]["shape"]) != [1, 1]:
        raise ModelStoreError(
            f"{model_path} is not a digit detector (28x28 in, one score out); "
            f"retrain it: {DETECTOR_COMMAND}"
        )
    return Detector(card, interpreter, folder)


@functools.cache
def detector_in(model_dir: Path) -> Detector | None:
    """The store's detector, opened once per process; None (and a warning) when it has none.

    Called at start-up (app.main's lifespan), so a damaged detector stops the server there.
    """
    missing = (
        f"%s has no digit detector; is_digit falls back to the top probability >= "
        f"{FALLBACK_THRESHOLD}. Train it: {DETECTOR_COMMAND}"
    )
    return helper_network_in(model_dir, DETECTOR_FOLDER, open_detector, missing)


def temperature(model: Model) -> float:
    """The model's calibration temperature from its card (1 when not calibrated)."""
    value = card_value(model.card, "calibration", "temperature")
    return float(value) if isinstance(value, int | float) and value > 0 else 1.0


def calibrate(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / T) from softmax(logits): normalise(p ** (1 / T)).

    The top probability is at least 1/10, so its power never underflows and the sum is safe.
    """
    if temperature == 1.0:
        return probabilities
    weights = np.power(probabilities, 1.0 / temperature)
    return weights / weights.sum(axis=-1, keepdims=True)


def served(raw: np.ndarray, model: Model) -> np.ndarray:
    """What clients are shown of a model's (n, 10) or (10,) probabilities: calibrated with the
    temperature of its card."""
    return calibrate(raw, temperature(model))


def digit_scores(
    digit_images: Sequence[np.ndarray], probabilities: np.ndarray, model_dir: Path
) -> np.ndarray:
    """How digit-like each model input is (0 to 1): the detector's score, or without one the
    top of its (n, 10) probabilities. Also what app.numbers weighs candidate digits with."""
    detector = detector_in(model_dir)
    if detector is None:
        return probabilities.max(axis=-1)
    return np.array([detector.score(image) for image in digit_images])


def threshold_for(model_dir: Path) -> float:
    detector = detector_in(model_dir)
    return FALLBACK_THRESHOLD if detector is None else detector.threshold


def judge(digit_image: np.ndarray, probabilities: np.ndarray, model_dir: Path) -> dict[str, Any]:
    """``{"is_digit", "digit_score"}`` for one model input and its calibrated probabilities."""
    score = float(digit_scores([digit_image], probabilities[np.newaxis], model_dir)[0])
    score = round(score, 4)  # what the client sees is what is compared
    return {"is_digit": score >= threshold_for(model_dir), "digit_score": score}


def digit_answer(
    digit_image: np.ndarray, probabilities: np.ndarray, model_dir: Path
) -> dict[str, Any]:
    """``{"digit", "confidence", "probabilities", "is_digit", "digit_score"}``: the answer about one
    model input, from its served probabilities, as /predict and each digit of a number give it."""
    digit = int(probabilities.argmax())
    return {
        "digit": digit,
        "confidence": float(probabilities[digit]),
        "probabilities": probabilities.tolist(),
        **judge(digit_image, probabilities, model_dir),
    }
