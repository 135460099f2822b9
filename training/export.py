"""Convert a Keras model to the TFLite file the server runs, and prove the two agree.

The server answers with model.tflite through LiteRT (no TensorFlow in its process), while the
card's accuracy was measured with Keras. Conversion is only trusted after both give the same
top-1 digit on every MNIST test image and probabilities within 1e-4 of each other.
"""

import contextlib
import io
from collections.abc import Callable
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


# --- SavedModel for TF Serving, KServe and Triton ---------------------------------------------

SERVING_SIGNATURE = "serving_default"
SAVEDMODEL_FORMATS = ("savedmodel", "triton")
TRITON_MAX_BATCH = 256  # as the server's settings.max_batch


def serving_endpoint(model: keras.Model) -> Callable[[tf.Tensor], dict[str, tf.Tensor]]:
    """serving_default: pixels [N, 28, 28] float 0..255, white on black -> probabilities, digit."""

    @tf.function(input_signature=[tf.TensorSpec([None, 28, 28], tf.float32, name="pixels")])
    def serve(pixels: tf.Tensor) -> dict[str, tf.Tensor]:
        probabilities = model(pixels, training=False)
        return {"probabilities": probabilities, "digit": tf.argmax(probabilities, axis=1)}

    return serve


def triton_config(name: str) -> str:
    """config.pbtxt of a Triton model repository entry (tensorflow_savedmodel backend).

    Written from Triton's model-configuration docs; not run here (no Triton server on this
    machine). digit is one INT64 per image: dims [1] reshaped to a scalar, as Triton wants
    non-empty dims with batching.
    """
    return (
        f'name: "{name}"\n'
        'platform: "tensorflow_savedmodel"\n'
        f"max_batch_size: {TRITON_MAX_BATCH}\n"
        'input [ { name: "pixels", data_type: TYPE_FP32, dims: [ 28, 28 ] } ]\n'
        "output [\n"
        '  { name: "probabilities", data_type: TYPE_FP32, dims: [ 10 ] },\n'
        '  { name: "digit", data_type: TYPE_INT64, dims: [ 1 ], reshape: { shape: [ ] } }\n'
        "]\n"
    )


def export_savedmodel(
    model: keras.Model, out: Path, name: str, version: int = 1, layout: str = "savedmodel"
) -> Path:
    """Write the model as a SavedModel with a `serving_default` signature; return its folder.

    layout "savedmodel" is TF Serving's (and KServe's TensorFlow runtime's): OUT/NAME/VERSION/
    holding saved_model.pb and variables/. Layout "triton" is a Triton model repository entry:
    OUT/NAME/config.pbtxt and OUT/NAME/VERSION/model.savedmodel/.
    """
    if layout not in SAVEDMODEL_FORMATS:
        raise ValueError(f"Unknown layout {layout!r}; choose {', '.join(SAVEDMODEL_FORMATS)}.")
    folder = out / name / str(version)
    if layout == "triton":
        folder = folder / "model.savedmodel"
    if folder.exists():
        raise ExportError(f"{folder} already exists; remove it or export another --version.")
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(SERVING_SIGNATURE, serving_endpoint(model))
    # write_out prints the endpoints' signatures; of no use to a command that says where it wrote.
    with contextlib.redirect_stdout(io.StringIO()):
        archive.write_out(str(folder))
    if layout == "triton":
        (out / name / "config.pbtxt").write_text(triton_config(name), encoding="utf-8")
    return folder
