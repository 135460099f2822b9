"""The trained models the server answers with, checked against their cards and run with LiteRT.

Each folder of the model store holds ``model.tflite`` and ``card.json``. The server runs the
.tflite file with LiteRT rather than Keras: no TensorFlow import, about 75 MiB instead of 600, and
well under a millisecond per call. A model that does not match its card is refused at start-up
rather than trusted: a wrong file would otherwise answer confidently and wrongly.
"""

import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from app.errors import InputError
from app.preprocessing import PREPROCESSING_VERSION

logger = logging.getLogger(__name__)

MODEL_FILE = "model.tflite"
CARD_FILE = "card.json"
INPUT_SHAPE = [1, 28, 28]  # one image; the preprocessing output, scaled to 0..255
OUTPUT_SHAPE = [1, 10]  # softmax probabilities, index = digit
WARM_UP_CALLS = 3  # the first invokes allocate and plan; clients should not pay for them


class ModelStoreError(RuntimeError):
    """The model store cannot be served; the message is one line naming the file and the fix."""


class UnknownModel(InputError):
    """The request names a model the server does not have."""

    code = "unknown_model"
    status = 404


def train_command(name: str) -> str:
    """The command that (re)creates a model folder, quoted in every start-up error."""
    return f"python -m training train --model {name} --data path/to/mnist.npz"


def card_value(card: dict[str, Any], *keys: str) -> Any:
    """A nested card field, or None when any level is missing: cards gain fields over time."""
    value: Any = card
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


class Model:
    """One served model: its card and a LiteRT interpreter, which is not thread-safe."""

    def __init__(self, name: str, card: dict[str, Any], interpreter: Interpreter) -> None:
        self.name = name
        self.card = card
        self._interpreter = interpreter
        self._input_index = interpreter.get_input_details()[0]["index"]
        self._output_index = interpreter.get_output_details()[0]["index"]
        self._lock = threading.Lock()
        self.load_seconds: float | None = None

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Probabilities (N, 10) in float64, each row summing to 1, for images (N, 28, 28) 0..255.

        One invoke per image rather than a resized input tensor: measured as fast for the CNNs
        (0.08 ms an image; resizing reallocates every tensor), slower only for the small MLPs,
        where a batch's time goes to preprocessing anyway. One interpreter per model suffices.
        """
        images = np.ascontiguousarray(images, dtype=np.float32)
        outputs = np.empty((len(images), OUTPUT_SHAPE[1]), dtype=np.float32)
        with self._lock:
            for row, image in enumerate(images):
                self._interpreter.set_tensor(self._input_index, image[np.newaxis])
                self._interpreter.invoke()
                outputs[row] = self._interpreter.get_tensor(self._output_index)[0]
        # A float32 softmax sums to 1 only within ~1e-7 per term; clients check the total.
        probabilities = outputs.astype(np.float64)
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def warm_up(self) -> None:
        """Run a few blank images so the first client does not pay for lazy initialisation."""
        self.predict(np.zeros((WARM_UP_CALLS, *INPUT_SHAPE[1:]), dtype=np.float32))


class ModelRegistry:
    """The served models by name, which one is the default, and whether all are warm."""

    def __init__(self, models: dict[str, Model], default_name: str) -> None:
        self._models = models
        self.default_name = default_name
        self.ready = False

    @property
    def names(self) -> list[str]:
        return sorted(self._models)

    def __iter__(self) -> Iterator[Model]:
        return (self._models[name] for name in self.names)

    def get(self, name: str | None = None) -> Model:
        """The named model, or the default one; UnknownModel lists the names that exist."""
        model = self._models.get(self.default_name if name is None else name)
        if model is None:
            raise UnknownModel(
                f"There is no model named {name!r}. Available models: {', '.join(self.names)}."
            )
        return model

    def warm_up(self) -> None:
        for model in self:
            model.warm_up()
        self.ready = True


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, streamed (the one digest of cards, training and the server)."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def read_card(path: Path, name: str) -> dict[str, Any]:
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelStoreError(
            f"{path} is not a readable JSON model card ({error}); "
            f"retrain the model: {train_command(name)}"
        ) from error
    if not isinstance(card, dict):
        raise ModelStoreError(
            f"{path} is not a JSON object; retrain the model: {train_command(name)}"
        )
    return card


def check_checksum(model_path: Path, card: dict[str, Any], card_path: Path) -> None:
    """The card vouches for one exact file; anything else may be a partial copy or another model."""
    expected = card_value(card, "files", MODEL_FILE, "sha256")
    if not isinstance(expected, str):
        raise ModelStoreError(
            f"{card_path} lacks files.{MODEL_FILE}.sha256; "
            f"retrain the model: {train_command(model_path.parent.name)}"
        )
    if file_sha256(model_path) != expected:
        raise ModelStoreError(
            f"{model_path} does not match the sha256 in {card_path} (corrupt or replaced file); "
            f"retrain the model: {train_command(model_path.parent.name)}"
        )


def open_interpreter(model_path: Path) -> Interpreter:
    try:
        # One thread per interpreter: a call takes well under a millisecond, so parallelism
        # comes from concurrent requests and worker processes, not from splitting one call.
        interpreter = Interpreter(model_path=str(model_path), num_threads=1)
        interpreter.allocate_tensors()
    except (RuntimeError, ValueError) as error:
        raise ModelStoreError(
            f"{model_path} is not a valid TFLite model ({error}); "
            f"retrain the model: {train_command(model_path.parent.name)}"
        ) from error
    return interpreter


def check_signature(interpreter: Interpreter, card: dict[str, Any], model_path: Path) -> None:
    """The file, its card and the server's preprocessing must agree on input and output."""
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    card_input = card_value(card, "input", "shape")
    card_output = card_value(card, "output", "shape")
    problems = []
    if len(inputs) != 1 or list(inputs[0]["shape"]) != INPUT_SHAPE:
        problems.append(f"input shape {[list(i['shape']) for i in inputs]} is not {INPUT_SHAPE}")
    elif inputs[0]["dtype"] != np.float32 or card_value(card, "input", "dtype") != "float32":
        problems.append("input dtype is not float32 in the file and the card")
    if len(outputs) != 1 or list(outputs[0]["shape"]) != OUTPUT_SHAPE:
        problems.append(f"output shape {[list(o['shape']) for o in outputs]} is not {OUTPUT_SHAPE}")
    if card_input != INPUT_SHAPE[1:] or card_output != OUTPUT_SHAPE[1:]:
        problems.append(f"card input/output shapes {card_input}/{card_output} are not 28x28/10")
    if problems:
        raise ModelStoreError(
            f"{model_path} does not fit its card or the server ({'; '.join(problems)}); "
            f"retrain the model: {train_command(model_path.parent.name)}"
        )


def checked_card(folder: Path) -> dict[str, Any]:
    """The card of a model folder whose files are present and match it (cheap: no interpreter)."""
    name = folder.name
    model_path, card_path = folder / MODEL_FILE, folder / CARD_FILE
    for path in (model_path, card_path):
        if not path.is_file():
            raise ModelStoreError(f"{path} is missing; train the model: {train_command(name)}")
    card = read_card(card_path, name)
    check_checksum(model_path, card, card_path)
    return card


def load_model(folder: Path, card: dict[str, Any] | None = None) -> Model:
    """Open one model folder after checking its file against its card (unless given, checked)."""
    name = folder.name
    started = time.perf_counter()
    model_path = folder / MODEL_FILE
    if card is None:
        card = checked_card(folder)
    interpreter = open_interpreter(model_path)
    check_signature(interpreter, card, model_path)
    version = card.get("preprocessing_version")
    if version != PREPROCESSING_VERSION:
        # Still served: the answers are usable, only less accurate than the card says.
        logger.warning(
            "%s was trained for preprocessing version %s but the server runs version %s; "
            "retrain it for its best accuracy: %s",
            name,
            version,
            PREPROCESSING_VERSION,
            train_command(name),
        )
    model = Model(name, card, interpreter)
    model.load_seconds = time.perf_counter() - started  # reported by GET /metrics
    return model


def model_folders(model_dir: Path) -> list[Path]:
    """Every sub-folder is a model, except hidden and private ones (.git, __pycache__)."""
    folders = (path for path in model_dir.iterdir() if path.is_dir())
    return sorted(path for path in folders if not path.name.startswith((".", "_")))


def load_registry(model_dir: Path, default_model: str) -> ModelRegistry:
    """Load every model in the store; ModelStoreError when the store cannot be served as is."""
    if not model_dir.is_dir():
        raise ModelStoreError(
            f"Model folder {model_dir} does not exist; train the default model: "
            f"{train_command(default_model)}"
        )
    if not (model_dir / default_model).is_dir():
        raise ModelStoreError(
            f"Default model folder {model_dir / default_model} does not exist; "
            f"train it: {train_command(default_model)}"
        )
    # Every file is checked before any interpreter opens (LiteRT prints a line when it does):
    # a bad store is refused with nothing but its one error line.
    cards = {folder: checked_card(folder) for folder in model_folders(model_dir)}
    models = {folder.name: load_model(folder, card) for folder, card in cards.items()}
    return ModelRegistry(models, default_model)
