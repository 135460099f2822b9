"""Load MNIST from a Keras-layout .npz file and check it before hours of training depend on it.

The file must hold x_train (N, 28, 28) uint8, y_train (N,), x_test (M, 28, 28) uint8 and
y_test (M,) with integer labels 0..9: the layout of keras.datasets.mnist. A wrong file fails
here with a one-line DatasetError that says what was wrong and how to get MNIST, instead of a
shape error deep inside Keras.
"""

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# The server checks model files with the same digest that training writes into the cards.
from app.inference import file_sha256

DATA_ENV_VARIABLE = "DIGITDRAW_MNIST"
KEYS = ("x_train", "y_train", "x_test", "y_test")
IMAGE_SIDE = 28
NUM_CLASSES = 10
HOW_TO_GET_MNIST = (
    "Download it with keras.datasets.mnist.load_data() or pass --data path/to/mnist.npz."
)
EXPECTED_LAYOUT = (
    "Expected Keras's layout: x_train and x_test uint8 (N, 28, 28), y_train and y_test (N,) "
    "integer labels 0-9."
)


class DatasetError(ValueError):
    """The MNIST file is missing or not in Keras's layout; the message says how to fix it."""


@dataclass(frozen=True)
class Mnist:
    """The four MNIST arrays and where they came from (recorded in the model card)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    path: Path
    sha256: str


def _fail(path: Path, problem: str) -> DatasetError:
    return DatasetError(f"{path.name}: {problem}. {EXPECTED_LAYOUT} {HOW_TO_GET_MNIST}")


def _check_images(path: Path, key: str, images: np.ndarray) -> None:
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise _fail(path, f"{key} has shape {images.shape}, not (N, 28, 28)")
    if images.dtype != np.uint8:
        raise _fail(path, f"{key} has dtype {images.dtype}, not uint8")


def _check_labels(path: Path, key: str, labels: np.ndarray, count: int) -> None:
    if labels.ndim != 1:
        raise _fail(path, f"{key} has shape {labels.shape}, not (N,)")
    if not np.issubdtype(labels.dtype, np.integer):
        raise _fail(path, f"{key} has dtype {labels.dtype}, not an integer type")
    if len(labels) != count:
        images_key = "x" + key[1:]
        raise _fail(path, f"{key} has {len(labels)} labels but {images_key} has {count} images")
    if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise _fail(path, f"{key} holds labels outside 0-9 ({labels.min()} to {labels.max()})")


def load_mnist(path: Path | str) -> Mnist:
    """Read and validate a Keras-layout MNIST file; DatasetError when it is missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: file not found. {HOW_TO_GET_MNIST}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in KEYS if key not in archive.files]
            if missing:
                raise _fail(path, f"missing key '{missing[0]}'")
            arrays = {key: archive[key] for key in KEYS}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        if isinstance(error, DatasetError):
            raise
        raise _fail(path, "not a readable .npz file") from error
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        _check_images(path, f"x_{split}", images)
        _check_labels(path, f"y_{split}", labels, len(images))
    return Mnist(
        x_train=arrays["x_train"],
        y_train=arrays["y_train"].astype(np.int64),
        x_test=arrays["x_test"],
        y_test=arrays["y_test"].astype(np.int64),
        path=path,
        sha256=file_sha256(path),
    )


def keras_cache_path() -> Path:
    """Where keras.datasets.mnist.load_data() keeps its download ($KERAS_HOME or ~/.keras)."""
    keras_home = os.environ.get("KERAS_HOME", os.path.join("~", ".keras"))
    return Path(keras_home).expanduser() / "datasets" / "mnist.npz"


def download_mnist() -> Path:
    """Fetch MNIST through Keras (hash-checked, cached) and return the file's path."""
    import keras

    cached = keras_cache_path()
    # An absolute path makes Keras store the file there, so it can be hashed and validated.
    try:
        keras.datasets.mnist.load_data(path=str(cached))
    except Exception as error:  # Keras raises plain Exception for network failures
        raise DatasetError(
            f"Could not download MNIST through Keras ({error}). "
            "Pass --data path/to/mnist.npz or set DIGITDRAW_MNIST."
        ) from error
    return cached


def resolve_data_path(data: Path | str | None) -> Path:
    """--data, else $DIGITDRAW_MNIST, else Keras's own download of MNIST."""
    if data:
        return Path(data)
    from_environment = os.environ.get(DATA_ENV_VARIABLE)
    if from_environment:
        return Path(from_environment)
    return download_mnist()
