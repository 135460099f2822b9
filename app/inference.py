"""The trained models the server answers with, checked against their cards and run with LiteRT.

Each model of the store holds ``model.tflite`` and ``card.json``. The server runs the .tflite file
with LiteRT rather than Keras: no TensorFlow import, about 75 MiB instead of 600, and well under a
millisecond per call. A model that does not match its card is refused at start-up rather than
trusted: a wrong file would otherwise answer confidently and wrongly.

Versions. A model name is a folder; it can hold several versions (fine-tuned ones):

    model_store/<name>/model.tflite, card.json        version 1 (the trained model, as always)
    model_store/<name>/versions/<n>/model.tflite ...  version n >= 2 (python -m training finetune)
    model_store/<name>/default_version                optional: the text "2" pins the default

The default version of a name is the one its ``default_version`` file names; without the file,
the highest version whose card says ``finetune.marked_default`` (the fine-tune command sets it
only when MNIST test did not drop by more than 0.2 points), else version 1. A request names
``"robust-cnn"`` (its default version) or ``"robust-cnn@2"`` (exactly that one).

Roots. Besides the committed store (settings.model_dir) the registry reads the models trained at
run time under ``settings.data_dir / "models"`` (same layout; created if missing). A broken model
in the committed store stops the server, as before; a broken one in the data folder is logged and
skipped, so a class's half-finished training never takes the page down.

Reload. ``ModelRegistry.reload`` builds a whole new catalogue (reusing the unchanged models), warms
the new ones and then swaps one reference: a request that already holds a Model finishes on it.
Code that writes a model calls ``request_reload(data_dir)``, which replaces the file
``data_dir/models.generation``; every worker process checks that file's identity twice a second
(``watch_for_reloads``) and reloads when it changed, so a reload reaches all ``--workers``.
A new model folder must appear whole: write it under a hidden name (``.tmp-...``), then rename it.
"""

import asyncio
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from app.errors import InputError
from app.preprocessing import PREPROCESSING_VERSION

logger = logging.getLogger(__name__)
T = TypeVar("T")

MODEL_FILE = "model.tflite"
CARD_FILE = "card.json"
VERSIONS_DIR = "versions"  # <name>/versions/<n>/ holds version n (n >= 2)
DEFAULT_VERSION_FILE = "default_version"  # <name>/default_version: the pinned default, e.g. "2"
FIRST_VERSION = 1  # the files at the top of <name>/
VERSION_SEPARATOR = "@"  # "robust-cnn@2"
CLASS_MODELS_DIR = "models"  # data_dir/models: models written while the server runs
GENERATION_FILE = "models.generation"  # data_dir/models.generation: replaced to ask for a reload
RELOAD_CHECK_SECONDS = 0.5  # how often each worker looks at the generation file (one stat call)
INPUT_SHAPE = [1, 28, 28]  # one image; the preprocessing output, scaled to 0..255
OUTPUT_SHAPE = [1, 10]  # softmax probabilities, index = digit
WARM_UP_CALLS = 3  # the first invokes allocate and plan; clients should not pay for them


class ModelStoreError(RuntimeError):
    """The model store cannot be served; the message is one line naming the file and the fix."""


class UnknownModel(InputError):
    """The request names a model the server does not have."""

    code = "unknown_model"
    status = 404


class ReloadFailed(InputError):
    """A reload found a committed model it cannot serve; the old models are still served."""

    code = "reload_failed"
    status = 409


def train_command(name: str) -> str:
    """The command that (re)creates a model folder, quoted in every start-up error."""
    return f"python -m training train --model {name} --data path/to/mnist.npz"


def fix_command(name: str, version: int) -> str:
    """How to remake one version: train version 1, fine-tune (or delete) a later one."""
    if version == FIRST_VERSION:
        return train_command(name)
    return (
        f"python -m training finetune --model {name} --corrections corrections.npz "
        f"--data path/to/mnist.npz (or delete {VERSIONS_DIR}/{version})"
    )


def card_value(card: dict[str, Any], *keys: str) -> Any:
    """A nested card field, or None when any level is missing: cards gain fields over time."""
    value: Any = card
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def model_ref(name: str, version: int) -> str:
    """The exact name of one version, as /predict takes it: "robust-cnn@2"."""
    return f"{name}{VERSION_SEPARATOR}{version}"


class Model:
    """One served model version: its card and a LiteRT interpreter, which is not thread-safe."""

    def __init__(
        self,
        name: str,
        card: dict[str, Any],
        interpreter: Interpreter,
        folder: Path | None = None,
        version: int = FIRST_VERSION,
    ) -> None:
        self.name = name
        self.card = card
        self.folder = folder
        self.version = version
        self._interpreter = interpreter
        self._input_index = interpreter.get_input_details()[0]["index"]
        self._output_index = interpreter.get_output_details()[0]["index"]
        self._lock = threading.Lock()
        self.stamp: tuple[Any, ...] | None = None  # the files' identity when loaded (reuse key)
        self.warm = False
        self.load_seconds: float | None = None

    @property
    def ref(self) -> str:
        return model_ref(self.name, self.version)

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
        self.warm = True


@dataclass(frozen=True)
class Catalogue:
    """One consistent view of every served model; a request resolves against one of these."""

    models: dict[str, dict[int, Model]]  # name -> version -> model
    defaults: dict[str, int]  # name -> its default version
    default_name: str  # the model of requests that name none


@dataclass(frozen=True)
class ModelRoot:
    """A folder of model folders; `strict` ones stop the server when a model is broken."""

    path: Path
    strict: bool


@dataclass
class ModelSources:
    """Where the registry loads from, kept so that a reload reads the same places."""

    roots: list[ModelRoot]
    default_model: str
    generation_file: Path | None = None


def parse_model_ref(ref: str) -> tuple[str, int | None]:
    """ "robust-cnn" -> ("robust-cnn", None); "robust-cnn@2" -> ("robust-cnn", 2)."""
    name, separator, version = ref.partition(VERSION_SEPARATOR)
    if not separator:
        return ref, None
    if not version.isdigit() or int(version) < FIRST_VERSION:
        raise UnknownModel(
            f"{ref!r} is not a model name: write a name from GET /models, optionally followed "
            f"by {VERSION_SEPARATOR} and a version number, e.g. {model_ref(name, 2)!r}."
        )
    return name, int(version)


class ModelRegistry:
    """The served models by name and version, the default one, and whether all are warm.

    Every lookup reads ``self._catalogue`` once; a reload replaces that one reference, so a
    request sees either the old catalogue or the new one, never a mix.
    """

    def __init__(self, catalogue: Catalogue, sources: ModelSources | None = None) -> None:
        self._catalogue = catalogue
        self.sources = sources
        self.ready = False
        self._reload_lock = threading.Lock()
        self._seen_generation = generation_stamp(self.generation_file)
        self.reloads = 0  # completed reloads in this process (logs and tests)

    @property
    def catalogue(self) -> Catalogue:
        return self._catalogue

    @property
    def default_name(self) -> str:
        return self._catalogue.default_name

    @property
    def names(self) -> list[str]:
        return sorted(self._catalogue.models)

    @property
    def generation_file(self) -> Path | None:
        return self.sources.generation_file if self.sources else None

    def __iter__(self) -> Iterator[Model]:
        """The default version of every name, in name order."""
        catalogue = self._catalogue
        return iter(
            [catalogue.models[name][catalogue.defaults[name]] for name in sorted(catalogue.models)]
        )

    def versions(self, name: str) -> list[Model]:
        """Every served version of `name`, oldest first."""
        versions = self._catalogue.models.get(name, {})
        return [versions[number] for number in sorted(versions)]

    def default_version(self, name: str) -> int:
        return self._catalogue.defaults[name]

    def get(self, name: str | None = None) -> Model:
        """The named model ("name" or "name@version"), or the default one; else UnknownModel."""
        catalogue = self._catalogue
        base, version = parse_model_ref(catalogue.default_name if name is None else name)
        versions = catalogue.models.get(base)
        if versions is None:
            raise UnknownModel(
                f"There is no model named {name!r}. Available models: "
                f"{', '.join(sorted(catalogue.models))}."
            )
        model = versions.get(catalogue.defaults[base] if version is None else version)
        if model is None:
            available = ", ".join(model_ref(base, number) for number in sorted(versions))
            raise UnknownModel(
                f"Model {base!r} has no version {version}. Available versions: {available}."
            )
        return model

    def warm_up(self) -> None:
        for versions in self._catalogue.models.values():
            for model in versions.values():
                model.warm_up()
        self.ready = True

    def generation_changed(self) -> bool:
        """Whether another process asked for a reload since this one last loaded (one stat)."""
        return generation_stamp(self.generation_file) != self._seen_generation

    def reload(self) -> Catalogue:
        """Load the store again and swap it in at once; ReloadFailed keeps the old models.

        The generation is read before loading: a request made while this one loads is seen by
        the next check and loads again, never lost.
        """
        if self.sources is None:
            raise ReloadFailed("This registry was built from fixed models; it cannot reload.")
        with self._reload_lock:
            stamp = generation_stamp(self.generation_file)
            started = time.perf_counter()
            try:
                catalogue = load_catalogue(self.sources, previous=self._catalogue)
            except ModelStoreError as error:
                self._seen_generation = stamp  # a broken store is not retried twice a second
                raise ReloadFailed(
                    f"The models were not reloaded: {error} The previous models are still served."
                ) from error
            for versions in catalogue.models.values():
                for model in versions.values():
                    if not model.warm:
                        model.warm_up()
            self._catalogue = catalogue  # the one atomic swap
            self._seen_generation = stamp
            self.reloads += 1
            logger.info(
                "Reloaded models in %.0f ms: %s",
                (time.perf_counter() - started) * 1000,
                ", ".join(
                    model_ref(name, number)
                    for name in sorted(catalogue.models)
                    for number in sorted(catalogue.models[name])
                ),
            )
            return catalogue


def class_models_dir(data_dir: Path) -> Path:
    """Where models written while the server runs live (trained in class, say)."""
    return data_dir / CLASS_MODELS_DIR


def generation_path(data_dir: Path) -> Path:
    return data_dir / GENERATION_FILE


def generation_stamp(path: Path | None) -> tuple[int, int, int] | None:
    """The generation file's identity (inode, mtime, size), or None if there is none yet."""
    if path is None:
        return None
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_ino, status.st_mtime_ns, status.st_size)


def request_reload(data_dir: Path) -> None:
    """Ask every worker process serving `data_dir` to reload its models (within ~0.5 s).

    Call it after a new model folder is in place. The file is replaced, not rewritten: a new
    inode tells the workers even when two requests fall in one mtime tick.
    """
    path = generation_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{GENERATION_FILE}.{os.getpid()}.{threading.get_ident()}")
    staging.write_text(f"{time.time_ns()} {os.getpid()}\n", encoding="utf-8")
    os.replace(staging, path)


async def watch_for_reloads(
    registry: ModelRegistry, interval: float = RELOAD_CHECK_SECONDS
) -> None:
    """Reload `registry` whenever the generation file changes; runs until cancelled."""
    while True:
        await asyncio.sleep(interval)
        if not registry.generation_changed():
            continue
        try:
            await asyncio.to_thread(registry.reload)
        except ReloadFailed as error:
            logger.error("%s", error.message)
        except Exception:  # the watcher must outlive any one bad reload
            logger.exception("Reloading the models failed; the previous models are still served")


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, streamed (the one digest of cards, training and the server)."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def read_card(path: Path, name: str, version: int = FIRST_VERSION) -> dict[str, Any]:
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelStoreError(
            f"{path} is not a readable JSON model card ({error}); "
            f"retrain the model: {fix_command(name, version)}"
        ) from error
    if not isinstance(card, dict):
        raise ModelStoreError(
            f"{path} is not a JSON object; retrain the model: {fix_command(name, version)}"
        )
    return card


def check_checksum(
    model_path: Path,
    card: dict[str, Any],
    card_path: Path,
    name: str | None = None,
    version: int = FIRST_VERSION,
) -> None:
    """The card vouches for one exact file; anything else may be a partial copy or another model."""
    fix = fix_command(name or model_path.parent.name, version)
    expected = card_value(card, "files", MODEL_FILE, "sha256")
    if not isinstance(expected, str):
        raise ModelStoreError(
            f"{card_path} lacks files.{MODEL_FILE}.sha256; retrain the model: {fix}"
        )
    if file_sha256(model_path) != expected:
        raise ModelStoreError(
            f"{model_path} does not match the sha256 in {card_path} (corrupt or replaced file); "
            f"retrain the model: {fix}"
        )


def open_interpreter(
    model_path: Path, name: str | None = None, version: int = FIRST_VERSION
) -> Interpreter:
    try:
        # One thread per interpreter: a call takes well under a millisecond, so parallelism
        # comes from concurrent requests and worker processes, not from splitting one call.
        interpreter = Interpreter(model_path=str(model_path), num_threads=1)
        interpreter.allocate_tensors()
    except (RuntimeError, ValueError) as error:
        raise ModelStoreError(
            f"{model_path} is not a valid TFLite model ({error}); "
            f"retrain the model: {fix_command(name or model_path.parent.name, version)}"
        ) from error
    return interpreter


def helper_network_in(
    model_dir: Path, folder_name: str, open_folder: Callable[[Path], T], missing: str
) -> T | None:
    """A helper network of the store opened by `open_folder`; None, and the warning `missing`
    (given the store's path), when the store has none: the server then does without."""
    folder = Path(model_dir) / folder_name
    if not (folder / MODEL_FILE).is_file():
        logger.warning(missing, model_dir)
        return None
    return open_folder(folder)


def open_helper_network(folder: Path) -> tuple[dict[str, Any], Interpreter, Path]:
    """A helper network's card and interpreter (the digit detector, the digit splitter), its
    file checked against its card like every model's; and the file's path, for messages."""
    model_path, card_path = folder / MODEL_FILE, folder / CARD_FILE
    card = read_card(card_path, folder.name)
    check_checksum(model_path, card, card_path)
    return card, open_interpreter(model_path), model_path


def check_signature(
    interpreter: Interpreter,
    card: dict[str, Any],
    model_path: Path,
    name: str | None = None,
    version: int = FIRST_VERSION,
) -> None:
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
            f"retrain the model: {fix_command(name or model_path.parent.name, version)}"
        )


def files_stamp(folder: Path) -> tuple[Any, ...]:
    """The identity of a version's two files: unchanged files need no second load on reload."""
    stamp: list[Any] = [str(folder)]
    for name in (MODEL_FILE, CARD_FILE):
        status = os.stat(folder / name)
        stamp += [status.st_ino, status.st_mtime_ns, status.st_size]
    return tuple(stamp)


def checked_card(folder: Path, name: str, version: int = FIRST_VERSION) -> dict[str, Any]:
    """The card of a version folder whose files are there and match it (no interpreter opened)."""
    model_path, card_path = folder / MODEL_FILE, folder / CARD_FILE
    for path in (model_path, card_path):
        if not path.is_file():
            raise ModelStoreError(
                f"{path} is missing; train the model: {fix_command(name, version)}"
            )
    card = read_card(card_path, name, version)
    check_checksum(model_path, card, card_path, name, version)
    return card


def check_strict_roots(sources: "ModelSources") -> None:
    """Every committed model's files, checked before any interpreter opens: LiteRT prints a line
    when it opens one, and a bad store must be refused with nothing but its own error line."""
    for root in sources.roots:
        if not root.strict:
            continue
        for folder in root_folders(root):
            for number, version_folder in version_folders(folder).items():
                checked_card(version_folder, folder.name, number)


def load_model(folder: Path, name: str | None = None, version: int = FIRST_VERSION) -> Model:
    """Open one model folder (a version's folder) after checking its file against its card."""
    started = time.perf_counter()
    name = name or folder.name
    model_path = folder / MODEL_FILE
    card = checked_card(folder, name, version)
    stamp = files_stamp(folder)
    interpreter = open_interpreter(model_path, name, version)
    check_signature(interpreter, card, model_path, name, version)
    preprocessing_version = card.get("preprocessing_version")
    if preprocessing_version != PREPROCESSING_VERSION:
        # Still served: the answers are usable, only less accurate than the card says.
        logger.warning(
            "%s was trained for preprocessing version %s but the server runs version %s; "
            "retrain it for its best accuracy: %s",
            name,
            preprocessing_version,
            PREPROCESSING_VERSION,
            fix_command(name, version),
        )
    model = Model(name, card, interpreter, folder=folder, version=version)
    model.stamp = stamp
    model.load_seconds = time.perf_counter() - started  # reported by GET /metrics
    return model


def model_folders(model_dir: Path) -> list[Path]:
    """Every sub-folder is a model, except hidden and private ones (.git, __pycache__)."""
    folders = (path for path in model_dir.iterdir() if path.is_dir())
    return sorted(path for path in folders if not path.name.startswith((".", "_")))


def version_folders(folder: Path) -> dict[int, Path]:
    """Version number -> folder for one model name; version 1 is the folder itself.

    A folder with neither top-level files nor versions still counts as version 1, so that
    loading it says which file is missing.
    """
    found: dict[int, Path] = {}
    versions_dir = folder / VERSIONS_DIR
    if versions_dir.is_dir():
        for child in sorted(versions_dir.iterdir()):
            if not child.is_dir() or child.name.startswith((".", "_")):
                continue  # a version being written (.tmp-...) is not one yet
            if not child.name.isdigit() or int(child.name) <= FIRST_VERSION:
                logger.warning(
                    "%s is not a version folder (versions are numbered from %d); ignored",
                    child,
                    FIRST_VERSION + 1,
                )
                continue
            found[int(child.name)] = child
    if (folder / MODEL_FILE).exists() or (folder / CARD_FILE).exists() or not found:
        found[FIRST_VERSION] = folder
    return dict(sorted(found.items()))


def pinned_version(folder: Path) -> int | None:
    """The version number in <name>/default_version, if the file exists and holds one."""
    path = folder / DEFAULT_VERSION_FILE
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as error:
        logger.warning("Cannot read %s (%s); choosing the default version without it", path, error)
        return None
    if not text.isdigit():
        logger.warning("%s should hold a version number, not %r; ignored", path, text)
        return None
    return int(text)


def choose_default(cards: dict[int, dict[str, Any]], pinned: int | None, name: str) -> int:
    """The pinned version, else the highest version marked default by fine-tuning, else 1."""
    if pinned is not None:
        if pinned in cards:
            return pinned
        logger.warning("%s: default_version names version %s, which is not served", name, pinned)
    marked = [
        number
        for number, card in cards.items()
        if card_value(card, "finetune", "marked_default") is True
    ]
    if marked:
        return max(marked)
    return FIRST_VERSION if FIRST_VERSION in cards else min(cards)


def stored_default_version(folder: Path) -> int:
    """The default version of one model folder, read from its files alone (no interpreter):
    what the server would serve for the name, so a fine-tune starts from it."""
    cards = {}
    for number, version_folder in version_folders(folder).items():
        try:
            cards[number] = json.loads((version_folder / CARD_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
    if not cards:
        raise ModelStoreError(f"{folder} holds no readable model card")
    return choose_default(cards, pinned_version(folder), folder.name)


def load_catalogue(sources: ModelSources, previous: Catalogue | None = None) -> Catalogue:
    """Every model version of every root; ModelStoreError when a strict root cannot be served.

    Models whose files are unchanged since `previous` are reused as they are (no second
    checksum, interpreter or warm-up).
    """
    if previous is None:
        check_strict_roots(sources)
    reusable = {
        model.stamp: model
        for versions in (previous.models.values() if previous else ())
        for model in versions.values()
        if model.stamp is not None
    }
    models: dict[str, dict[int, Model]] = {}
    pins: dict[str, int | None] = {}
    for root in sources.roots:
        for folder in root_folders(root):
            name = folder.name
            if VERSION_SEPARATOR in name:
                message = f"{folder}: a model name cannot contain {VERSION_SEPARATOR!r}"
                if root.strict:
                    raise ModelStoreError(f"{message}; rename the folder.")
                logger.warning("%s; skipped", message)
                continue
            versions = models.setdefault(name, {})
            if pins.get(name) is None:
                pins[name] = pinned_version(folder)
            for number, version_folder in version_folders(folder).items():
                if number in versions:
                    logger.warning(
                        "%s is version %d of %s, already served from %s; skipped",
                        version_folder,
                        number,
                        name,
                        versions[number].folder,
                    )
                    continue
                try:
                    model = reused(reusable, version_folder) or load_model(
                        version_folder, name, number
                    )
                except (ModelStoreError, OSError) as error:
                    if root.strict:
                        if isinstance(error, ModelStoreError):
                            raise
                        raise ModelStoreError(f"Cannot read {version_folder}: {error}") from error
                    logger.warning("Skipped a model that cannot be served: %s", error)
                    continue
                versions[number] = model
            if not versions:
                del models[name]
    if sources.default_model not in models:
        root = sources.roots[0].path
        raise ModelStoreError(
            f"Default model folder {root / sources.default_model} does not exist; "
            f"train it: {train_command(sources.default_model)}"
        )
    defaults = {
        name: choose_default(
            {number: model.card for number, model in versions.items()}, pins.get(name), name
        )
        for name, versions in models.items()
    }
    return Catalogue(models, defaults, sources.default_model)


def reused(reusable: dict[Any, Model], folder: Path) -> Model | None:
    try:
        return reusable.get(files_stamp(folder))
    except OSError:
        return None


def root_folders(root: ModelRoot) -> list[Path]:
    """The model folders of one root; a lenient root that is missing is created (or skipped)."""
    if not root.path.is_dir():
        if root.strict:
            raise ModelStoreError(f"Model folder {root.path} does not exist")
        try:
            root.path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            logger.warning("Cannot create the model folder %s (%s); skipped", root.path, error)
        return []
    return model_folders(root.path)


def load_registry(
    model_dir: Path,
    default_model: str,
    extra_dirs: Sequence[Path] = (),
    generation_file: Path | None = None,
) -> ModelRegistry:
    """Load every model in the store (and the lenient `extra_dirs`); ModelStoreError when the
    committed store cannot be served as is."""
    if not model_dir.is_dir():
        raise ModelStoreError(
            f"Model folder {model_dir} does not exist; train the default model: "
            f"{train_command(default_model)}"
        )
    if not (model_dir / default_model).is_dir() and not any(
        (extra / default_model).is_dir() for extra in extra_dirs
    ):
        raise ModelStoreError(
            f"Default model folder {model_dir / default_model} does not exist; "
            f"train it: {train_command(default_model)}"
        )
    roots = [ModelRoot(model_dir, strict=True)]
    roots += [ModelRoot(extra, strict=False) for extra in extra_dirs]
    sources = ModelSources(roots, default_model, generation_file)
    return ModelRegistry(load_catalogue(sources), sources)


def registry_for(model_dir: Path, default_model: str, data_dir: Path) -> ModelRegistry:
    """The server's registry: the committed store, the data folder's models, its generation."""
    return load_registry(
        model_dir,
        default_model,
        extra_dirs=(class_models_dir(data_dir),),
        generation_file=generation_path(data_dir),
    )
