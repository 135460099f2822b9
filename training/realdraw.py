"""How well each model reads real pen drawings: the gap that MNIST accuracy hides.

A model at 99.5 % on MNIST can still misread what people draw: another stroke width, a digit
drawn small or in a corner, a European 1 or 7, a 4 in two strokes. This evaluation replays the
real pen trajectories of UCI pendigits (Alimoglu & Alpaydin 1998) through both of the server's
input paths and runs every stored model's model.tflite on them exactly as the server does
(app.inference):

- strokes: the trajectory, in tablet units, through app.preprocessing.strokes_to_mnist;
- image: the trajectory drawn on a browser-like canvas (training.canvas: random pad size, brush,
  digit size and position; dark ink on white, or any ink on a transparent background), encoded
  as PNG and read back by app.preprocessing.image_bytes_to_mnist.

The figure that matters is on held-out writers. The training writers are reported apart: a model
trained with them as extra data (robust-cnn) has seen those very digits.

    python -m training realdraw --pendigits path/to/pendigits-orig.tra [--update-cards]
    python -m training.realdraw --pendigits ... --limit 200     # quick look at 200 + 200 digits

Prints the accuracy table, per-class accuracy, and the default model's confusion matrices and
accuracy by writer for both writer groups (--default-model picks another), and writes the most
confident mistakes as PNG grids plus summary.json into --out. The full run
(7,494 digits, both paths, four models) takes under a minute on two cores. Expect on held-out
writers about 99 % for robust-cnn, 94 % for cnn-tutorial (MNIST alone) and 87-91 % for the MLPs,
the image path up to two points below the strokes path.
"""

import argparse
import json
import multiprocessing
import os
import shlex
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from app.inference import Model, ModelStoreError, card_value, load_model, model_folders
from app.preprocessing import (
    PREPROCESSING_VERSION,
    STROKE_WIDTH,
    image_bytes_to_mnist,
    strokes_to_mnist,
)
from app.settings import Settings
from training.canvas import RANDOM_STYLES, canvas_png, random_style
from training.card_file import CARD_FILE, read_card, write_card
from training.pendigits import (
    HELDOUT_WRITERS,
    TRAINING_WRITERS,
    PenDigit,
    PendigitsError,
    read_pendigits,
    writer_split,
)

PENDIGITS_ENV = "DIGITDRAW_PENDIGITS"
DATASET = "UCI pendigits (Alimoglu & Alpaydin 1998), pendigits-orig.tra"
SPLIT = (
    f"by the writer id on each digit's .COMMENT line: writers {TRAINING_WRITERS} = training "
    f"writers (4,996 digits), writers {HELDOUT_WRITERS} = held-out writers (2,498 digits)"
)
BRUSH = (
    f"strokes: app.preprocessing pen ({STROKE_WIDTH} px at 20x20); image: {RANDOM_STYLES}; "
    "PNG through app.preprocessing.image_bytes_to_mnist"
)
DEFAULT_OUT = Path("test-artifacts/realdraw")
DEFAULT_SEED = 0
DEFAULT_WORKERS = 2  # canvas rendering costs ~10 ms a digit; the machine has two cores
PATHS = ("strokes", "image")
PATH_HEADINGS = "".join(f"{p:>9}" for p in PATHS)  # over the columns of path_cells
GROUPS = ("heldout", "training_writers")
GROUP_TITLES = {"heldout": "held-out writers", "training_writers": "training writers"}
NUM_CLASSES = 10
WORST_COUNT = 48  # tiles in each worst-mistakes picture
TILE_SCALE = 4  # 28 px inputs shown at 112 px
CAPTION_HEIGHT = 30
COLUMN = 13  # width of one accuracy column in the printed table


@dataclass(frozen=True)
class Scores:
    """Accuracy of one model on one path and writer group."""

    n: int
    accuracy: float
    per_class: list[float | None]  # None for a class absent from the slice
    confusion: np.ndarray  # (10, 10) counts, rows = true digit, columns = predicted

    @classmethod
    def of(cls, labels: np.ndarray, probabilities: np.ndarray) -> "Scores":
        predicted = probabilities.argmax(axis=1)
        confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
        np.add.at(confusion, (labels, predicted), 1)
        totals = confusion.sum(axis=1)
        per_class = [
            float(confusion[k, k] / totals[k]) if totals[k] else None for k in range(NUM_CLASSES)
        ]
        accuracy = float(np.trace(confusion) / max(len(labels), 1))
        return cls(len(labels), accuracy, per_class, confusion)


@dataclass
class Slice:
    """One writer group: its digits (with their index in the file), labels and model inputs."""

    name: str
    indices: np.ndarray
    digits: list[PenDigit]
    labels: np.ndarray
    inputs: dict[str, np.ndarray]  # path -> (N, 28, 28) float32 in [0, 1], what a model sees


# --- data -------------------------------------------------------------------------------------


def strokes_input(digit: PenDigit) -> np.ndarray:
    """The model input the server makes from the digit's strokes (tablet units as they are)."""
    return strokes_to_mnist(list(digit.strokes))


def image_input(job: tuple[PenDigit, int, int]) -> np.ndarray:
    """The model input the server makes from the digit drawn on a canvas and sent as PNG.

    The canvas style depends only on the seed and the digit's place in the file, so a quick run
    with --limit draws each digit exactly as the full run does.
    """
    digit, seed, index = job
    style = random_style(np.random.default_rng([seed, index]))
    return image_bytes_to_mnist(canvas_png(digit.strokes, style))


def image_inputs(
    digits: Sequence[PenDigit], indices: np.ndarray, seed: int, workers: int
) -> np.ndarray:
    """Image-path inputs for many digits, rendered in `workers` processes."""
    jobs = [(digit, seed, int(index)) for digit, index in zip(digits, indices, strict=True)]
    if workers <= 1 or len(jobs) < 100:
        return np.stack([image_input(job) for job in jobs])
    with multiprocessing.Pool(workers) as pool:
        return np.stack(pool.map(image_input, jobs, chunksize=64))


def build_slices(path: Path, limit: int | None, seed: int, workers: int) -> list[Slice]:
    """Both writer groups (held-out first), each through both input paths."""
    digits = read_pendigits(path)
    place_in_file = {id(digit): index for index, digit in enumerate(digits)}
    training, heldout = writer_split(digits)
    groups = {"heldout": heldout, "training_writers": training}
    slices = []
    for name in GROUPS:
        chosen = groups[name][:limit] if limit else groups[name]
        indices = np.array([place_in_file[id(digit)] for digit in chosen], dtype=np.int64)
        inputs = {
            "strokes": np.stack([strokes_input(digit) for digit in chosen]),
            "image": image_inputs(chosen, indices, seed, workers),
        }
        labels = np.array([digit.label for digit in chosen], dtype=np.int64)
        slices.append(Slice(name, indices, chosen, labels, inputs))
    return slices


# --- models -----------------------------------------------------------------------------------


def model_paths(model_dir: Path, names: Sequence[str] | None) -> list[Path]:
    """Folders of the models to evaluate, checked before any slow work starts."""
    if not model_dir.is_dir():
        raise ValueError(f"Model folder {model_dir} does not exist; pass --model-dir.")
    folders = {folder.name: folder for folder in model_folders(model_dir)}
    missing = [name for name in names or () if name not in folders]
    if missing:
        raise ValueError(
            f"No model {', '.join(missing)} in {model_dir}; available: {', '.join(folders)}."
        )
    if not folders:
        raise ValueError(f"{model_dir} holds no models; train one with python -m training train.")
    return [folders[name] for name in names or folders]


def seen_pendigits(model: Model) -> bool:
    """Whether the model was trained with pendigits' training writers as extra data."""
    extra = card_value(model.card, "training", "extra_data")
    return isinstance(extra, str) and "pendigits" in extra.lower()


def predict_all(models: Sequence[Model], slices: Sequence[Slice]) -> dict[tuple, np.ndarray]:
    """Probabilities keyed by (model, group, path); the server's inputs are 0..255."""
    return {
        (model.name, part.name, path): model.predict(part.inputs[path] * 255.0)
        for model in models
        for part in slices
        for path in PATHS
    }


# --- report -----------------------------------------------------------------------------------


def percent(value: float | None) -> str:
    return "    -" if value is None else f"{100 * value:5.1f}"


def accuracy_table(models: Sequence[Model], slices: Sequence[Slice], scores: dict) -> str:
    """Model x (writer group x path) accuracy in %, with the MNIST test figure for contrast."""
    heads = [f"{GROUP_TITLES[s.name]} (n={len(s.labels)})" for s in slices]
    lines = [
        f"{'':32}" + "".join(f"{head:<{COLUMN * len(PATHS)}}" for head in heads),
        f"{'model':24}{'MNIST':>6}  " + "".join(f"{p:<{COLUMN}}" for _ in slices for p in PATHS),
    ]
    for model in models:
        mnist = card_value(model.card, "evaluation", "mnist_test", "accuracy")
        label = model.name + (" (*)" if seen_pendigits(model) else "")
        cells = "".join(
            f"{percent(scores[model.name, s.name, p].accuracy):<{COLUMN}}"
            for s in slices
            for p in PATHS
        )
        mnist_text = percent(mnist) if isinstance(mnist, float) else "    -"
        lines.append(f"{label:24}{mnist_text:>6}  {cells}")
    if any(seen_pendigits(model) for model in models):
        lines.append(
            "(*) trained with the training writers' digits as extra data: its training-writer "
            "figures are not a test."
        )
    return "\n".join(line.rstrip() for line in lines)


def per_class_table(models: Sequence[Model], group: str, scores: dict) -> str:
    """Per-digit accuracy in % for one writer group."""
    lines = [f"{'model':16}{'path':9}" + "".join(f"{k:>6}" for k in range(NUM_CLASSES))]
    for model in models:
        for path in PATHS:
            per_class = scores[model.name, group, path].per_class
            lines.append(
                f"{model.name:16}{path:9}" + "".join(f"{percent(v):>6}" for v in per_class)
            )
    return "\n".join(lines)


def confusion_table(confusion: np.ndarray) -> str:
    """Rows are the true digit, columns the model's answer."""
    lines = ["true\\read" + "".join(f"{k:>6}" for k in range(NUM_CLASSES))]
    for k, row in enumerate(confusion):
        lines.append(f"{k:>9}" + "".join(f"{int(v):>6}" for v in row))
    return "\n".join(lines)


def caption_font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=12)
    except ImportError:  # Pillow built without FreeType: the small bitmap font still reads
        return ImageFont.load_default()


def save_worst_mistakes(part: Slice, path: str, probabilities: np.ndarray, out: Path) -> int:
    """A grid of the most confident mistakes: the 28x28 input, true -> read, confidence, index.

    Returns how many mistakes there were in all.
    """
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    wrong = np.flatnonzero(predicted != part.labels)
    worst = wrong[np.argsort(-confidence[wrong], kind="stable")][:WORST_COUNT]
    side = 28 * TILE_SCALE
    columns = 8
    rows = max(1, -(-len(worst) // columns))
    sheet = Image.new("L", (columns * side, rows * (side + CAPTION_HEIGHT)), 40)
    pen, font = ImageDraw.Draw(sheet), caption_font()
    for tile, row in enumerate(worst):
        x, y = (tile % columns) * side, (tile // columns) * (side + CAPTION_HEIGHT)
        pixels = np.rint(part.inputs[path][row] * 255).astype(np.uint8)
        sheet.paste(Image.fromarray(pixels).resize((side, side), Image.Resampling.NEAREST), (x, y))
        caption = f"{part.labels[row]} read {predicted[row]} {confidence[row]:.0%}"
        pen.text((x + 3, y + side + 1), caption, fill=255, font=font)
        strokes = len(part.digits[row].strokes)
        pen.text(
            (x + 3, y + side + 15), f"#{part.indices[row]} {strokes} str.", fill=170, font=font
        )
    sheet.save(out, format="PNG")
    return len(wrong)


def path_cells(part: Slice, probabilities: dict[str, np.ndarray], mask: np.ndarray) -> str:
    """Accuracy (%) of the masked digits on each input path, one right-aligned cell a path."""
    return "".join(
        f"{percent(float((probabilities[p][mask].argmax(1) == part.labels[mask]).mean())):>9}"
        for p in PATHS
    )


def stroke_count_table(part: Slice, probabilities: dict[str, np.ndarray]) -> str:
    """Accuracy by number of pen strokes (a 4 or 5 drawn in two strokes, say)."""
    counts = np.array([min(len(digit.strokes), 3) for digit in part.digits])
    lines = [f"{'strokes':10}{'n':>6}{PATH_HEADINGS}"]
    for count in np.unique(counts):
        mask = counts == count
        cells = path_cells(part, probabilities, mask)
        lines.append(f"{str(count) + ('+' if count == 3 else ''):10}{mask.sum():>6}{cells}")
    return "\n".join(lines)


def per_writer_table(part: Slice, probabilities: dict[str, np.ndarray]) -> str:
    """Accuracy by writer, with each writer's commonest misreadings (strokes path): one writer's
    style (a 9 drawn like a 7, say) can be most of a model's mistakes."""
    writers = np.array([digit.writer for digit in part.digits])
    read = probabilities["strokes"].argmax(axis=1)
    lines = [f"{'writer':8}{'n':>6}{PATH_HEADINGS}  misread (strokes)"]
    for writer in np.unique(writers):
        mask = writers == writer
        wrong = mask & (read != part.labels)
        misreadings = Counter(zip(part.labels[wrong], read[wrong], strict=True))
        common = ", ".join(f"{t}->{r} x{n}" for (t, r), n in misreadings.most_common(3))
        lines.append(f"{writer:<8}{mask.sum():>6}{path_cells(part, probabilities, mask)}  {common}")
    return "\n".join(lines)


def style_table(part: Slice, probabilities: np.ndarray, seed: int) -> str:
    """Image-path accuracy by brush width, digit size and background: where the canvas hurts."""
    styles = [random_style(np.random.default_rng([seed, int(i)])) for i in part.indices]
    correct = probabilities.argmax(axis=1) == part.labels
    factors = {
        "brush % of pad": np.array([100 * s.brush / s.side for s in styles]),
        "height % of pad": np.array([100 * s.height_share for s in styles]),
        # What sets the stroke width once the digit is scaled to 20 px, before normalisation.
        "brush % of digit": np.array([100 * s.brush / (s.height_share * s.side) for s in styles]),
    }
    lines = []
    for title, values in factors.items():
        edges = np.quantile(values, [0, 1 / 3, 2 / 3, 1])
        bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, 2)
        cells = [
            f"{edges[b]:.1f}-{edges[b + 1]:.1f}: {percent(float(correct[bins == b].mean()))}"
            for b in range(3)
            if (bins == b).any()
        ]
        lines.append(f"{title:17}" + "   ".join(cells))
    transparent = np.array([s.background is None for s in styles])
    cells = [
        f"{name}: {percent(float(correct[mask].mean()))}"
        for name, mask in (("white", ~transparent), ("transparent", transparent))
        if mask.any()
    ]
    lines.append(f"{'background':17}" + "   ".join(cells))
    return "\n".join(lines)


# --- model cards --------------------------------------------------------------------------------


def group_figures(model: str, group: str, scores: dict) -> dict[str, Any]:
    strokes, image = (scores[model, group, path] for path in PATHS)
    return {
        "strokes": round(strokes.accuracy, 4),
        "image": round(image.accuracy, 4),
        "n": strokes.n,
        "per_class": {
            path: [None if v is None else round(v, 4) for v in scores[model, group, path].per_class]
            for path in PATHS
        },
    }


def real_drawings_entry(model: Model, scores: dict, command: str) -> dict[str, Any]:
    """The card's evaluation.real_drawings block."""
    return {
        "dataset": DATASET,
        "split": SPLIT,
        "heldout": group_figures(model.name, "heldout", scores),
        "training_writers": {
            **group_figures(model.name, "training_writers", scores),
            "seen_in_training": seen_pendigits(model),
        },
        "brush": BRUSH,
        "preprocessing_version": PREPROCESSING_VERSION,
        "command": command,
    }


def update_card(card_path: Path, entry: dict[str, Any]) -> None:
    """Set evaluation.real_drawings in a card.json and leave every other key as it was."""
    card = read_card(card_path.parent)
    card.setdefault("evaluation", {})["real_drawings"] = entry
    write_card(card, card_path.parent)


# --- command line -------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings = Settings()
    parser.add_argument(
        "--pendigits",
        type=Path,
        default=os.environ.get(PENDIGITS_ENV),
        help=f"UCI pendigits UNIPEN file pendigits-orig.tra (default: ${PENDIGITS_ENV})",
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=settings.model_dir,
        help="model store to evaluate (default: DIGITDRAW_MODEL_DIR or model_store/)",
    )
    parser.add_argument(
        "--models", help="comma-separated model names (default: every model in the store)"
    )
    parser.add_argument(
        "--limit",
        type=int,
        help="quick mode: only the first N digits of each writer group",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"seed of the random canvas styles (default {DEFAULT_SEED})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"folder for the worst-mistakes pictures and summary.json (default {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help=f"processes drawing canvases (default {DEFAULT_WORKERS})",
    )
    parser.add_argument(
        "--update-cards",
        action="store_true",
        help="write the figures into each model's card.json as evaluation.real_drawings "
        "(full runs only)",
    )
    parser.add_argument(
        "--default-model",
        default=settings.default_model,
        help="model whose confusion matrices and breakdowns are printed "
        f"(default {settings.default_model})",
    )


def add_realdraw_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `realdraw` on the training CLI; dispatch with run_realdraw(args)."""
    parser = subparsers.add_parser(
        "realdraw",
        help="accuracy on real pen drawings (UCI pendigits) through both input paths",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(handler=run_realdraw)
    return parser


def card_command(args: argparse.Namespace) -> str:
    """How to reproduce the card's figures (the data file by name, not a local path)."""
    parts = ["python", "-m", "training", "realdraw", "--pendigits", Path(args.pendigits).name]
    if args.seed != DEFAULT_SEED:
        parts += ["--seed", str(args.seed)]
    return shlex.join([*parts, "--update-cards"])


def check_arguments(args: argparse.Namespace) -> None:
    if args.pendigits is None:
        raise ValueError(f"Pass --pendigits path/to/pendigits-orig.tra or set {PENDIGITS_ENV}.")
    if args.limit is not None and args.limit < 1:
        raise ValueError("--limit must be a positive number of digits.")
    if args.update_cards and args.limit:
        raise ValueError("--update-cards records the full evaluation: drop --limit.")


def write(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def report(
    models: Sequence[Model],
    slices: Sequence[Slice],
    probabilities: dict,
    args: argparse.Namespace,
) -> dict:
    """Print the tables, save the pictures; return the scores keyed by (model, group, path)."""
    scores = {
        (model.name, part.name, path): Scores.of(
            part.labels, probabilities[model.name, part.name, path]
        )
        for model in models
        for part in slices
        for path in PATHS
    }
    write("Accuracy (%) on real pen drawings, UCI pendigits, through the server's input paths")
    write(accuracy_table(models, slices, scores))
    for part in slices:
        write(f"\nPer-class accuracy (%), {GROUP_TITLES[part.name]}")
        write(per_class_table(models, part.name, scores))
    names = [model.name for model in models]
    focus = args.default_model if args.default_model in names else names[0]
    heldout = slices[0]
    for part in slices:
        for path in PATHS:
            write(f"\nConfusion matrix, {focus}, {path} path, {GROUP_TITLES[part.name]}")
            write(confusion_table(scores[focus, part.name, path].confusion))
    focus_probabilities = {path: probabilities[focus, heldout.name, path] for path in PATHS}
    write(f"\nAccuracy (%) by number of strokes, {focus}, held-out writers")
    write(stroke_count_table(heldout, focus_probabilities))
    for part in slices:
        by_writer = {path: probabilities[focus, part.name, path] for path in PATHS}
        write(f"\nAccuracy (%) by writer, {focus}, {GROUP_TITLES[part.name]}")
        write(per_writer_table(part, by_writer))
    write(f"\nImage-path accuracy (%) by canvas style (terciles), {focus}, held-out writers")
    write(style_table(heldout, focus_probabilities["image"], args.seed))
    args.out.mkdir(parents=True, exist_ok=True)
    write(f"\nMost confident mistakes on held-out writers (28x28 model inputs) in {args.out}:")
    for model in models:
        for path in PATHS:
            picture = args.out / f"worst-{model.name}-{path}.png"
            count = save_worst_mistakes(
                heldout, path, probabilities[model.name, heldout.name, path], picture
            )
            write(f"  {picture.name}: {min(count, WORST_COUNT)} of {count} mistakes")
    return scores


def summary(models: Iterable[Model], scores: dict, command: str) -> dict[str, Any]:
    return {model.name: real_drawings_entry(model, scores, command) for model in models}


def run_realdraw(args: argparse.Namespace) -> int:
    """Evaluate, report, and optionally record the figures in the model cards."""
    started = time.perf_counter()
    try:
        check_arguments(args)
        names = [name.strip() for name in args.models.split(",")] if args.models else None
        folders = model_paths(Path(args.model_dir), names)
        slices = build_slices(Path(args.pendigits), args.limit, args.seed, args.workers)
        # Models load after the canvas workers are gone: never fork a process that runs LiteRT.
        models = [load_model(folder) for folder in folders]
    except (ValueError, PendigitsError, ModelStoreError) as error:
        sys.stderr.write(f"realdraw: {error}\n")
        return 2
    prepared = time.perf_counter()
    probabilities = predict_all(models, slices)
    scores = report(models, slices, probabilities, args)
    command = card_command(args)
    entries = summary(models, scores, command)
    (args.out / "summary.json").write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    if args.update_cards:
        for model in models:
            update_card(Path(args.model_dir) / model.name / CARD_FILE, entries[model.name])
        write(f"\nUpdated evaluation.real_drawings in {len(models)} card(s).")
    digits = sum(len(part.labels) for part in slices)
    write(
        f"\n{digits} digits x {len(PATHS)} paths x {len(models)} model(s): inputs "
        f"{prepared - started:.0f} s, inference and report {time.perf_counter() - prepared:.0f} s"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.realdraw",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    return run_realdraw(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
