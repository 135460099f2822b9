"""Train a tutorial model in front of a class, reporting every step as JSON lines on stdout.

    python -m training live --model mlp512 --optimizer sgd --learning-rate 0.1 --epochs 1 \\
        --batch-size 64 --train-size 2000 --data mnist.npz --out data/models --drawing pad.json

The server (app/jobs/training.py) runs this as a subprocess and relays each line to the teacher's
page over Server-Sent Events; the server itself never imports TensorFlow. One JSON object a line,
keyed by "event":

- started: the settings, parameter count, steps per epoch;
- weights: the first layer's weights as small uint8 images (base64), zero at 128, one scale per
  image; from the random start, then every few batches; and "change", the same for what
  training has added to the random start (where strokes show long before they do in the sum);
- prediction: the current model's answer on the pad's drawing (read from --drawing whenever the
  file changes), from "before training" (about chance) to the end;
- progress: batch, epoch, running loss and accuracy of the epoch so far;
- epoch: training and validation loss and accuracy at the end of each epoch;
- stage: "testing" and "saving", the two slow steps after the last batch;
- done: the stored model's name, its MNIST test accuracy, seconds; or failed: the reason.

Validation is always the last 5,000 of MNIST's 60,000 training digits (as for robust-cnn), so
runs on 500 or 55,000 digits are compared on the same digits; the test set is used once, at the
end. The model is stored like any other (model.keras, model.tflite checked against Keras, card)
under --out/<name>, by training.train.store. CPU use is bounded: one TensorFlow thread and a
lower scheduling priority (--nice), so the server's live predictions keep their core.

Expected on this laptop (2 cores, one used): mlp512 on 2,000 digits for 1 epoch with SGD 0.1
reaches about 67% on MNIST test in about a second of training (plus ~5 s to start TensorFlow
and ~2 s to test and store); 3 epochs of 5,000 digits reach about 90%.
"""

import argparse
import base64
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

TUTORIAL_MODELS = ("mlp512", "mlp128-64", "cnn-tutorial")
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
MOMENTUM = 0.9  # "SGD with momentum" as the tutorials teach it
VALIDATION_DIGITS = 5_000  # the last 5,000 training digits; never trained on
MAX_TRAIN_SIZE = 60_000 - VALIDATION_DIGITS
MIN_TRAIN_SIZE = 100
MAX_EPOCHS = 50
MAX_BATCH_SIZE = 4096
MAX_HIDDEN_UNITS = 2048
WEIGHT_IMAGES = 32  # units (or filters) shown: a 8x4 grid reads well on a projector
PROGRESS_POINTS = 300  # progress lines per run at most: a smooth curve, a light stream
WEIGHT_SNAPSHOTS = 60  # weights and prediction lines per run at most (each ~30 KB)
MIN_SNAPSHOT_SECONDS = 0.1  # and never more often than this, for a fast model
DEFAULT_NICE = 10
EVALUATE_BATCH_SIZE = 1000


@dataclass(frozen=True)
class LiveSettings:
    """One class run; the defaults are the classroom-friendly ones the API also uses."""

    model: str = "mlp512"
    optimizer: str = "sgd"
    learning_rate: float = 0.1
    epochs: int = 1
    batch_size: int = 64
    train_size: int = 2000
    hidden_units: int | None = None  # mlp512's hidden layer, cnn-tutorial's dense layer
    seed: int = 42


def check_settings(settings: LiveSettings) -> None:
    """ValueError naming the first setting out of range (the server checks the same ranges)."""
    if settings.model not in TUTORIAL_MODELS:
        raise ValueError(f"model must be one of {', '.join(TUTORIAL_MODELS)}")
    if settings.optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}")
    if not 0 < settings.learning_rate <= 10:
        raise ValueError("learning_rate must be above 0 and at most 10")
    if not 1 <= settings.epochs <= MAX_EPOCHS:
        raise ValueError(f"epochs must be 1 to {MAX_EPOCHS}")
    if not 1 <= settings.batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be 1 to {MAX_BATCH_SIZE}")
    if not MIN_TRAIN_SIZE <= settings.train_size <= MAX_TRAIN_SIZE:
        raise ValueError(f"train_size must be {MIN_TRAIN_SIZE} to {MAX_TRAIN_SIZE}")
    if settings.hidden_units is not None:
        if settings.model == "mlp128-64":
            raise ValueError("hidden_units applies to mlp512 and cnn-tutorial only")
        if not 1 <= settings.hidden_units <= MAX_HIDDEN_UNITS:
            raise ValueError(f"hidden_units must be 1 to {MAX_HIDDEN_UNITS}")


def architecture_name(settings: LiveSettings) -> str:
    """mlp512 with 256 units is an mlp256: the name says what was trained."""
    if settings.model == "mlp512" and settings.hidden_units:
        return f"mlp{settings.hidden_units}"
    if settings.model == "cnn-tutorial" and settings.hidden_units:
        return f"cnn-tutorial{settings.hidden_units}"
    return settings.model


def model_name(settings: LiveSettings) -> str:
    """class-<architecture>-<optimizer>-<learning rate>, e.g. class-mlp512-sgd-0.1."""
    return f"class-{architecture_name(settings)}-{settings.optimizer}-{settings.learning_rate:g}"


def free_name(out: Path, name: str) -> str:
    """`name`, or name-2, name-3, ... when a class model of that name is already stored."""
    candidate, number = name, 1
    while (out / candidate).exists():
        number += 1
        candidate = f"{name}-{number}"
    return candidate


class Reporter:
    """Writes one JSON object per line to the stream the server reads, flushed at once."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def __call__(self, event: str, **fields: Any) -> None:
        self.stream.write(json.dumps({"event": event, **fields}, separators=(",", ":")) + "\n")
        self.stream.flush()


def claim_stdout() -> IO[str]:
    """The real stdout for JSON lines; anything else printing to fd 1 goes to stderr instead.

    TensorFlow and its converter print to stdout from C++ and Python; one stray line would be a
    broken event for the server.
    """
    events = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return events


def quantise_weights(kernel: Any, count: int = WEIGHT_IMAGES) -> tuple[int, int, bytes]:
    """(images, side, bytes): the first `count` units' incoming weights as side x side uint8.

    A Dense kernel (784, units) gives 28x28 images, a Conv2D kernel (3, 3, 1, filters) 3x3 ones.
    Each image has its own symmetric scale, zero at 128, so a diverging colour map shows sign and
    shape (as the seeds' figure does) even while the weights are still small.
    """
    import numpy as np

    weights = np.asarray(kernel, dtype=np.float32)
    if weights.ndim == 4:  # (height, width, channels in, filters): the first channel only
        side = weights.shape[0]
        images = np.moveaxis(weights[:, :, 0, :count], -1, 0)
    else:
        side = math.isqrt(weights.shape[0])
        images = weights[:, :count].T.reshape(-1, side, side)
    scale = np.abs(images).max(axis=(1, 2), keepdims=True)
    scaled = images / np.maximum(scale, 1e-12)
    quantised = np.clip(np.round(scaled * 127.5 + 127.5), 0, 255).astype(np.uint8)
    return len(images), side, quantised.tobytes()


class Drawing:
    """The pad's latest 28x28 drawing (0..255, white on black), re-read when its file changes."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.stamp: float | None = None
        self.pixels: Any = None

    def current(self) -> Any:
        """The newest pixels (float32, (1, 28, 28)) or None when nothing has been drawn."""
        import numpy as np

        if self.path is None:
            return None
        try:
            stamp = self.path.stat().st_mtime_ns
            if stamp != self.stamp:
                values = json.loads(self.path.read_text(encoding="utf-8"))["pixels"]
                self.pixels = np.asarray(values, dtype=np.float32).reshape(1, 28, 28)
                self.stamp = stamp
        except (OSError, ValueError, KeyError, TypeError):
            return self.pixels  # absent or half-written: keep the last good drawing
        return self.pixels


def build_model(settings: LiveSettings) -> Any:
    """The tutorial architecture from training.architectures, with its hidden width if given."""
    from training.architectures import build_cnn_tutorial, build_mlp128_64, build_mlp512

    units = settings.hidden_units
    if settings.model == "mlp512":
        return build_mlp512(units) if units else build_mlp512()
    if settings.model == "cnn-tutorial":
        return build_cnn_tutorial(units) if units else build_cnn_tutorial()
    return build_mlp128_64()


def make_optimizer(settings: LiveSettings) -> Any:
    import keras

    rate = settings.learning_rate
    if settings.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=rate)
    if settings.optimizer == "momentum":
        return keras.optimizers.SGD(learning_rate=rate, momentum=MOMENTUM)
    if settings.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=rate)
    return keras.optimizers.Adam(learning_rate=rate)


def optimizer_text(settings: LiveSettings) -> str:
    """The card's optimizer line, e.g. 'sgd with momentum 0.9 (learning rate 0.05)'."""
    name = f"sgd with momentum {MOMENTUM:g}" if settings.optimizer == "momentum" else None
    return f"{name or settings.optimizer} (learning rate {settings.learning_rate:g})"


def first_layer(model: Any) -> Any:
    """The first layer with a kernel: the one whose weights look at the pixels."""
    for layer in model.layers:
        if hasattr(layer, "kernel"):
            return layer
    raise ValueError(f"{model.name} has no layer with weights")


def make_callback(
    report: Reporter,
    drawing: Drawing,
    steps_per_epoch: int,
    total_steps: int,
    still_wanted: Callable[[], bool],
) -> Any:
    """The Keras callback that turns training into progress, weights and prediction lines."""
    import keras
    import numpy as np

    progress_every = max(1, total_steps // PROGRESS_POINTS)
    snapshot_every = max(1, total_steps // WEIGHT_SNAPSHOTS)

    class LiveReport(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.step = 0
            self.epoch = 0
            self.last_snapshot = 0.0
            self.start: Any = None  # the random first weights, to show what training changed

        def snapshot(self) -> None:
            kernel = first_layer(self.model).kernel.numpy()
            if self.start is None:
                self.start = kernel.copy()
            count, side, data = quantise_weights(kernel)
            change = quantise_weights(kernel - self.start)[2]
            fields = {"batch": self.step, "epoch": self.epoch + 1}
            report(
                "weights",
                **fields,
                count=count,
                side=side,
                data=base64.b64encode(data).decode(),
                change=base64.b64encode(change).decode(),
            )
            pixels = drawing.current()
            if pixels is not None:
                probabilities = np.asarray(self.model(pixels, training=False))[0]
                report(
                    "prediction",
                    **fields,
                    digit=int(probabilities.argmax()),
                    probabilities=[round(float(p), 4) for p in probabilities],
                )
            self.last_snapshot = time.monotonic()

        def on_train_begin(self, logs: dict | None = None) -> None:
            self.snapshot()  # "before training": random weights, an answer near chance

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch = epoch

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if not still_wanted():
                self.model.stop_training = True
                raise SystemExit(3)  # the server is gone: no orphan keeps a core busy
            self.step += 1
            logs = logs or {}
            last = batch + 1 == steps_per_epoch
            if self.step % progress_every == 0 or last:
                report(
                    "progress",
                    batch=self.step,
                    epoch=self.epoch + 1,
                    step=batch + 1,
                    steps_per_epoch=steps_per_epoch,
                    loss=float(logs.get("loss", math.nan)),
                    accuracy=float(logs.get("accuracy", math.nan)),
                )
            rested = time.monotonic() - self.last_snapshot >= MIN_SNAPSHOT_SECONDS
            if (self.step % snapshot_every == 0 and rested) or last:
                self.snapshot()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = logs or {}
            report(
                "epoch",
                epoch=epoch + 1,
                batch=self.step,
                loss=float(logs.get("loss", math.nan)),
                accuracy=float(logs.get("accuracy", math.nan)),
                val_loss=float(logs.get("val_loss", math.nan)),
                val_accuracy=float(logs.get("val_accuracy", math.nan)),
            )

    return LiveReport()


def parent_watch() -> Callable[[], bool]:
    """True while the process that started us lives (a dead parent re-parents us)."""
    parent = os.getppid()
    return lambda: os.getppid() == parent


def run_live(
    settings: LiveSettings,
    data: Path,
    out: Path,
    drawing_path: Path | None,
    report: Reporter,
    threads: int = 1,
    command: str = "",
) -> dict[str, Any]:
    """Train, test once, store; returns the done event's fields. Reports every step."""
    check_settings(settings)
    from training.data import load_mnist

    mnist = load_mnist(data)  # a wrong file fails before TensorFlow's slow import
    import keras
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    from training.card import build_card
    from training.evaluate import mnist_test_scores
    from training.train import Run, store

    started = time.perf_counter()
    keras.utils.set_random_seed(settings.seed)
    x_train = mnist.x_train[: settings.train_size].astype(np.float32)
    y_train = mnist.y_train[: settings.train_size]
    x_val = mnist.x_train[-VALIDATION_DIGITS:].astype(np.float32)
    y_val = mnist.y_train[-VALIDATION_DIGITS:]
    model = build_model(settings)
    model.compile(
        optimizer=make_optimizer(settings),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    steps_per_epoch = math.ceil(len(x_train) / settings.batch_size)
    name = free_name(out, model_name(settings))
    report(
        "started",
        name=name,
        settings=asdict(settings),
        params=int(model.count_params()),
        steps_per_epoch=steps_per_epoch,
        validation_size=len(x_val),
    )
    options = tf.data.Options()
    options.threading.private_threadpool_size = threads
    train_data = (
        tf.data.Dataset.from_tensor_slices((x_train, y_train))
        .shuffle(len(x_train), seed=settings.seed, reshuffle_each_iteration=True)
        .batch(settings.batch_size)
        .with_options(options)
    )
    validation_data = (
        tf.data.Dataset.from_tensor_slices((x_val, y_val))
        .batch(EVALUATE_BATCH_SIZE)
        .with_options(options)
    )
    callback = make_callback(
        report,
        Drawing(drawing_path),
        steps_per_epoch,
        steps_per_epoch * settings.epochs,
        parent_watch(),
    )
    fit_started = time.perf_counter()
    history = model.fit(
        train_data,
        epochs=settings.epochs,
        validation_data=validation_data,
        callbacks=[callback],
        shuffle=False,  # the dataset shuffles itself, reproducibly from the seed
        verbose=0,
    )
    seconds = time.perf_counter() - fit_started

    report("stage", stage="testing", test_size=len(mnist.x_test))
    probabilities = model.predict(mnist.x_test, batch_size=EVALUATE_BATCH_SIZE, verbose=0)
    scores = mnist_test_scores(probabilities, mnist.y_test)
    report("stage", stage="saving")
    architecture = describe_architecture(model)
    training = {
        "data_file": mnist.path.name,
        "data_sha256": mnist.sha256,
        "train_size": len(x_train),
        "epochs": settings.epochs,
        "batch_size": settings.batch_size,
        "optimizer": optimizer_text(settings),
        "learning_rate": settings.learning_rate,
        "learning_rate_schedule": None,
        "augmentation": None,
        "extra_data": None,
        "validation": f"the last {VALIDATION_DIGITS} MNIST training digits",
        "validation_split": VALIDATION_DIGITS / len(mnist.x_train),
        "seed": settings.seed,
        "seconds": round(seconds, 1),
        "strategy": None,
        "threads": threads,
        "trained_in_class": True,
        "command": command or equivalent_command(settings),
    }
    card = build_card(
        name=name,
        description=(
            f"Trained in class: {architecture_name(settings)} with {optimizer_text(settings)} "
            f"on {len(x_train):,} MNIST digits for {settings.epochs} epoch(s)."
        ),
        architecture=architecture,
        model=model,
        training=training,
        mnist_test=scores,
        history=history.history,
        files={},
    )
    run = Run(model, history.history, settings.epochs, settings.batch_size, seconds)
    out.mkdir(parents=True, exist_ok=True)
    store(out / name, run, mnist, probabilities, card)
    return {
        "name": name,
        "mnist_test_accuracy": scores["accuracy"],
        "mnist_test_loss": scores["loss"],
        "seconds": round(time.perf_counter() - started, 1),
        "fit_seconds": round(seconds, 1),
    }


def describe_architecture(model: Any) -> str:
    """'Rescaling → Flatten → Dense(512, relu) → ...' read from the built model itself."""
    parts = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        config = layer.get_config()
        activation = config.get("activation")
        if kind == "Dense":
            parts.append(f"Dense({config['units']}, {activation})")
        elif kind == "Conv2D":
            parts.append(f"Conv2D({config['filters']}, {config['kernel_size'][0]}, {activation})")
        else:
            parts.append(kind)
    return " → ".join(parts)


def equivalent_command(settings: LiveSettings) -> str:
    """The command line that repeats this run (files by name, as the other cards record them)."""
    words = [
        "python -m training live",
        f"--model {settings.model}",
        f"--optimizer {settings.optimizer}",
        f"--learning-rate {settings.learning_rate:g}",
        f"--epochs {settings.epochs}",
        f"--batch-size {settings.batch_size}",
        f"--train-size {settings.train_size}",
        f"--seed {settings.seed}",
    ]
    if settings.hidden_units:
        words.append(f"--hidden-units {settings.hidden_units}")
    return " ".join(words)


def add_live_parser(commands: Any, positive_int: Callable[[str], int]) -> None:
    """The `live` and `fetch-data` subcommands of python -m training."""
    live = commands.add_parser(
        "live",
        help="train a tutorial model for the class, reporting JSON lines (for the server)",
        description="Train mlp512, mlp128-64 or cnn-tutorial with one TensorFlow thread, print "
        "one JSON event per line on stdout, and store the model in OUT/<name>.",
    )
    live.add_argument("--model", choices=TUTORIAL_MODELS, default=LiveSettings.model)
    live.add_argument("--optimizer", choices=OPTIMIZERS, default=LiveSettings.optimizer)
    live.add_argument("--learning-rate", type=float, default=LiveSettings.learning_rate)
    live.add_argument("--epochs", type=positive_int, default=LiveSettings.epochs)
    live.add_argument("--batch-size", type=positive_int, default=LiveSettings.batch_size)
    live.add_argument("--train-size", type=positive_int, default=LiveSettings.train_size)
    live.add_argument(
        "--hidden-units",
        type=positive_int,
        help="mlp512's hidden layer or cnn-tutorial's dense layer (default: the tutorial's).",
    )
    live.add_argument("--seed", type=int, default=LiveSettings.seed)
    live.add_argument(
        "--data",
        type=Path,
        help="MNIST .npz (default: $DIGITDRAW_MNIST or Keras's "
        "cache, ~/.keras/datasets/mnist.npz).",
    )
    live.add_argument("--out", type=Path, required=True, help="folder of class models.")
    live.add_argument(
        "--drawing",
        type=Path,
        help='JSON file {"pixels": 28x28 0..255} re-read whenever it changes: the pad\'s drawing.',
    )
    live.add_argument("--threads", type=positive_int, default=1, help="TensorFlow threads.")
    live.add_argument(
        "--nice", type=int, default=DEFAULT_NICE, help="added scheduling niceness (0: none)."
    )
    commands.add_parser(
        "fetch-data",
        help="download MNIST into Keras's cache (needs internet), for class without it",
        description="Download MNIST through keras.datasets.mnist (hash-checked) into "
        "~/.keras/datasets/mnist.npz, where the server and python -m training find it.",
    )


def live_data_path(data: Path | None) -> Path:
    """--data, else $DIGITDRAW_MNIST, else Keras's cache; never a download in class."""
    from training.data import DATA_ENV_VARIABLE, keras_cache_path

    if data:
        return data
    return Path(os.environ.get(DATA_ENV_VARIABLE) or keras_cache_path())


def main_live(args: argparse.Namespace) -> int:
    """python -m training live: every outcome, even a crash, ends in a done or failed line."""
    report = Reporter(claim_stdout())
    if args.nice:
        os.nice(args.nice)
    settings = LiveSettings(
        model=args.model,
        optimizer=args.optimizer,
        learning_rate=args.learning_rate,
        epochs=args.epochs,
        batch_size=args.batch_size,
        train_size=args.train_size,
        hidden_units=args.hidden_units,
        seed=args.seed,
    )
    try:
        done = run_live(
            settings,
            live_data_path(args.data),
            args.out,
            args.drawing,
            report,
            threads=args.threads,
        )
    except Exception as error:  # noqa: BLE001 - the page must hear why, whatever it was
        report("failed", reason=f"{type(error).__name__}: {error}")
        return 1
    report("done", **done)
    return 0


def main_fetch_data() -> int:
    """python -m training fetch-data: MNIST into Keras's cache, checked."""
    from training.data import download_mnist, load_mnist

    path = download_mnist()
    load_mnist(path)
    print(f"MNIST is at {path}")
    return 0
