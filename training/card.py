"""The model card (card.json) and its two pictures: the metadata that travels with a model.

The server checks a card's input spec and file hashes on load and shows its accuracy; people read
the pictures. The card layout is the shared model-store contract, so build it only here.
"""

import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from app.preprocessing import PREPROCESSING_VERSION
from training.card_file import CARD_FILE, read_card, write_card  # noqa: F401 (re-exported)
from training.data import file_sha256

CURVES_FILE = "curves.png"
CONFUSION_FILE = "confusion.png"
INPUT_SPEC = {
    "shape": [28, 28],
    "dtype": "float32",
    "range": [0, 255],
    "polarity": "white_on_black",
}
OUTPUT_SPEC = {"shape": [10], "meaning": "softmax probabilities, index = digit"}
HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


def layer_rows(model: keras.Model) -> list[dict[str, Any]]:
    """One row per layer: name, class, output shape (None for the batch) and parameter count."""
    return [
        {
            "name": layer.name,
            "class": type(layer).__name__,
            "output_shape": list(layer.output.shape),
            "params": int(layer.count_params()),
        }
        for layer in model.layers
    ]


def file_entry(path: Path) -> dict[str, Any]:
    """sha256 and size of a model file, so the server can tell it is the file the card describes."""
    return {"sha256": file_sha256(path), "bytes": path.stat().st_size}


def versions() -> dict[str, str]:
    """Library versions that produced the model (a Keras file may not load in older ones)."""
    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
    }


def clean_history(history: dict[str, list[float]]) -> dict[str, list[float]]:
    """Per-epoch loss and accuracy, training and validation, as plain floats."""
    return {key: [float(value) for value in history.get(key, [])] for key in HISTORY_KEYS}


def build_card(
    *,
    name: str,
    description: str,
    architecture: str,
    model: keras.Model,
    training: dict[str, Any],
    mnist_test: dict[str, Any],
    history: dict[str, list[float]],
    files: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The complete card, keys in the contract's order."""
    return {
        "name": name,
        "description": description,
        "architecture": architecture,
        "layers": layer_rows(model),
        "params": int(model.count_params()),
        "input": INPUT_SPEC,
        "output": OUTPUT_SPEC,
        "preprocessing_version": PREPROCESSING_VERSION,
        "training": training,
        "versions": versions(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "evaluation": {"mnist_test": mnist_test, "history": clean_history(history)},
        "files": files,
        "pictures": {"curves": CURVES_FILE, "confusion": CONFUSION_FILE},
    }


def plot_curves(history: dict[str, list[float]], path: Path, title: str) -> Path:
    """Loss and accuracy per epoch, training and validation, side by side."""
    figure = Figure(figsize=(9, 3.6), layout="constrained")
    for axes, metric in zip(figure.subplots(1, 2), ("loss", "accuracy"), strict=True):
        for prefix, label in (("", "training"), ("val_", "validation")):
            values = history.get(prefix + metric) or []
            epochs = np.arange(1, len(values) + 1)
            axes.plot(epochs, values, marker="o", label=label)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel(metric)
        axes.grid(alpha=0.3)
        axes.legend()
    figure.suptitle(title)
    figure.savefig(path, dpi=100)
    return path


def plot_confusion(matrix: list[list[int]], path: Path, title: str) -> Path:
    """Annotated 10x10 confusion matrix (rows: true digit, columns: predicted digit)."""
    counts = np.asarray(matrix)
    figure = Figure(figsize=(6.4, 5.6), layout="constrained")
    axes = figure.subplots()
    # Log colour scale: otherwise the diagonal (about 1,000 each) hides every mistake.
    image = axes.imshow(np.log1p(counts), cmap="Blues")
    threshold = np.log1p(counts).max() / 2
    for true in range(counts.shape[0]):
        for predicted in range(counts.shape[1]):
            count = counts[true, predicted]
            if count:
                colour = "white" if np.log1p(count) > threshold else "black"
                axes.text(
                    predicted, true, str(count), ha="center", va="center", color=colour, fontsize=8
                )
    axes.set_xticks(range(10))
    axes.set_yticks(range(10))
    axes.set_xlabel("predicted digit")
    axes.set_ylabel("true digit")
    axes.set_title(title)
    figure.colorbar(image, ax=axes, label="log(1 + count)")
    figure.savefig(path, dpi=100)
    return path
