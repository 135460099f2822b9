"""How well whole numbers are read: numbers written from real pen digits, through POST
/predict/number's own splitting (app.numbers) and model.

Each number is 2 to 6 digits of one held-out UCI pendigits writer (21-30), placed side by side
as a person would write them: each digit its own size (0.8-1.25 of the number's height), its
own baseline (up to 10% of the height off), and a gap to the next one of a chosen kind:

- clear: 15-80% of the height between the digits' inked boxes;
- close: 0-15% of the height between them, nearly touching;
- touching: the next digit moved left until its ink meets the previous one's in some row, and
  up to a third of a brush width further, so that their ink is joined.

Each number has its brush, 5-18% of its height (the page's brush is 5% of the pad's height, and
people write numbers from a third of the pad's height to all of it); gaps are measured between
the inked shapes, so pen paths are a brush width further apart than the gap.

The strokes are shuffled (digits are grouped by place, never by stroke order) and read through
the strokes path; the same number is drawn on a wide canvas (like the page's number mode: white
or transparent background, brush 3-8% of the pad's height) and read through the image path.

    python -m training numbers-eval --pendigits path/to/pendigits-orig.tra [--count 1000]

A number is right when every digit is read and nothing else; per-digit accuracy counts a digit
right when the number split into the right count of digits and that digit was read right.
"""

import argparse
import io
import multiprocessing
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from app.errors import InputError
from app.inference import Model, ModelStoreError, load_model
from app.numbers import answer, images, strokes
from app.numbers.splitter import splitter_in
from app.settings import Settings
from training.canvas import TRANSPARENT_SHARE, WHITE, random_colour, stroke_coverage
from training.card_file import read_card, write_card
from training.pendigits import PenDigit, PendigitsError, read_pendigits, writer_split

PENDIGITS_ENV = "DIGITDRAW_PENDIGITS"
SPACINGS = ("clear", "close", "touching")
PATHS = ("strokes", "image")
DIGITS_RANGE = (2, 6)  # digits in a number, both ends included
SIZE_RANGE = (0.8, 1.25)  # each digit's height over the number's
BASELINE_JITTER = 0.1  # each digit's bottom moves up or down by up to this share of the height
GAPS = {"clear": (0.15, 0.8), "close": (0.0, 0.15)}  # box gap over the height
TOUCH_OVERLAP = (0.0, 0.33)  # how far past first contact a touching digit is pushed, in brushes
BRUSH_HEIGHT_SHARE = (0.05, 0.18)  # the brush's width over the number's height
HEIGHT = 100.0  # the number's height in stroke units
TOUCH_ROWS = 40  # rows in which pen paths are compared when digits are pushed together
PAD_HEIGHTS = (200, 360)  # wide pad's height in pixels
INK_HEIGHT_SHARE = (0.35, 0.75)  # the number's height over the pad's
DEFAULT_COUNT = 500  # numbers per spacing
DEFAULT_SEED = 0
DEFAULT_WORKERS = 2
TARGETS = {"clear": 0.97, "touching": 0.90}  # share of numbers entirely right (issue 13)


@dataclass(frozen=True)
class WrittenNumber:
    """A number written from pen digits: its text and strokes (in writing order, shuffled)."""

    text: str
    strokes: tuple[np.ndarray, ...]
    spacing: str
    brush: float  # the brush's width in stroke units
    owners: tuple[int, ...] = ()  # which digit (0 = leftmost) each stroke is part of
    writer: int = 0  # the pendigits writer of every digit


def dense(points: np.ndarray, step: float) -> np.ndarray:
    """The polyline with a point at least every `step` units (a stroke's path, not its corners)."""
    if len(points) < 2:
        return points
    pieces = [points[:1]]
    for start, end in zip(points[:-1], points[1:], strict=True):
        count = max(1, int(np.ceil(np.hypot(*(end - start)) / step)))
        fractions = np.arange(1, count + 1)[:, None] / count
        pieces.append(start + (end - start) * fractions)
    return np.concatenate(pieces)


def row_extremes(strokes: Sequence[np.ndarray], low: float, row: float, side: str) -> dict:
    """Per row of height `row` from `low`: the rightmost (or leftmost) x of the pen path."""
    path = np.concatenate([dense(s, row / 2) for s in strokes])
    rows = np.floor((path[:, 1] - low) / row).astype(int)
    extremes: dict[int, float] = {}
    pick = max if side == "right" else min
    for key, x in zip(rows.tolist(), path[:, 0].tolist(), strict=True):
        extremes[key] = pick(extremes.get(key, x), x)
    return extremes


def write_number(
    digits: Sequence[PenDigit], spacing: str, rng: np.random.Generator
) -> WrittenNumber:
    """Place the digits side by side (see the module's description) and shuffle the strokes."""
    placed: list[list[np.ndarray]] = []
    right_edge = 0.0
    brush = rng.uniform(*BRUSH_HEIGHT_SHARE) * HEIGHT
    for digit in digits:
        points = np.concatenate(digit.strokes)
        low, high = points.min(axis=0), points.max(axis=0)
        height = HEIGHT * rng.uniform(*SIZE_RANGE)
        scale = height / max(float(high[1] - low[1]), 1.0)
        bottom = HEIGHT * (1 + rng.uniform(-BASELINE_JITTER, BASELINE_JITTER))
        strokes = [(s - low) * scale + [0.0, bottom - height] for s in digit.strokes]
        if not placed:
            shift = 0.0
        elif spacing == "touching":
            contact = touching_shift(placed[-1], strokes)
            shift = contact + brush * (1 - rng.uniform(*TOUCH_OVERLAP))
        else:
            shift = right_edge + brush + rng.uniform(*GAPS[spacing]) * HEIGHT
        strokes = [s + [shift, 0.0] for s in strokes]
        right_edge = max(float(s[:, 0].max()) for s in strokes)
        placed.append(strokes)
    every = [s for strokes in placed for s in strokes]
    owners = [place for place, strokes in enumerate(placed) for _ in strokes]
    order = rng.permutation(len(every))
    text = "".join(str(digit.label) for digit in digits)
    return WrittenNumber(
        text,
        tuple(every[i] for i in order),
        spacing,
        brush,
        tuple(owners[i] for i in order),
        digits[0].writer,
    )


def touching_shift(previous: list[np.ndarray], strokes: list[np.ndarray]) -> float:
    """The x shift at which the new digit's pen path first meets the previous one's in a row."""
    row = HEIGHT / TOUCH_ROWS
    right = row_extremes(previous, 0.0, row, "right")
    left = row_extremes(strokes, 0.0, row, "left")
    shared = set(right) & set(left)
    if not shared:  # no row in common (baselines far apart): boxes side by side
        return max(float(s[:, 0].max()) for s in previous)
    return max(right[key] - left[key] for key in shared)


@dataclass(frozen=True)
class PadLayout:
    """Where a number lands on the wide pad: the pad's size, the brush and the strokes in pixels."""

    size: tuple[int, int]  # width, height
    brush: float
    strokes: list[np.ndarray]


def pad_layout(number: WrittenNumber, rng: np.random.Generator) -> PadLayout:
    """The number's size and place on a wide pad, drawn from `rng`."""
    pad_height = int(rng.integers(PAD_HEIGHTS[0], PAD_HEIGHTS[1] + 1))
    points = np.concatenate(number.strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    path_height = max(float(high[1] - low[1]), 1.0)
    # Ink height = path height + brush, in pixels: the share of the pad the number takes.
    scale = rng.uniform(*INK_HEIGHT_SHARE) * pad_height / (path_height + number.brush)
    brush = number.brush * scale
    ink_width = float(high[0] - low[0]) * scale
    margin = brush + 4
    width = int(np.ceil(ink_width + 2 * margin + rng.uniform(0, 0.5) * pad_height))
    start = np.array(
        [
            margin + rng.uniform(0, max(width - ink_width - 2 * margin, 0)),
            margin + rng.uniform(0, max(pad_height - (high[1] - low[1]) * scale - 2 * margin, 0)),
        ]
    )
    on_pad = [start + (s - low) * scale for s in number.strokes]
    return PadLayout((width, pad_height), brush, on_pad)


def draw_number(number: WrittenNumber, seed: int, index: int) -> bytes:
    """The number drawn on a wide canvas as the page exports it: PNG bytes."""
    rng = np.random.default_rng([seed, index, 1])
    layout = pad_layout(number, rng)
    width, pad_height = size = layout.size
    coverage = stroke_coverage(layout.strokes, width, layout.brush, pad_height)
    transparent = bool(rng.random() < TRANSPARENT_SHARE)
    colour = random_colour(rng, light=transparent and bool(rng.random() < 0.5))
    ink = Image.new("RGBA", size, (*colour, 255))
    if transparent:
        ink.putalpha(coverage)
        picture = Image.composite(
            ink, Image.new("RGBA", size, (0, 0, 0, 0)), coverage.point(lambda v: 255 if v else 0)
        )
    else:
        picture = Image.composite(ink, Image.new("RGBA", size, (*WHITE, 255)), coverage)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def digit_coverages(number: WrittenNumber, seed: int, index: int) -> np.ndarray:
    """(digits, height, width) float 0..1: each digit's own ink where draw_number puts it."""
    layout = pad_layout(number, np.random.default_rng([seed, index, 1]))
    width, height = layout.size
    coverages = []
    for place in range(max(number.owners) + 1):
        own = [s for s, owner in zip(layout.strokes, number.owners, strict=True) if owner == place]
        coverage = stroke_coverage(own, width, layout.brush, height)
        coverages.append(np.asarray(coverage, dtype=np.float32) / 255.0)
    return np.stack(coverages)


def widened(number: WrittenNumber, stretch: float) -> WrittenNumber:
    """The number `stretch` times as wide, its height kept (gaps widen with the digits)."""
    if stretch == 1.0:
        return number
    strokes = tuple(points * [stretch, 1.0] for points in number.strokes)
    return replace(number, strokes=strokes)


def written_numbers(
    heldout: Sequence[PenDigit], spacing: str, count: int, seed: int
) -> list[WrittenNumber]:
    """`count` numbers, each from one writer's digits, reproducible from the seed."""
    rng = np.random.default_rng([seed, SPACINGS.index(spacing)])
    by_writer: dict[int, list[PenDigit]] = {}
    for digit in heldout:
        by_writer.setdefault(digit.writer, []).append(digit)
    writers = sorted(by_writer)
    result = []
    for _ in range(count):
        pool = by_writer[writers[int(rng.integers(len(writers)))]]
        length = int(rng.integers(DIGITS_RANGE[0], DIGITS_RANGE[1] + 1))
        chosen = [pool[int(i)] for i in rng.choice(len(pool), length, replace=False)]
        result.append(write_number(chosen, spacing, rng))
    return result


# --- reading --------------------------------------------------------------------------------


def read(model: Model, model_dir: Path, number: WrittenNumber, png: bytes | None) -> str:
    """What /predict/number answers for the number (its strokes, or its picture)."""
    judge = answer.model_judge(model, model_dir)
    try:
        if png is None:
            parts = strokes.stroke_parts(list(number.strokes), judge)
        else:
            parts = images.image_parts(png, judge, splitter_in(model_dir))
    except InputError as error:
        return f"<{error.code}>"
    return "".join(str(digit["digit"]) for digit in answer.read_digits(parts, model, model_dir))


@dataclass
class Tally:
    """Numbers and digits read right for one model, spacing and path."""

    by_writer: dict[int, list[int]] = field(default_factory=dict)  # writer -> [numbers, right]
    digits: int = 0
    digits_right: int = 0
    count_right: int = 0

    @property
    def numbers(self) -> int:
        return sum(numbers for numbers, _ in self.by_writer.values())

    @property
    def numbers_right(self) -> int:
        return sum(right for _, right in self.by_writer.values())

    def add(self, truth: str, answer: str, writer: int = 0) -> None:
        numbers_and_right = self.by_writer.setdefault(writer, [0, 0])
        numbers_and_right[0] += 1
        numbers_and_right[1] += answer == truth
        self.digits += len(truth)
        if len(answer) == len(truth):
            self.count_right += 1
            self.digits_right += sum(a == b for a, b in zip(answer, truth, strict=True))

    def figures(self) -> dict[str, float | int]:
        return {
            "n": self.numbers,
            "numbers_right": round(self.numbers_right / max(self.numbers, 1), 4),
            "digit_count_right": round(self.count_right / max(self.numbers, 1), 4),
            "digits_right": round(self.digits_right / max(self.digits, 1), 4),
        }


def draw_job(job: tuple[WrittenNumber, int, int]) -> bytes:
    return draw_number(*job)


def evaluate(
    models: Sequence[Model],
    heldout: Sequence[PenDigit],
    count: int,
    seed: int,
    workers: int = 1,
    spacings: Sequence[str] = SPACINGS,
    mistakes: list | None = None,
    model_dir: Path | None = None,
    stretch: float = 1.0,
) -> dict[tuple[str, str, str], Tally]:
    """Tallies keyed by (model, spacing, path); `model_dir` holds the digit detector (default:
    the server's model store); `stretch` widens every number (people who write wide digits)."""
    model_dir = Settings().model_dir if model_dir is None else model_dir
    tallies: dict[tuple[str, str, str], Tally] = {}
    for spacing in spacings:
        written = [widened(n, stretch) for n in written_numbers(heldout, spacing, count, seed)]
        jobs = [(number, seed, index) for index, number in enumerate(written)]
        if workers > 1 and len(jobs) >= 50:
            with multiprocessing.get_context("spawn").Pool(workers) as pool:
                pictures = pool.map(draw_job, jobs, chunksize=16)
        else:
            pictures = [draw_job(job) for job in jobs]
        for model in models:
            for path in PATHS:
                tally = tallies.setdefault((model.name, spacing, path), Tally())
                for number, png in zip(written, pictures, strict=True):
                    answer = read(model, model_dir, number, None if path == "strokes" else png)
                    tally.add(number.text, answer, number.writer)
                    if mistakes is not None and answer != number.text:
                        mistakes.append(
                            (model.name, spacing, path, number.text, answer, number.writer)
                        )
    return tallies


# --- command line ------------------------------------------------------------------------------


def add_numbers_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `numbers-eval` on the training CLI; dispatch with run_numbers_eval(args)."""
    settings = Settings()
    parser = subparsers.add_parser(
        "numbers-eval",
        help="accuracy on whole numbers written from real pen digits (POST /predict/number)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--pendigits",
        type=Path,
        default=os.environ.get(PENDIGITS_ENV),
        help=f"UCI pendigits UNIPEN file pendigits-orig.tra (default: ${PENDIGITS_ENV})",
    )
    parser.add_argument("--model-dir", type=Path, default=settings.model_dir)
    parser.add_argument(
        "--models", default=settings.default_model, help="comma-separated model names"
    )
    parser.add_argument(
        "--count", type=int, default=DEFAULT_COUNT, help="numbers per kind of spacing"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument(
        "--writers",
        choices=("heldout", "training"),
        default="heldout",
        help="heldout (21-30, the figures) or training (1-20, for tuning app.numbers' costs)",
    )
    parser.add_argument("--spacings", default=",".join(SPACINGS), help="comma-separated")
    parser.add_argument(
        "--stretch",
        type=float,
        default=1.0,
        help="write every number this many times wider (wide handwriting; for tuning)",
    )
    parser.add_argument("--show-mistakes", type=int, default=0, help="print up to N mistakes")
    parser.add_argument(
        "--by-writer", action="store_true", help="print the numbers right of each writer"
    )
    parser.add_argument(
        "--update-cards", action="store_true", help="store the figures in each model's card"
    )
    parser.set_defaults(handler=run_numbers_eval)
    return parser


def run_numbers_eval(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        if args.pendigits is None:
            raise ValueError(f"Pass --pendigits path/to/pendigits-orig.tra or set {PENDIGITS_ENV}.")
        training, heldout = writer_split(read_pendigits(args.pendigits))
        if args.writers == "training":
            heldout = training
        names = [name.strip() for name in args.models.split(",")]
        models = [load_model(Path(args.model_dir) / name) for name in names]
    except (ValueError, PendigitsError, ModelStoreError) as error:
        sys.stderr.write(f"numbers-eval: {error}\n")
        return 2
    mistakes: list = []
    spacings = [name.strip() for name in args.spacings.split(",")]
    tallies = evaluate(
        models,
        heldout,
        args.count,
        args.seed,
        args.workers,
        spacings,
        mistakes=mistakes,
        model_dir=Path(args.model_dir),
        stretch=args.stretch,
    )
    out = sys.stdout
    out.write(
        f"Whole numbers from pendigits {args.writers} writers, {args.count} numbers per spacing, "
        f"2-6 digits, seed {args.seed}\n"
    )
    out.write(f"{'model':14}{'spacing':10}{'path':9}{'numbers':>9}{'count':>8}{'digits':>8}\n")
    for (model, spacing, path), tally in tallies.items():
        figures = tally.figures()
        out.write(
            f"{model:14}{spacing:10}{path:9}{100 * figures['numbers_right']:8.1f}%"
            f"{100 * figures['digit_count_right']:7.1f}%{100 * figures['digits_right']:7.1f}%\n"
        )
    for mistake in mistakes[: args.show_mistakes]:
        out.write("  {} {} {}: {} read {} (writer {})\n".format(*mistake))
    if args.by_writer:
        out.write(writer_table(tallies))
    if args.update_cards:
        if args.writers != "heldout" or args.stretch != 1.0:
            sys.stderr.write(
                "numbers-eval: cards hold the held-out figures only (--writers heldout, "
                "no --stretch)\n"
            )
            return 2
        update_cards(Path(args.model_dir), tallies, args)
    out.write(f"({time.perf_counter() - started:.0f} s)\n")
    return 0


def writer_table(tallies: dict[tuple[str, str, str], Tally]) -> str:
    """Numbers entirely right per writer (rows) for each spacing and path (columns), one block
    per model: one writer's style can hold a whole figure back."""
    blocks = []
    for model in dict.fromkeys(key[0] for key in tallies):
        columns = [key for key in tallies if key[0] == model]
        writers = sorted({writer for key in columns for writer in tallies[key].by_writer})
        lines = [f"Numbers entirely right by writer, {model}"]
        lines.append(f"{'writer':8}" + "".join(f"{' '.join(key[1:]):>18}" for key in columns))
        for writer in writers:
            cells = [tallies[key].by_writer.get(writer, [0, 0]) for key in columns]
            lines.append(
                f"{writer:<8}" + "".join(f"{f'{right}/{numbers}':>18}" for numbers, right in cells)
            )
        blocks.append("\n".join(lines) + "\n")
    return "".join(blocks)


def update_cards(model_dir: Path, tallies: dict[tuple[str, str, str], Tally], args) -> None:
    """The figures into each model's card, evaluation.numbers (shown by its report page)."""
    results: dict[str, dict[str, dict[str, dict]]] = {}
    for (model, spacing, path), tally in tallies.items():
        results.setdefault(model, {}).setdefault(spacing, {})[path] = tally.figures()
    for model, figures in results.items():
        card = read_card(model_dir / model)
        card.setdefault("evaluation", {})["numbers"] = {
            "data": f"pendigits writers 21-30, {args.count} numbers per spacing, 2-6 digits, "
            f"seed {args.seed} (training.numbers)",
            "results": figures,
            "command": "python -m training numbers-eval --pendigits pendigits-orig.tra "
            f"--count {args.count} --models {args.models} --update-cards",
        }
        write_card(card, model_dir / model)
