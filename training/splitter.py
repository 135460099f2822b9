"""The digit splitter: a small network that says which digit each pixel of touching ink is in.

    python -m training splitter --pendigits pendigits-orig.tra --threads 2

/predict/number reads a drawing's blobs of ink as digits; touching digits are one blob, and the
splitter (app.numbers.splitter) says how to part it. It is trained here on whole numbers written by
pendigits' training writers 1-20 exactly as training.numbers writes them (the held-out writers
21-30 measure it there), drawn as the page draws them:

- numbers of 2-6 digits whose neighbours touch (TOUCHING_SHARE of them) or nearly touch, some
  written up to MAX_STRETCH times wider (wide handwriting);
- each drawn on a wide pad (training.numbers.draw_number), turned into ink as the server does,
  cropped to its ink and framed as app.numbers.splitter frames it;
- the target of each ink pixel is how far right of it the centre of its own digit's ink is, in
  frame heights (each digit's ink is drawn alone as well, to know whose each pixel is).

The network is fully convolutional, a small U-Net: full-resolution edges around a
half-resolution middle of dilated 3x3 convolutions that see about two digits' width. It is
trained on ink pixels only (the background is no question), with a Huber loss: where two digits
cross, a pixel may belong to either. Drawing the numbers takes about 6 minutes on two cores,
training about 60; it lives in model_store/_digit-splitter/ with model.tflite,
model.keras and card.json. The card holds how far off the centres are and how often the ink of
a number the network did not train on is parted into its digits (`evaluation.validation`).
"""

import argparse
import logging
import multiprocessing
import time
from pathlib import Path
from typing import Any

import numpy as np

from app import preprocessing
from app.numbers.splitter import (
    INPUT_HEIGHT,
    INPUT_WIDTH,
    SPLITTER_COMMAND,
    SPLITTER_FOLDER,
    framed,
)
from training.card_file import write_card
from training.numbers import (
    WrittenNumber,
    digit_coverages,
    draw_number,
    widened,
    written_numbers,
)
from training.pendigits import read_pendigits, writer_split

NUMBERS = 14_000
TOUCHING_SHARE = 0.75  # the rest nearly touch ("close"): the splitter must leave those alone
STRETCHED_SHARE = 0.3  # numbers written wider, by up to MAX_STRETCH
MAX_STRETCH = 1.4
PARTED_RIGHT = 0.95  # share of the ink in the right digit for a number to count as parted
HUBER_DELTA = 0.1  # frame heights: beyond it a pixel's error counts linearly (crossings)
# Full-resolution edges around a half-resolution middle of dilated 3x3 convolutions, whose reach
# (about 65 frame pixels) is two digits; the middle is upsampled and joined to the edges.
EDGE_FILTERS = 16
MIDDLE_FILTERS = 48
MIDDLE_DILATIONS = (1, 2, 4, 8)
JOINED_FILTERS = 24
ARCHITECTURE = " → ".join(
    [
        f"Conv2D({EDGE_FILTERS}, 3, relu)",
        f"Conv2D({2 * EDGE_FILTERS}, 3, stride 2, relu)",
        *(f"Conv2D({MIDDLE_FILTERS}, 3, dilation {d}, relu)" for d in MIDDLE_DILATIONS),
        "UpSampling2D(2, bilinear) joined with the first Conv2D",
        f"Conv2D({JOINED_FILTERS}, 3, relu)",
        "Conv2D(1, 1, linear)",
    ]
)
# Validation loss after epochs 1-7: 0.0140, 0.0087, 0.0070, 0.0062, 0.0058, 0.0055, 0.0055
# (the dilated stack at full resolution it replaced ended at 0.0070 after 10 epochs).
EPOCHS = 7
BATCH_SIZE = 32
LEARNING_RATE = 2e-3
VALIDATION_SHARE = 0.1
SEED = 11

log = logging.getLogger(__name__)


def labelled_frame(number: WrittenNumber, seed: int, index: int) -> tuple[np.ndarray, np.ndarray]:
    """The drawn number as the splitter sees it, and whose each of its frame pixels is: 0 for
    no ink, k + 1 for the ink of digit k (each digit's own ink is drawn alone to know)."""
    image = preprocessing.decode_image(draw_number(number, seed, index), 4096 * 4096, 4096)
    ink = preprocessing.image_to_ink(image).astype(np.float32) / 255.0
    inked = ink >= preprocessing.INK_THRESHOLD * float(ink.max())
    rows, columns = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, columns[0], columns[-1] + 1
    frame, height, width = framed(ink[top:bottom, left:right])
    coverages = [
        preprocessing.resize(own[top:bottom, left:right], height, width)
        for own in digit_coverages(number, seed, index)
    ]
    on_frame = frame[:height, :width] >= preprocessing.INK_THRESHOLD
    owners = np.zeros(frame.shape, dtype=np.uint8)
    owners[:height, :width] = np.where(on_frame, np.argmax(coverages, axis=0) + 1, 0)
    return frame, owners


def centre_offsets(owners: np.ndarray) -> np.ndarray:
    """For each ink pixel, how far right of it its digit's centre is (the mean column of the
    digit's ink), in frame heights; 0 elsewhere."""
    columns = np.broadcast_to(np.arange(owners.shape[-1], dtype=np.float32), owners.shape[1:])
    offsets = np.zeros(owners.shape, dtype=np.float32)
    for frame, offset in zip(owners, offsets, strict=True):
        for owner in range(1, int(frame.max()) + 1):
            own = frame == owner
            if own.any():
                offset[own] = (columns[own].mean() - columns[own]) / INPUT_HEIGHT
    return offsets


def labelled_job(job: tuple[WrittenNumber, int, int]) -> tuple[np.ndarray, np.ndarray]:
    return labelled_frame(*job)


def training_numbers(pen: list, count: int, seed: int) -> list[WrittenNumber]:
    """`count` numbers from the writers' digits, touching or close, some written wider."""
    rng = np.random.default_rng(seed)
    touching = round(count * TOUCHING_SHARE)
    numbers = written_numbers(pen, "touching", touching, seed)
    numbers += written_numbers(pen, "close", count - touching, seed)
    numbers = [numbers[i] for i in rng.permutation(len(numbers))]  # the validation slice: both
    return [
        widened(n, float(rng.uniform(1.0, MAX_STRETCH))) if rng.random() < STRETCHED_SHARE else n
        for n in numbers
    ]


def labelled_frames(pen: list, count: int, seed: int, workers: int) -> tuple:
    jobs = [(n, seed, index) for index, n in enumerate(training_numbers(pen, count, seed))]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pairs = pool.map(labelled_job, jobs, chunksize=64)
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def build_splitter() -> Any:
    """Frame (INPUT_HEIGHT, INPUT_WIDTH, 1) → the layers of ARCHITECTURE → centre offsets."""
    import keras
    from keras import layers

    def relu_conv3(filters: int, **options: Any) -> Any:
        return layers.Conv2D(filters, 3, padding="same", activation="relu", **options)

    inputs = keras.Input((INPUT_HEIGHT, INPUT_WIDTH, 1), name="ink")
    edges = relu_conv3(EDGE_FILTERS)(inputs)
    middle = relu_conv3(2 * EDGE_FILTERS, strides=2)(edges)
    for dilation in MIDDLE_DILATIONS:
        middle = relu_conv3(MIDDLE_FILTERS, dilation_rate=dilation)(middle)
    middle = layers.UpSampling2D(2, interpolation="bilinear")(middle)
    joined = relu_conv3(JOINED_FILTERS)(layers.Concatenate()([middle, edges]))
    outputs = layers.Conv2D(1, 1, name="centre_offset")(joined)
    return keras.Model(inputs, outputs, name="digit_splitter")


def ink_loss(target, predicted):
    """Huber loss of the centre offsets over ink pixels only; target holds (offset, is ink)."""
    import tensorflow as tf

    offset, on_ink = target[..., :1], target[..., 1:]
    error = tf.abs(predicted - offset)
    loss = tf.where(error < HUBER_DELTA, 0.5 * error**2 / HUBER_DELTA, error - 0.5 * HUBER_DELTA)
    return tf.reduce_sum(on_ink * loss) / tf.maximum(tf.reduce_sum(on_ink), 1.0)


def offset_figures(owners: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """How far off the centres are on frames the network did not train on, in frame heights,
    and how often the ink is parted into its digits (app.numbers.splitter.owners_from_offsets): as
    many parts as digits, each mostly one digit's ink, PARTED_RIGHT of the ink where it should."""
    from app.numbers.splitter import owners_from_offsets

    on_ink = owners > 0
    error = np.abs(predicted - centre_offsets(owners))[on_ink]
    right = 0
    for frame, offsets, truth in zip(on_ink, predicted, owners, strict=True):
        found = owners_from_offsets(offsets, frame)[frame]
        counts = np.zeros((int(found.max()) + 1, int(truth.max()) + 1), dtype=np.int64)
        np.add.at(counts, (found, truth[frame]), 1)
        mostly = counts.argmax(axis=1)[1:]  # each part's main digit
        one_to_one = len(set(mostly.tolist())) == len(mostly) == int(truth.max())
        right += one_to_one and counts.max(axis=1).sum() >= PARTED_RIGHT * frame.sum()
    return {
        "median_offset_error": round(float(np.median(error)), 4),
        "p90_offset_error": round(float(np.quantile(error, 0.9)), 4),
        "numbers_parted_right": round(float(right) / max(len(owners), 1), 4),
    }


def train_splitter(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    pen = writer_split(read_pendigits(args.pendigits))[0]
    frames, owners = labelled_frames(pen, args.numbers, args.seed, args.workers)
    drawn = time.perf_counter() - started
    log.info("%d numbers drawn and labelled in %.0f s", len(frames), drawn)

    import keras

    from training.card import file_entry, versions
    from training.export import convert_to_tflite
    from training.train import configure_runtime

    configure_runtime(args.threads, deterministic=False)
    keras.utils.set_random_seed(args.seed)
    target = np.stack([centre_offsets(owners), (owners > 0).astype(np.float32)], axis=-1)
    x = frames[..., np.newaxis]
    split = max(1, int(len(x) * VALIDATION_SHARE))
    model = build_splitter()
    steps = int(np.ceil((len(x) - split) / BATCH_SIZE)) * args.epochs
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=ink_loss)
    fit_started = time.perf_counter()
    history = model.fit(
        x[split:],
        target[split:],
        validation_data=(x[:split], target[:split]),
        epochs=args.epochs,
        batch_size=BATCH_SIZE,
        verbose=2,
    )
    seconds = time.perf_counter() - fit_started
    figures = offset_figures(owners[:split], model.predict(x[:split], verbose=0)[..., 0])
    figures["validation_loss"] = round(float(history.history["val_loss"][-1]), 4)

    folder = Path(args.out) / SPLITTER_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    (folder / "model.tflite").write_bytes(convert_to_tflite(model))
    card = splitter_card(args, model, len(x), split, seconds, figures)
    card["files"] = {
        "model.keras": file_entry(folder / "model.keras"),
        "model.tflite": file_entry(folder / "model.tflite"),
    }
    card["versions"] = versions()
    write_card(card, folder)
    log.info("digit splitter stored in %s (%.0f s training): %s", folder, seconds, figures)
    return 0


def splitter_card(args, model, numbers: int, validation: int, seconds: float, figures) -> dict:
    from app.preprocessing import PREPROCESSING_VERSION

    return {
        "name": "digit-splitter",
        "description": (
            "Fully convolutional network: for each ink pixel of a group of touching digits, "
            "how far right of it the centre of its digit is. /predict/number parts the ink "
            "by the centres the pixels point to (app.numbers.splitter)."
        ),
        "architecture": ARCHITECTURE,
        "params": int(model.count_params()),
        "input": {
            "shape": [INPUT_HEIGHT, INPUT_WIDTH, 1],
            "dtype": "float32",
            "range": [0, 1],
            "meaning": "ink cropped and scaled to the frame's height, at its top left",
        },
        "output": {
            "shape": [INPUT_HEIGHT, INPUT_WIDTH, 1],
            "meaning": "offset to the centre of the pixel's digit, in frame heights",
        },
        "preprocessing_version": PREPROCESSING_VERSION,
        "training": {
            "data": (
                f"{numbers} numbers of 2-6 digits by pendigits writers 1-20 "
                f"(training.numbers), {TOUCHING_SHARE:.0%} touching, the rest close, "
                f"{STRETCHED_SHARE:.0%} written up to {MAX_STRETCH}x wider; "
                f"{validation} held back for the figures"
            ),
            "spacings": ["close", "touching"],  # as training_numbers writes them
            "loss": f"Huber (delta {HUBER_DELTA}) over ink pixels",
            "epochs": args.epochs,
            "batch_size": BATCH_SIZE,
            "optimizer": f"adam, cosine decay from {LEARNING_RATE:g}",
            "seed": args.seed,
            "seconds": round(seconds, 1),
            "command": f"{SPLITTER_COMMAND} --threads {args.threads}",
        },
        "evaluation": {"validation": figures},
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pendigits", required=True, help="UCI pendigits-orig.tra.")
    parser.add_argument("--out", default="model_store", help="model store folder.")
    parser.add_argument("--numbers", type=int, default=NUMBERS, help="numbers to learn from.")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--threads", type=int, default=None, help="TensorFlow threads.")
    parser.add_argument("--workers", type=int, default=2, help="drawing processes.")
