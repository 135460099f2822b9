"""Fine-tune a served model on a class's corrections and store the result as its next version.

    python -m training corrections export --db data/digitdraw.sqlite3 --out corrections.npz
    python -m training finetune --model robust-cnn --corrections corrections.npz \\
        --data mnist.npz --pendigits pendigits-orig.tra
    python -m training finetune ... --epochs 1 --limit 2000         # quick smoke run

What it does, in order:
1. data: the corrections (an export in MNIST's layout, or the server's SQLite file), split into
   the ones to learn from and the ones held out to score the result honestly: whole writers (or
   classes) are held out when there are at least three, else the latest corrections;
2. model: the current default version of the model (its model.keras), from its weights;
3. fit: MNIST training digits (and pendigits' training writers, with --pendigits) mixed with the
   corrections, which make up --corrections-share of every epoch, all augmented as in training
   (training/augment.py), at a small learning rate so the network keeps what it knew;
4. evaluate the parent and the new version side by side: MNIST test, pendigits writers 21-30
   (strokes path, with --pendigits) and the held-out corrections;
5. save model.keras, model.tflite (checked against Keras on all of MNIST test) and card.json in
   <store>/<name>/versions/<n>/, written under a hidden name and renamed when complete, then ask
   a server sharing the data folder to reload (app.inference.request_reload).

The new version is marked as the default only if MNIST test drops by at most 0.2 points; the
command says so either way. Expect about 2 minutes on 2 CPU cores for the defaults.
"""

import argparse
import hashlib
import logging
import math
import os
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.inference import (
    MODEL_FILE,
    VERSIONS_DIR,
    ModelStoreError,
    pinned_version,
    request_reload,
    stored_default_version,
    version_folders,
)
from app.settings import Settings
from app.store.corrections import CorrectionStore, Example, examples_npz, labelled_examples
from app.store.db import DB_FILE

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STORE = REPO_ROOT / "model_store"
DEFAULT_MODEL = "robust-cnn"
DEFAULT_SEED = 42
# --- knobs ------------------------------------------------------------------------------------
EPOCHS = 2  # passes over the mixed data; the network already reads MNIST, it only adjusts
BATCH_SIZE = 128
PEAK_LEARNING_RATE = 3e-4  # a tenth of training's peak: adjust the weights, do not relearn
WARMUP_SHARE = 0.1  # of all steps; batch-norm statistics see the new mix before big steps
WEIGHT_DECAY = 1e-4  # as in training (AdamW)
LABEL_SMOOTHING = 0.05  # as robust-cnn's recipe
CORRECTIONS_SHARE = 0.1  # corrections' share of every epoch (repeated, each time augmented)
HOLDOUT_SHARE = 0.2  # of the corrections, kept out of fine-tuning to score it
MIN_GROUPS_TO_HOLD_OUT = 3  # with fewer writers, hold out the latest corrections instead
MIN_CORRECTIONS_TO_HOLD_OUT = 10  # fewer: all are learnt from, none scored
MAX_MNIST_DROP = 0.002  # 0.2 points of MNIST test accuracy: more and it is not the default
PENDIGITS_HELDOUT = "writers 21-30"


class FinetuneError(ValueError):
    """Bad arguments or data; the message says how to fix them."""


@dataclass(frozen=True)
class Corrections:
    """Labelled 28x28 digits (uint8, white on black) with their writer group and time."""

    x: np.ndarray
    y: np.ndarray
    group: np.ndarray
    created_at: np.ndarray
    source: str  # the file they came from (name only, for the card)
    file_sha256: str

    def __len__(self) -> int:
        return len(self.y)

    def take(self, mask: np.ndarray) -> "Corrections":
        return Corrections(
            self.x[mask],
            self.y[mask],
            self.group[mask],
            self.created_at[mask],
            self.source,
            self.file_sha256,
        )

    def sha256(self) -> str:
        """Digest of the digits and labels themselves (not of the file's compression)."""
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(self.x, dtype=np.uint8).tobytes())
        digest.update(np.ascontiguousarray(self.y, dtype=np.uint8).tobytes())
        return digest.hexdigest()


def is_sqlite(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(16) == b"SQLite format 3\x00"


def db_examples(path: Path) -> list[Example]:
    """Corrections (and labelled class drawings) of the server's SQLite file."""
    if path.name == DB_FILE:
        return list(labelled_examples(path.parent))
    return list(CorrectionStore(path.parent, path).examples())


def export_corrections(db: Path, out: Path) -> int:
    """`python -m training corrections export`: the SQLite store as an MNIST-layout .npz."""
    if not db.is_file() or not is_sqlite(db):
        raise FinetuneError(f"{db} is not the server's SQLite file (data/{DB_FILE}).")
    examples = db_examples(db)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(examples_npz(iter(examples)))
    return len(examples)


def load_corrections(path: Path) -> Corrections:
    """An export (.npz with x, y; group and created_at if present) or the SQLite file itself."""
    from training.data import file_sha256

    if not path.is_file():
        raise FinetuneError(
            f"{path} not found. Export the corrections first: python -m training corrections "
            f"export --db data/{DB_FILE} --out corrections.npz (or pass the SQLite file)."
        )
    if is_sqlite(path):
        try:
            examples = db_examples(path)
        except sqlite3.Error as error:
            raise FinetuneError(f"{path}: cannot read the corrections ({error}).") from error
        x = np.stack([e.image for e in examples]) if examples else np.zeros((0, 28, 28), np.uint8)
        arrays = {
            "x": x,
            "y": np.array([e.label for e in examples], np.uint8),
            "group": np.array([e.group for e in examples], str),
            "created_at": np.array([e.created_at for e in examples], np.float64),
        }
    else:
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError) as error:
            raise FinetuneError(f"{path} is neither an .npz export nor a SQLite file.") from error
    x, y = arrays.get("x"), arrays.get("y")
    if x is None or y is None or x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y):
        raise FinetuneError(f"{path}: expected x (N, 28, 28) uint8 and y (N,), MNIST's layout.")
    if x.dtype != np.uint8 or (len(y) and (y.min() < 0 or y.max() > 9)):
        raise FinetuneError(f"{path}: x must be uint8 and y digits 0-9.")
    count = len(y)
    group = arrays.get("group", np.array(["anonymous"] * count))
    created_at = arrays.get("created_at", np.arange(count, dtype=np.float64))
    return Corrections(
        x, y.astype(np.uint8), group.astype(str), created_at, path.name, file_sha256(path)
    )


def split_corrections(
    corrections: Corrections, seed: int, share: float = HOLDOUT_SHARE
) -> tuple[Corrections, Corrections, str]:
    """(to learn from, held out, how): whole writers when there are enough, else the latest."""
    count = len(corrections)
    if count < MIN_CORRECTIONS_TO_HOLD_OUT or share <= 0:
        nothing = np.zeros(count, bool)
        return corrections, corrections.take(nothing), "none held out (too few corrections)"
    groups = sorted(set(corrections.group.tolist()))
    if len(groups) >= MIN_GROUPS_TO_HOLD_OUT:
        order = np.random.default_rng(seed).permutation(len(groups))
        held: list[str] = []
        for index in order:
            if np.isin(corrections.group, held).sum() >= share * count:
                break
            held.append(groups[index])
        mask = np.isin(corrections.group, held)
        how = f"by writer: {len(held)} of {len(groups)} writers held out ({', '.join(held)})"
    else:
        cut = np.quantile(corrections.created_at, 1 - share)
        mask = corrections.created_at > cut
        if not mask.any() or mask.all():
            mask = np.arange(count) >= count - max(1, round(share * count))
        how = f"by time: the latest {int(mask.sum())} of {count} corrections held out"
    return corrections.take(~mask), corrections.take(mask), how


@dataclass(frozen=True)
class FinetuneOptions:
    model: str = DEFAULT_MODEL
    corrections: Path = Path("corrections.npz")
    data: Path | None = None
    store: Path = DEFAULT_STORE
    pendigits: Path | None = None
    epochs: int = EPOCHS
    limit: int | None = None
    seed: int = DEFAULT_SEED
    corrections_share: float = CORRECTIONS_SHARE
    holdout_share: float = HOLDOUT_SHARE
    parent_version: int | None = None
    threads: int | None = None
    data_dir: Path | None = None  # ask the server using this data folder to reload
    reload: bool = True
    command: str = ""


@dataclass(frozen=True)
class FinetuneResult:
    folder: Path
    version: int
    parent_version: int
    marked_default: bool
    seconds: float
    comparison: dict[str, dict[str, float | None]]
    message: str


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float | None:
    if len(labels) == 0:
        return None
    return float((probabilities.argmax(axis=1) == labels).mean())


def pendigits_heldout(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Writers 21-30 through the server's strokes path, as realdraw scores them."""
    from training.pendigits import read_pendigits, render_strokes, writer_split

    _, heldout = writer_split(read_pendigits(path))
    return render_strokes(heldout)


def default_decision(
    ref: str, parent_accuracy: float, new_accuracy: float, pinned: int | None
) -> tuple[bool, str]:
    """Whether the new version may be the default (MNIST test lost at most 0.2 points), and
    the sentence that tells the teacher."""
    shown = f"MNIST test {parent_accuracy:.2%} -> {new_accuracy:.2%}"
    # A tolerance below one test digit (0.01 points): float sums must not flip the decision.
    if parent_accuracy - new_accuracy > MAX_MNIST_DROP + 1e-9:
        return False, (
            f"{ref} is NOT marked as the default version: {shown}, a drop of more than "
            f"{MAX_MNIST_DROP * 100:.1f} points. It is served only as {ref}."
        )
    message = f"{ref} is marked as the default version: {shown}."
    if pinned is not None:
        message += (
            f" But its default_version file pins version {pinned}: delete the file (or write "
            f"{ref.rpartition('@')[2]} into it) to serve {ref} by default."
        )
    return True, message


def next_version(folder: Path) -> int:
    """One more than every version there is, written or being written."""
    numbers = list(version_folders(folder))
    versions_dir = folder / VERSIONS_DIR
    if versions_dir.is_dir():
        for child in versions_dir.iterdir():
            digits = child.name.removeprefix(".tmp-").split("-")[0]
            if digits.isdigit():
                numbers.append(int(digits))
    return max(numbers, default=1) + 1


def finetune(options: FinetuneOptions) -> FinetuneResult:
    """Run the whole fine-tune; see the module docstring."""
    started = time.perf_counter()
    model_folder = options.store / options.model
    if not model_folder.is_dir():
        raise FinetuneError(f"No model {options.model} in {options.store}.")
    try:
        parent_version = options.parent_version or stored_default_version(model_folder)
    except ModelStoreError as error:
        raise FinetuneError(str(error)) from error
    parent_folder = version_folders(model_folder).get(parent_version)
    if parent_folder is None or not (parent_folder / "model.keras").is_file():
        raise FinetuneError(
            f"{options.model} has no version {parent_version} with a model.keras in "
            f"{model_folder}; pass --from-version."
        )
    corrections = load_corrections(options.corrections)
    if len(corrections) == 0:
        raise FinetuneError(f"{options.corrections} holds no corrections: nothing to learn.")
    learn, held_out, split = split_corrections(corrections, options.seed, options.holdout_share)

    from training.data import load_mnist, resolve_data_path

    mnist = load_mnist(resolve_data_path(options.data))
    pendigits = pendigits_heldout(options.pendigits) if options.pendigits else None

    import keras

    from training.augment import AugmentConfig, describe, training_dataset
    from training.card import build_card, file_entry, read_card, write_card
    from training.evaluate import PREDICT_BATCH_SIZE, mnist_test_scores
    from training.export import export_tflite
    from training.train import configure_runtime, pendigits_training_data

    configure_runtime(options.threads, deterministic=False)
    keras.utils.set_random_seed(options.seed)
    parent_card = read_card(parent_folder)

    # --- data: MNIST (and pendigits' training writers), corrections repeated to their share
    x_parts = [mnist.x_train[: options.limit]]
    y_parts = [mnist.y_train[: options.limit].astype(np.int64)]
    extra_note = None
    if options.pendigits:
        pen_x, pen_y, extra_note = pendigits_training_data(options.pendigits)
        x_parts.append(pen_x[: options.limit])
        y_parts.append(pen_y[: options.limit])
    base = sum(len(part) for part in x_parts)
    share = options.corrections_share
    repeat = max(1, math.ceil(share * base / ((1 - share) * len(learn)))) if len(learn) else 0
    x_parts += [learn.x] * repeat
    y_parts += [learn.y.astype(np.int64)] * repeat
    x_train = np.concatenate(x_parts)
    y_train = keras.utils.to_categorical(np.concatenate(y_parts), 10)
    log.info(
        "%s@%d: %d MNIST/pendigits digits + %d corrections x %d per epoch, %d held out (%s)",
        options.model,
        parent_version,
        base,
        len(learn),
        repeat,
        len(held_out),
        split,
    )

    # --- model: the parent's weights
    model = keras.models.load_model(parent_folder / "model.keras", compile=False)
    steps = math.ceil(len(x_train) / BATCH_SIZE) * options.epochs
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=max(1, steps - int(steps * WARMUP_SHARE)),
        warmup_target=PEAK_LEARNING_RATE,
        warmup_steps=max(1, int(steps * WARMUP_SHARE)),
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=schedule, weight_decay=WEIGHT_DECAY),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=LABEL_SMOOTHING),
        metrics=["accuracy"],
    )
    parent = keras.models.load_model(parent_folder / "model.keras", compile=False)

    def scores_of(network: Any) -> dict[str, Any]:
        mnist_probabilities = network.predict(
            mnist.x_test, batch_size=PREDICT_BATCH_SIZE, verbose=0
        )
        result: dict[str, Any] = {
            "mnist_probabilities": mnist_probabilities,
            "mnist_test": mnist_test_scores(mnist_probabilities, mnist.y_test),
            "corrections_heldout": None,
            "pendigits_heldout": None,
        }
        if len(held_out):
            held = network.predict(held_out.x, batch_size=PREDICT_BATCH_SIZE, verbose=0)
            result["corrections_heldout"] = accuracy(held, held_out.y)
        if pendigits is not None:
            pen = network.predict(pendigits[0], batch_size=PREDICT_BATCH_SIZE, verbose=0)
            result["pendigits_heldout"] = accuracy(pen, pendigits[1])
        return result

    before = scores_of(parent)

    # --- fit
    train_data = training_dataset(
        x_train, y_train, BATCH_SIZE, options.seed, AugmentConfig(), options.threads
    )
    fit_started = time.perf_counter()
    history = model.fit(train_data, epochs=options.epochs, shuffle=False, verbose=2).history
    fit_seconds = time.perf_counter() - fit_started

    # --- evaluate
    after = scores_of(model)
    drop = before["mnist_test"]["accuracy"] - after["mnist_test"]["accuracy"]
    marked_default = default_decision(
        "", before["mnist_test"]["accuracy"], after["mnist_test"]["accuracy"], None
    )[0]
    comparison = {
        "mnist_test": {
            "parent": before["mnist_test"]["accuracy"],
            "new": after["mnist_test"]["accuracy"],
        },
        "pendigits_writers_21_30_strokes": {
            "parent": before["pendigits_heldout"],
            "new": after["pendigits_heldout"],
        },
        "corrections_heldout": {
            "parent": before["corrections_heldout"],
            "new": after["corrections_heldout"],
        },
    }

    # --- save: a hidden folder renamed when complete, so no server ever sees half a version
    version = next_version(model_folder)
    versions_dir = model_folder / VERSIONS_DIR
    staging = versions_dir / f".tmp-{version}-{os.getpid()}"
    staging.mkdir(parents=True)
    model.save(staging / "model.keras")
    agreement = export_tflite(
        model,
        staging / MODEL_FILE,
        mnist.x_test.astype(np.float32),
        after["mnist_probabilities"],
    )
    training = {
        "data_file": mnist.path.name,
        "data_sha256": mnist.sha256,
        "epochs": options.epochs,
        "batch_size": BATCH_SIZE,
        "optimizer": f"adamw (weight decay {WEIGHT_DECAY:g}); cross-entropy with label "
        f"smoothing {LABEL_SMOOTHING:g}",
        "learning_rate_schedule": f"linear warm-up to {PEAK_LEARNING_RATE:g} over "
        f"{WARMUP_SHARE:.0%} of the steps, then cosine decay to 0",
        "augmentation": describe(AugmentConfig()),
        "extra_data": extra_note,
        "mnist_digits": int(len(x_parts[0])),
        "validation_split": None,
        "seed": options.seed,
        "seconds": round(fit_seconds, 1),
        "strategy": None,
        "command": options.command,
    }
    card = build_card(
        name=options.model,
        description=f"{parent_card.get('description', '')} Version {version}: fine-tuned from "
        f"version {parent_version} on {len(learn)} corrections.".strip(),
        architecture=parent_card.get("architecture", ""),
        model=model,
        training=training,
        mnist_test=after["mnist_test"],
        history=history,
        files={},
    )
    if after["pendigits_heldout"] is not None:
        card["evaluation"]["real_drawings"] = {
            "dataset": "UCI pendigits (Alimoglu & Alpaydin 1998), pendigits-orig.tra",
            "heldout": {"strokes": round(after["pendigits_heldout"], 4), "n": len(pendigits[1])},
            "note": f"{PENDIGITS_HELDOUT}, strokes path only, measured by the fine-tune",
        }
    card["evaluation"]["corrections_heldout"] = {
        "accuracy": after["corrections_heldout"],
        "n": len(held_out),
        "split": split,
    }
    card["evaluation"]["compared_with_parent"] = comparison
    card["finetune"] = {
        "parent_version": parent_version,
        "parent_model_tflite_sha256": file_entry(parent_folder / MODEL_FILE)["sha256"],
        "corrections": {
            "file": corrections.source,
            "file_sha256": corrections.file_sha256,
            "count": len(corrections),
            "sha256": corrections.sha256(),
            "used": {"count": len(learn), "sha256": learn.sha256(), "repeat_per_epoch": repeat},
            "held_out": {"count": len(held_out), "sha256": held_out.sha256(), "split": split},
        },
        "max_mnist_drop": MAX_MNIST_DROP,
        "mnist_drop": round(drop, 6),
        "marked_default": marked_default,
    }
    card["files"] = {
        "model.keras": file_entry(staging / "model.keras"),
        MODEL_FILE: {
            **file_entry(staging / MODEL_FILE),
            "top1_agreement": agreement.top1_agreement,
            "max_abs_diff": agreement.max_abs_diff,
        },
    }
    card.pop("pictures", None)  # no curves for a fine-tune of a few epochs
    write_card(card, staging)
    folder = versions_dir / str(version)
    staging.rename(folder)

    message = default_decision(
        f"{options.model}@{version}",
        before["mnist_test"]["accuracy"],
        after["mnist_test"]["accuracy"],
        pinned_version(model_folder),
    )[1]
    if options.reload and options.data_dir is not None:
        try:
            request_reload(options.data_dir)
            message += f" Asked the server using {options.data_dir} to reload."
        except OSError as error:
            message += f" Could not ask the server to reload ({error}): POST /models/reload."
    return FinetuneResult(
        folder,
        version,
        parent_version,
        marked_default,
        time.perf_counter() - started,
        comparison,
        message,
    )


def format_comparison(result: FinetuneResult) -> str:
    rows = [f"{'':<34}{'parent':>10}{'new':>10}"]
    for name, pair in result.comparison.items():
        shown = ["-" if value is None else f"{value:.2%}" for value in pair.values()]
        rows.append(f"{name:<34}{shown[0]:>10}{shown[1]:>10}")
    return "\n".join(rows)


def add_parsers(commands: Any, positive_int: Any) -> None:
    """Register `finetune` and `corrections export` on the training CLI."""
    parser = commands.add_parser(
        "finetune",
        help="fine-tune a model on corrections and store it as a new version",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model name (default: %(default)s)")
    parser.add_argument(
        "--corrections",
        type=Path,
        required=True,
        metavar="PATH",
        help=f"corrections.npz (from `corrections export` or GET /corrections/export) or the "
        f"server's SQLite file (data/{DB_FILE})",
    )
    parser.add_argument("--data", type=Path, metavar="PATH", help="MNIST in Keras's .npz layout.")
    parser.add_argument(
        "--pendigits",
        type=Path,
        metavar="PATH",
        help="pendigits-orig.tra: mix in its training writers 1-20 (as the model was trained) "
        "and score writers 21-30 before and after",
    )
    parser.add_argument(
        "--out",
        "--store",
        dest="store",
        type=Path,
        default=DEFAULT_STORE,
        metavar="DIR",
        help="model store holding the model (default: the repository's model_store/)",
    )
    parser.add_argument("--epochs", type=positive_int, default=EPOCHS, help="default: %(default)s")
    parser.add_argument(
        "--limit",
        type=positive_int,
        metavar="N",
        help="quick mode: mix in only the first N MNIST digits (and N pendigits digits)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="default: %(default)s")
    parser.add_argument(
        "--corrections-share",
        type=float,
        default=CORRECTIONS_SHARE,
        help="share of every epoch made of corrections (default: %(default)s)",
    )
    parser.add_argument(
        "--holdout-share",
        type=float,
        default=HOLDOUT_SHARE,
        help="share of the corrections held out to score the result (default: %(default)s)",
    )
    parser.add_argument(
        "--from-version", type=positive_int, help="start from this version, not the default"
    )
    parser.add_argument("--threads", type=positive_int, metavar="N", help="TensorFlow threads")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="the server's data folder, to ask it to reload (default: DIGITDRAW_DATA_DIR or data/)",
    )
    parser.add_argument(
        "--no-reload", action="store_true", help="do not ask a running server to reload"
    )

    corrections = commands.add_parser(
        "corrections", help="corrections stored by the server", description="Corrections."
    )
    actions = corrections.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export",
        help="write the corrections as an .npz in MNIST's layout (x uint8 28x28, y)",
        description="Write the server's corrections (and labelled class drawings) as .npz.",
    )
    export.add_argument(
        "--db", type=Path, required=True, help=f"the server's SQLite file (data/{DB_FILE})"
    )
    export.add_argument("--out", type=Path, required=True, help="the .npz to write")


def run(args: argparse.Namespace, command: str) -> int:
    """Dispatch `finetune` and `corrections export`; returns the exit status."""
    try:
        if args.command == "corrections":
            count = export_corrections(args.db, args.out)
            print(f"wrote {count} corrections to {args.out}")
            return 0
        options = FinetuneOptions(
            model=args.model,
            corrections=args.corrections,
            data=args.data,
            store=args.store,
            pendigits=args.pendigits,
            epochs=args.epochs,
            limit=args.limit,
            seed=args.seed,
            corrections_share=args.corrections_share,
            holdout_share=args.holdout_share,
            parent_version=args.from_version,
            threads=args.threads,
            data_dir=args.data_dir or Settings().data_dir,
            reload=not args.no_reload,
            command=command,
        )
        result = finetune(options)
    except FinetuneError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:  # training.export.ExportError: TFLite differs from Keras
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(format_comparison(result))
    print(f"wrote {result.folder} in {result.seconds:.0f} s")
    print(result.message)
    return 0
