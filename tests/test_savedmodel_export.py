"""python -m training export: SavedModels for TF Serving, KServe and Triton, answering as Keras."""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from app.settings import Settings
from training.__main__ import USAGE_ERROR, main

SETTINGS = Settings()
# A CNN, as the default model is; robust-cnn's 10,000 answers take ~3x as long on 2 loaded cores,
# and the export path is the same for every model.
MODEL = "cnn-tutorial"
BATCH = 1000


def serve_all(serve: tf.types.experimental.ConcreteFunction, images: np.ndarray) -> dict:
    """The signature's outputs for every image, in batches as a client would send them."""
    outputs = [
        serve(pixels=tf.constant(images[i : i + BATCH])) for i in range(0, len(images), BATCH)
    ]
    return {name: np.concatenate([o[name].numpy() for o in outputs]) for name in outputs[0]}


@pytest.mark.slow
def test_savedmodel_in_tf_serving_layout_gives_the_keras_answers_on_all_mnist_test_digits(
    tmp_path: Path, mnist_test: tuple[np.ndarray, np.ndarray], capsys: pytest.CaptureFixture
) -> None:
    assert main(["export", "--model", MODEL, "--format", "savedmodel", "--out", str(tmp_path)]) == 0
    folder = tmp_path / MODEL / "1"  # TF Serving: <model base path>/<name>/<version>/
    assert f"wrote {folder}" in capsys.readouterr().out
    assert (folder / "saved_model.pb").is_file() and (folder / "variables").is_dir()

    serve = tf.saved_model.load(str(folder)).signatures["serving_default"]
    _, inputs = serve.structured_input_signature
    assert inputs == {"pixels": tf.TensorSpec([None, 28, 28], tf.float32, name="pixels")}
    assert set(serve.structured_outputs) == {"probabilities", "digit"}

    images = mnist_test[0].astype(np.float32)  # all 10,000, 0..255 white on black
    outputs = serve_all(serve, images)
    expected = keras.saving.load_model(SETTINGS.model_dir / MODEL / "model.keras").predict(
        images, batch_size=BATCH, verbose=0
    )
    assert outputs["probabilities"].shape == (10_000, 10) and outputs["digit"].dtype == np.int64
    np.testing.assert_array_equal(outputs["digit"], expected.argmax(axis=1))
    assert float(np.abs(outputs["probabilities"] - expected).max()) <= 1e-6
    assert (outputs["digit"] == mnist_test[1]).mean() >= 0.98


@pytest.mark.slow
def test_triton_layout_has_a_config_and_a_loadable_savedmodel(
    tmp_path: Path, mnist_test: tuple[np.ndarray, np.ndarray]
) -> None:
    name = "mlp128-64"
    assert main(["export", "--model", name, "--format", "triton", "--out", str(tmp_path)]) == 0
    config = (tmp_path / name / "config.pbtxt").read_text()
    assert f'name: "{name}"' in config and 'platform: "tensorflow_savedmodel"' in config
    assert 'name: "pixels", data_type: TYPE_FP32, dims: [ 28, 28 ]' in config
    serve = tf.saved_model.load(str(tmp_path / name / "1" / "model.savedmodel")).signatures[
        "serving_default"
    ]
    digits = serve(pixels=tf.constant(mnist_test[0][:100].astype(np.float32)))["digit"].numpy()
    assert (digits == mnist_test[1][:100]).mean() >= 0.9


def test_export_refuses_to_overwrite_or_to_export_a_model_that_is_not_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / MODEL / "1").mkdir(parents=True)
    assert main(["export", "--model", MODEL, "--out", str(tmp_path)]) == USAGE_ERROR
    assert "already exists; remove it or export another --version" in capsys.readouterr().err
    assert main(["export", "--model", "nope", "--out", str(tmp_path)]) == USAGE_ERROR
    assert "No stored model" in capsys.readouterr().err
