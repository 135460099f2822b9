"""The digit detector: a small binary network that says how digit-like a 28x28 input is.

    python -m training detector --data mnist.npz --pendigits pendigits-orig.tra --threads 2

Every served model keeps its 10-way softmax; "is it a digit" is this separate model, run by the
server (app.honesty) on the same 28x28 the classifier sees, so it answers the same whichever
model a class picked. It lives in model_store/_digit-detector/ (the registry skips folders
starting with "_") with model.tflite, model.keras and card.json, checked on load like the others.

Data (all inputs made by the server's own preprocessing):
- digits (label 1): MNIST training digits (all but the last 5,000, robust-cnn's validation
  slice), pendigits training writers 1-20 through the strokes and the image path, and simulated
  scans (training.scans) of both;
- not digits (label 0): training.negatives' "train" split, every kind, drawn with pendigits
  writers 1-20.
Nothing here uses MNIST test, pendigits writers 21-30 or the "heldout" negatives: those measure
the detector (python -m training honest), and its threshold is set there on real digits.

Drawing the inputs takes about 9 minutes on two cores (cached in --cache for the next run);
training 12 epochs about 13 minutes alone (19 with an evaluation sharing the cores).
"""

import argparse
import logging
import time
from pathlib import Path

import numpy as np

from app.honesty import DETECTOR_FOLDER
from training.card_file import write_card
from training.negatives import KINDS, negative_inputs
from training.pendigits import read_pendigits, writer_split

NEGATIVES_PER_KIND = 3000  # of each kind, times its EXTRA factor
# More examples of the most varied kinds (times NEGATIVES_PER_KIND): what got through the first
# detector was mostly letters, symbols, font glyphs, scribbles and shapes.
EXTRA = {"letters": 2, "symbols": 2, "font_glyphs": 2, "scribbles": 2, "shapes": 2}
SCANS = 5000  # simulated scans among the positives (MNIST), plus every pendigits writer 1-20
EPOCHS = 12
FILTERS = (24, 48, 96)  # convolution widths of the three stages
DENSE_UNITS = 64
BATCH_SIZE = 128
LEARNING_RATE = 2e-3
SEED = 7
MNIST_VALIDATION = 5000  # robust-cnn's validation slice, left out here too

log = logging.getLogger(__name__)


def build_detector():
    """Rescaling → 3 x [Conv2D → BN → ReLU → MaxPool] → Dense → Dropout → Dense(1, sigmoid)."""
    import keras
    from keras import layers

    inputs = keras.Input((28, 28), name="pixels")
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Reshape((28, 28, 1))(x)
    for filters in FILTERS:
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(DENSE_UNITS, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(1, activation="sigmoid", name="digit_score")(x)
    return keras.Model(inputs, outputs, name="digit-detector")


def positive_inputs(
    mnist_images: np.ndarray, mnist_labels: np.ndarray, pen_train: list, seed: int, workers: int
) -> np.ndarray:
    """Digits as the server sees them (uint8 0..255): MNIST, pendigits both paths, scans."""
    from training.realdraw import image_inputs, strokes_input
    from training.scans import scan_training_data

    indices = np.arange(len(pen_train))
    strokes = np.stack([strokes_input(digit) for digit in pen_train])
    images = image_inputs(pen_train, indices, seed, workers)
    share = min(1.0, SCANS / len(mnist_images))
    scans, _, _ = scan_training_data(mnist_images, mnist_labels, pen_train, share, seed)
    drawn = np.rint(np.concatenate([strokes, images]) * 255).astype(np.uint8)
    return np.concatenate([mnist_images, drawn, scans])


def negative_set(count: int, seed: int, split: str, pen: list) -> dict[str, np.ndarray]:
    """Per kind, `count` negatives (uint8 0..255) of a split (more of the most varied kinds)."""
    return {
        kind: np.rint(
            negative_inputs(kind, count * EXTRA.get(kind, 1), seed, split, pen) * 255
        ).astype(np.uint8)
        for kind in KINDS
    }


def train_detector(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    mnist = np.load(args.data)
    x_mnist = mnist["x_train"][: -MNIST_VALIDATION or None][: args.limit]
    y_mnist = mnist["y_train"][: -MNIST_VALIDATION or None][: args.limit]
    pen_train = writer_split(read_pendigits(args.pendigits))[0][: args.limit]
    per_kind = min(NEGATIVES_PER_KIND, args.limit or NEGATIVES_PER_KIND)
    extra = sum(EXTRA.values())
    cache = Path(args.cache) / f"detector-inputs-{args.seed}-{per_kind}x{extra}-{len(x_mnist)}.npz"
    if cache.is_file():
        with np.load(cache) as stored:
            positives = stored["positives"]
            negatives = {kind: stored[kind] for kind in KINDS}
    else:
        positives = positive_inputs(x_mnist, y_mnist, pen_train, args.seed, args.workers)
        negatives = negative_set(per_kind, args.seed, "train", pen_train)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(cache, positives=positives, **negatives)
    rendered = time.perf_counter() - started
    if args.render_only:
        log.info("inputs drawn in %.0f s and cached in %s", rendered, cache)
        return 0
    log.info(
        "%d digits, %d negatives drawn in %.0f s",
        len(positives),
        sum(map(len, negatives.values())),
        rendered,
    )

    import keras
    import tensorflow as tf

    from training.augment import AugmentConfig, training_dataset
    from training.card import file_entry, versions
    from training.export import convert_to_tflite, tflite_predict
    from training.train import configure_runtime

    configure_runtime(args.threads, deterministic=False)
    keras.utils.set_random_seed(args.seed)
    x = np.concatenate([positives, *negatives.values()]).astype(np.float32)
    y = np.concatenate([np.ones(len(positives)), np.zeros(len(x) - len(positives))])
    y = y.astype(np.float32)
    # Both classes weigh the same in the loss, whatever their counts.
    weights = np.where(
        y == 1, 0.5 * len(y) / len(positives), 0.5 * len(y) / (len(y) - len(positives))
    )
    augment = AugmentConfig(rotation_degrees=10.0, elastic_pixels=0.5)
    dataset = training_dataset(
        x, np.column_stack([y, weights]), BATCH_SIZE, args.seed, augment, args.threads
    )
    dataset = dataset.map(lambda images, target: (images, target[:, :1], target[:, 1]))
    model = build_detector()
    steps = int(np.ceil(len(x) / BATCH_SIZE)) * args.epochs
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="binary_crossentropy",
        weighted_metrics=["accuracy"],
    )
    fit_started = time.perf_counter()
    model.fit(dataset, epochs=args.epochs, verbose=2)
    seconds = time.perf_counter() - fit_started

    folder = Path(args.out) / DETECTOR_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    (folder / "model.tflite").write_bytes(convert_to_tflite(model))
    check = x[:: max(1, len(x) // 2000)]
    difference = float(
        np.abs(
            tflite_predict(folder / "model.tflite", check) - model.predict(check, verbose=0)
        ).max()
    )
    if difference > 1e-4:
        raise RuntimeError(f"the TFLite detector differs from Keras by {difference:.2e}")
    del tf
    card = detector_card(args, model, positives, negatives, seconds, difference)
    card["files"] = {
        "model.keras": file_entry(folder / "model.keras"),
        "model.tflite": {**file_entry(folder / "model.tflite"), "max_abs_diff": difference},
    }
    card["versions"] = versions()
    write_card(card, folder)
    log.info("digit detector stored in %s (%.0f s training)", folder, seconds)
    return 0


def detector_card(args, model, positives, negatives, seconds: float, difference: float) -> dict:
    """The detector's card; its threshold and figures are added by python -m training honest."""
    from app.preprocessing import PREPROCESSING_VERSION

    return {
        "name": "digit-detector",
        "description": (
            "Binary network: how digit-like the 28x28 model input is (1 = a digit). "
            "The server runs it on every prediction; is_digit = digit_score >= threshold."
        ),
        "architecture": (
            f"Rescaling(1/255) → Reshape(28, 28, 1) → [Conv2D({'|'.join(map(str, FILTERS))}, 3, "
            f"same) → BN → ReLU → MaxPool(2)]x3 → Flatten → Dense({DENSE_UNITS}, relu) "
            "→ Dropout(0.3) → Dense(1, sigmoid)"
        ),
        "params": int(model.count_params()),
        "input": {
            "shape": [28, 28],
            "dtype": "float32",
            "range": [0, 255],
            "polarity": "white_on_black",
        },
        "output": {"shape": [1], "meaning": "digit_score: probability that the input is a digit"},
        "preprocessing_version": PREPROCESSING_VERSION,
        "threshold": 0.5,
        "training": {
            "digits": (
                f"{len(positives)}: MNIST training digits but the last {MNIST_VALIDATION}, "
                "pendigits writers 1-20 through the strokes and the image path, simulated scans "
                "(training.scans)"
            ),
            "not_digits": {kind: len(images) for kind, images in negatives.items()},
            "negatives": "training.negatives, split 'train' (see its docstring for every kind)",
            "augmentation": "training.augment, rotation ±10°, elastic σ 0.5 px, both classes",
            "epochs": args.epochs,
            "batch_size": BATCH_SIZE,
            "optimizer": f"adam, cosine decay from {LEARNING_RATE:g}; classes weighted equally",
            "seed": args.seed,
            "seconds": round(seconds, 1),
            "command": (
                "python -m training detector --data mnist.npz --pendigits pendigits-orig.tra "
                f"--threads {args.threads}"
            ),
        },
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="MNIST .npz (Keras layout).")
    parser.add_argument("--pendigits", required=True, help="UCI pendigits-orig.tra.")
    parser.add_argument("--out", default="model_store", help="model store folder.")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--threads", type=int, default=None, help="TensorFlow threads.")
    parser.add_argument("--workers", type=int, default=2, help="canvas drawing processes.")
    parser.add_argument("--limit", type=int, default=None, help="quick mode: digits per source.")
    parser.add_argument(
        "--cache", default="test-artifacts/honest", help="folder caching the drawn inputs."
    )
    parser.add_argument("--render-only", action="store_true", help="draw and cache, no training.")
