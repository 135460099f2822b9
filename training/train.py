"""Train a named model on MNIST and store it, with its TFLite twin and card, in model_store/.

    python -m training train --model robust-cnn --data path/to/mnist.npz --seed 42

Sections, in order: data (MNIST, optional pendigits writers) → model (built inside the
distribution strategy's scope) → fit with a validation slice held out from the training digits
→ evaluate once on MNIST test (never used for any choice) → save model.keras, model.tflite
(checked against Keras), card.json, curves.png and confusion.png.

Expected MNIST test accuracy: mlp512 ≈ 98%, mlp128-64 ≈ 97.5%, cnn-tutorial ≈ 99%,
robust-cnn ≥ 99.5%. Quick mode for smoke tests: --limit 2000 --epochs 1.
"""

import logging
import math
import shlex
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from training.architectures import DEFAULT_MODEL, Recipe, get_recipe
from training.augment import describe, training_dataset
from training.canvas import RANDOM_STYLES, canvas_png, image_path_inputs, random_style
from training.card import (
    CONFUSION_FILE,
    CURVES_FILE,
    build_card,
    file_entry,
    plot_confusion,
    plot_curves,
    write_card,
)
from training.data import Mnist, file_sha256, load_mnist, resolve_data_path
from training.evaluate import PREDICT_BATCH_SIZE, mnist_test_scores
from training.export import export_tflite
from training.pendigits import (
    HELDOUT_WRITERS,
    TRAINING_WRITERS,
    PenDigit,
    read_pendigits,
    render_strokes,
    writer_split,
)
from training.report import write_mistakes
from training.scans import scan_training_data

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STORE = REPO_ROOT / "model_store"
DEFAULT_SEED = 42
STRATEGIES = ("none", "mirrored", "multiworker")
NUM_CLASSES = 10

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainOptions:
    """Everything a training run can be told; None means the recipe's own value."""

    model: str = DEFAULT_MODEL
    data: Path | None = None
    out: Path = DEFAULT_STORE
    seed: int = DEFAULT_SEED
    epochs: int | None = None
    batch_size: int | None = None
    limit: int | None = None
    strategy: str = "none"
    pendigits: Path | None = None
    threads: int | None = None
    command: str = ""


@dataclass(frozen=True)
class TrainResult:
    """One line of the summary table."""

    name: str
    folder: Path
    params: int
    epochs: int
    seconds: float
    accuracy: float
    loss: float


def configure_runtime(threads: int | None, deterministic: bool) -> None:
    """Thread pools and deterministic kernels; must run before TensorFlow executes anything."""
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


class KerasMultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """MultiWorkerMirroredStrategy with the reduce that Keras 3's fit expects of it.

    Keras 3 (keras-team/keras#20585, open) breaks fit under this strategy twice: it starts by
    reducing one whole distributed (x, y) batch to learn its shapes, where this strategy's
    reduce takes one tensor ("Attempt to convert a value (PerReplica...)"); then every step
    reduces its scalar loss and metrics along axis 0, which a scalar lacks ("Invalid reduction
    dimension 0"). Here a structure is reduced tensor by tensor, and a scalar across the
    replicas alone: what those calls mean. Every worker makes them, so the collectives match.
    """

    def reduce(self, reduce_op: Any, value: Any, axis: Any) -> Any:
        parent = super()

        def reduce_one(part: Any) -> Any:
            local = self.experimental_local_results(part)[0]
            scalar = axis is not None and local.shape.rank == 0
            return parent.reduce(reduce_op, part, None if scalar else axis)

        return tf.nest.map_structure(reduce_one, value)


def make_strategy(name: str) -> tf.distribute.Strategy:
    """TensorFlow's own engine for more devices or machines (multiworker reads TF_CONFIG)."""
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return KerasMultiWorkerStrategy()
    if name == "none":
        return tf.distribute.get_strategy()
    raise ValueError(f"Unknown strategy {name!r}. Choose one of: {', '.join(STRATEGIES)}.")


def split_validation(
    images: np.ndarray, labels: np.ndarray, fraction: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out the last `fraction` of the digits, as Keras's validation_split does."""
    held_out = max(1, round(len(images) * fraction))
    cut = len(images) - held_out
    return images[:cut], labels[:cut], images[cut:], labels[cut:]


def pendigits_training_data(path: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """Digits of pendigits' training writers, rendered like drawings, and the card's note."""
    train_writers, heldout_writers = writer_split(read_pendigits(path))
    images, labels = render_strokes(train_writers)
    note = (
        f"UCI pendigits {path.name} (sha256 {file_sha256(path)}): training writers "
        f"{TRAINING_WRITERS} only ({len(train_writers)} digits, by the writer id of each "
        ".COMMENT line, training.pendigits.writer_split), "
        "rendered through the server's strokes path (app.preprocessing.strokes_to_mnist); the "
        f"other {len(heldout_writers)} digits (writers {HELDOUT_WRITERS}) are kept for "
        "real-drawing evaluation"
    )
    return images, labels.astype(np.int64), note


def pendigits_canvas_data(
    pen_digits: Sequence[PenDigit], copies: int, seed: int
) -> tuple[np.ndarray, np.ndarray, str]:
    """Each pen digit drawn `copies` times on a random browser-like canvas (pad, brush, size,
    colours: training.canvas) and read through the server's image path, with the card's note."""
    pngs = [
        canvas_png(digit.strokes, random_style(np.random.default_rng([seed, 19, copy, index])))
        for copy in range(copies)
        for index, digit in enumerate(pen_digits)
    ]
    labels = np.array([digit.label for digit in pen_digits] * copies, dtype=np.int64)
    note = (
        f"{copies}x more drawn on random browser-like canvases (training.canvas: "
        f"{RANDOM_STYLES}) and read through the server's image path"
    )
    return image_path_inputs(pngs), labels, note


def _optimizer_text(recipe: Recipe) -> str:
    if recipe.label_smoothing:
        return f"{recipe.optimizer}; cross-entropy with label smoothing {recipe.label_smoothing:g}"
    return recipe.optimizer


def _compile(
    recipe: Recipe, steps_per_epoch: int, epochs: int, strategy: tf.distribute.Strategy
) -> keras.Model:
    with strategy.scope():
        model = recipe.build()
        if recipe.label_smoothing:
            loss = keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing)
        else:
            loss = keras.losses.SparseCategoricalCrossentropy()
        model.compile(
            optimizer=recipe.make_optimizer(steps_per_epoch, epochs),
            loss=loss,
            metrics=["accuracy"],
        )
    return model


@dataclass(frozen=True)
class Splits:
    """Training and validation digits, plus the card's note on any extra training data."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    extra_data: str | None


def make_splits(
    recipe: Recipe, mnist: Mnist, limit: int | None, pendigits: Path | None, seed: int = 0
) -> Splits:
    """First `limit` training digits, the recipe's validation slice held out, pendigits added."""
    images, labels = mnist.x_train[:limit], mnist.y_train[:limit]
    x_train, y_train, x_val, y_val = split_validation(images, labels, recipe.validation_split)
    extra_data = None
    pen_digits: list = []
    x_scan_source, y_scan_source = x_train, y_train  # MNIST digits only, before any extras
    if pendigits:
        extra_images, extra_labels, extra_data = pendigits_training_data(pendigits)
        repeat = recipe.pendigits_repeat
        x_train = np.concatenate([x_train, *[extra_images] * repeat])
        y_train = np.concatenate([y_train, *[extra_labels] * repeat])
        extra_data += f"; each seen {repeat}x per epoch"
        pen_digits = writer_split(read_pendigits(pendigits))[0]
        if recipe.pendigits_canvases:
            canvas_images, canvas_labels, canvas_note = pendigits_canvas_data(
                pen_digits, recipe.pendigits_canvases, seed
            )
            x_train = np.concatenate([x_train, canvas_images])
            y_train = np.concatenate([y_train, canvas_labels])
            extra_data += f", and {canvas_note}"
    if recipe.scan_share:
        scan_images, scan_labels, scan_note = scan_training_data(
            x_scan_source, y_scan_source, pen_digits, recipe.scan_share, seed
        )
        x_train = np.concatenate([x_train, scan_images])
        y_train = np.concatenate([y_train, scan_labels])
        extra_data = scan_note if extra_data is None else f"{extra_data}; {scan_note}"
    if recipe.label_smoothing:  # Keras smooths only one-hot labels
        y_train = keras.utils.to_categorical(y_train, NUM_CLASSES)
        y_val = keras.utils.to_categorical(y_val, NUM_CLASSES)
    return Splits(x_train, y_train, x_val, y_val, extra_data)


def make_datasets(
    recipe: Recipe, splits: Splits, batch_size: int, seed: int, threads: int | None
) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """Shuffled (augmented, for robust-cnn) training batches and plain validation batches."""
    # In-memory arrays have no files to split between workers: shard by element instead.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train_data = training_dataset(
        splits.x_train, splits.y_train, batch_size, seed, recipe.augmentation, threads
    )
    validation_data = tf.data.Dataset.from_tensor_slices(
        (splits.x_val.astype(np.float32), splits.y_val)
    ).batch(PREDICT_BATCH_SIZE)
    return train_data.with_options(options), validation_data.with_options(options)


@dataclass(frozen=True)
class Run:
    """What fitting produced."""

    model: keras.Model
    history: dict[str, list[float]]
    epochs: int
    batch_size: int
    seconds: float


def fit(
    recipe: Recipe,
    splits: Splits,
    options: TrainOptions,
    strategy: tf.distribute.Strategy,
) -> Run:
    """Build and compile inside the strategy's scope, then fit with per-epoch progress."""
    epochs = options.epochs or recipe.epochs
    batch_size = options.batch_size or recipe.batch_size
    train_data, validation_data = make_datasets(
        recipe, splits, batch_size, options.seed, options.threads
    )
    steps_per_epoch = math.ceil(len(splits.x_train) / batch_size)
    model = _compile(recipe, steps_per_epoch, epochs, strategy)
    log.info(
        "%s: %s parameters; %d training and %d validation digits; %d epoch(s) of %d steps of "
        "%d; strategy %s with %d replica(s)",
        recipe.name,
        f"{model.count_params():,}",
        len(splits.x_train),
        len(splits.x_val),
        epochs,
        steps_per_epoch,
        batch_size,
        options.strategy,
        strategy.num_replicas_in_sync,
    )
    started = time.perf_counter()
    history = model.fit(
        train_data, epochs=epochs, validation_data=validation_data, shuffle=False, verbose=2
    )
    seconds = time.perf_counter() - started
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        model = local_copy(recipe, model, steps_per_epoch, epochs)
    return Run(model, history.history, epochs, batch_size, seconds)


def local_copy(
    recipe: Recipe, trained: keras.Model, steps_per_epoch: int, epochs: int
) -> keras.Model:
    """The trained weights in a model of this process alone, for testing and saving.

    A model built under the multi-worker strategy shards whatever it is given across the
    workers: its predict would score only this worker's share of MNIST test, and its saving and
    TFLite conversion run collectives. Every worker holds the same weights after fit.
    """
    model = _compile(recipe, steps_per_epoch, epochs, tf.distribute.get_strategy())
    model.set_weights(trained.get_weights())
    return model


def equivalent_command(options: TrainOptions) -> str:
    """The command line of a run started from Python; files by name, as the CLI records them."""
    parts = ["python -m training train", f"--model {options.model}", f"--seed {options.seed}"]
    for flag, value in (
        ("--data", options.data and Path(options.data).name),
        ("--out", Path(options.out).name),
        ("--epochs", options.epochs),
        ("--batch-size", options.batch_size),
        ("--limit", options.limit),
        ("--pendigits", options.pendigits and Path(options.pendigits).name),
        ("--threads", options.threads),
    ):
        if value is not None:
            parts.append(f"{flag} {shlex.quote(str(value))}")
    if options.strategy != "none":
        parts.append(f"--strategy {options.strategy}")
    return " ".join(parts)


def training_record(
    options: TrainOptions, recipe: Recipe, mnist: Mnist, splits: Splits, run: Run
) -> dict[str, Any]:
    """The card's training block."""
    return {
        "data_file": mnist.path.name,
        "data_sha256": mnist.sha256,
        "epochs": run.epochs,
        "batch_size": run.batch_size,
        "optimizer": _optimizer_text(recipe),
        "learning_rate_schedule": recipe.learning_rate_schedule,
        "augmentation": describe(recipe.augmentation) if recipe.augmentation else None,
        "extra_data": splits.extra_data,
        "validation_split": recipe.validation_split,
        "seed": options.seed,
        "seconds": round(run.seconds, 1),
        "strategy": None if options.strategy == "none" else options.strategy,
        "command": options.command or equivalent_command(options),
    }


def store(folder: Path, run: Run, mnist: Mnist, probabilities: np.ndarray, card: dict) -> None:
    """Write model, verified TFLite twin, card and pictures to a fresh folder, then swap it in.

    Readers (the server) never see half a model: the old folder is replaced only at the end.
    """
    partial = folder.parent / f".{folder.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    run.model.save(partial / "model.keras")
    agreement = export_tflite(
        run.model, partial / "model.tflite", mnist.x_test.astype(np.float32), probabilities
    )
    card["files"] = {
        "model.keras": file_entry(partial / "model.keras"),
        "model.tflite": {
            **file_entry(partial / "model.tflite"),
            "top1_agreement": agreement.top1_agreement,
            "max_abs_diff": agreement.max_abs_diff,
        },
    }
    write_card(card, partial)
    scores = card["evaluation"]["mnist_test"]
    plot_curves(run.history, partial / CURVES_FILE, f"{folder.name} training")
    plot_confusion(
        scores["confusion_matrix"],
        partial / CONFUSION_FILE,
        f"{folder.name} on MNIST test: {scores['accuracy']:.2%}",
    )
    write_mistakes(partial, mnist.x_test, mnist.y_test, probabilities)  # the report's gallery
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)


def train_model(
    options: TrainOptions,
    mnist: Mnist | None = None,
    strategy: tf.distribute.Strategy | None = None,
) -> TrainResult:
    """Train, evaluate and store one model; `mnist` and `strategy` may be shared between runs."""
    recipe = get_recipe(options.model)
    strategy = strategy or make_strategy(options.strategy)
    keras.utils.set_random_seed(options.seed)
    mnist = mnist or load_mnist(resolve_data_path(options.data))
    splits = make_splits(recipe, mnist, options.limit, options.pendigits, options.seed)
    run = fit(recipe, splits, options, strategy)

    # The test set is used once, here, after every training choice has been made.
    probabilities = run.model.predict(mnist.x_test, batch_size=PREDICT_BATCH_SIZE, verbose=0)
    scores = mnist_test_scores(probabilities, mnist.y_test)
    folder = options.out / recipe.name
    if getattr(strategy.extended, "should_checkpoint", True):  # multi-worker: the chief only
        card = build_card(
            name=recipe.name,
            description=recipe.description,
            architecture=recipe.architecture,
            model=run.model,
            training=training_record(options, recipe, mnist, splits, run),
            mnist_test=scores,
            history=run.history,
            files={},
        )
        store(folder, run, mnist, probabilities, card)
    return TrainResult(
        recipe.name,
        folder,
        int(run.model.count_params()),
        run.epochs,
        run.seconds,
        scores["accuracy"],
        scores["loss"],
    )


def format_summary(results: list[TrainResult]) -> str:
    """The table printed after training: one row per model."""
    header = f"{'model':<14}{'params':>10}{'epochs':>8}{'seconds':>10}{'accuracy':>10}{'loss':>8}"
    rows = [
        f"{r.name:<14}{r.params:>10,}{r.epochs:>8}{r.seconds:>10.1f}{r.accuracy:>10.2%}"
        f"{r.loss:>8.4f}"
        for r in results
    ]
    return "\n".join([header, *rows])
