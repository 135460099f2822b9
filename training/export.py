"""Convert a Keras model to the TFLite file the server runs, and prove the two agree.

The server answers with model.tflite through LiteRT (no TensorFlow in its process), while the
card's accuracy was measured with Keras. Conversion is only trusted after both give the same
top-1 digit on every MNIST test image and probabilities within 1e-4 of each other.
"""

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

MAX_ABS_DIFF = 1e-4  # float32 kernels differ in summation order, never by more than this
BATCH_SIZE = 1000


class ExportError(RuntimeError):
    """The TFLite model does not reproduce the Keras model."""


@dataclass(frozen=True)
class Agreement:
    """How closely the TFLite model matches Keras on the checked images."""

    top1_agreement: float  # share of images with the same top-1 digit
    max_abs_diff: float  # largest |Δ probability| over all images and digits
    images: int


def convert_to_tflite(model: keras.Model) -> bytes:
    """float32 TFLite flatbuffer of the model, without quantisation."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    # The converter prints the temporary SavedModel's signature; it is of no use here.
    with contextlib.redirect_stdout(io.StringIO()):
        return converter.convert()


def tflite_predict(model_path: Path | str, images: np.ndarray, threads: int = 1) -> np.ndarray:
    """Probabilities (N, 10) from a TFLite file, in batches of up to 1,000 images."""
    interpreter = Interpreter(model_path=str(model_path), num_threads=threads)
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    batches = []
    size = 0
    for start in range(0, len(images), BATCH_SIZE):
        batch = np.asarray(images[start : start + BATCH_SIZE], dtype=np.float32)
        if len(batch) != size:
            interpreter.resize_tensor_input(input_index, list(batch.shape))
            interpreter.allocate_tensors()
            size = len(batch)
        interpreter.set_tensor(input_index, batch)
        interpreter.invoke()
        batches.append(interpreter.get_tensor(output_index).copy())
    return np.concatenate(batches)


def check_agreement(
    model_path: Path | str, images: np.ndarray, keras_probabilities: np.ndarray
) -> Agreement:
    """Compare the TFLite file with Keras's probabilities; ExportError if they differ."""
    tflite_probabilities = tflite_predict(model_path, images)
    same_digit = tflite_probabilities.argmax(axis=1) == keras_probabilities.argmax(axis=1)
    agreement = Agreement(
        top1_agreement=float(same_digit.mean()),
        max_abs_diff=float(np.abs(tflite_probabilities - keras_probabilities).max()),
        images=len(images),
    )
    if agreement.top1_agreement < 1.0 or agreement.max_abs_diff > MAX_ABS_DIFF:
        raise ExportError(
            f"{model_path}: the TFLite model disagrees with Keras on {int((~same_digit).sum())} "
            f"of {len(images)} test digits (max |Δp| {agreement.max_abs_diff:.2e}, limit "
            f"{MAX_ABS_DIFF:g}). The server would not serve the model the card describes."
        )
    return agreement


def export_tflite(
    model: keras.Model, path: Path, images: np.ndarray, keras_probabilities: np.ndarray
) -> Agreement:
    """Write model.tflite and verify it against Keras on `images` (all MNIST test digits)."""
    path.write_bytes(convert_to_tflite(model))
    return check_agreement(path, images, keras_probabilities)
