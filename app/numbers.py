"""Read a whole number: split a drawing into its digits, each prepared exactly as /predict does.

People write a number as a row of digits, but not one stroke per digit and not in order: a 4 or a
7 in two strokes, a 7's crossbar added last, a 5's flag added after the next digit. So pieces
(strokes, or an image's connected blobs of ink) are grouped by where they are, never by when they
were drawn: pieces whose horizontal extents overlap belong to one digit. Where the overlap is
neither clearly large nor clearly small, the model decides: the two pieces stay apart only if
the model is more sure of them apart than of them together. An image blob far wider than a digit
(neighbouring digits that touch) is cut at the column of least ink, again keeping a cut only when
the model reads both sides more surely than the whole.

Each digit then becomes a 28x28 through app.preprocessing (strokes_to_mnist, ink_to_mnist), the
one home of MNIST preparation, and every digit goes through the model in one batch.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from app import preprocessing
from app.errors import EmptyInput, InputError
from app.inference import Model

MAX_DIGITS = 12  # most digits in one number: a phone number, a year, a sum; more is a drawing
# Pieces whose horizontal extents overlap by at least this share of the narrower one are one
# digit without asking the model; below MAYBE_SAME_DIGIT they are surely apart.
SAME_DIGIT = 0.7
MAYBE_SAME_DIGIT = 0.1
# A piece narrower than this share of its height (a 1, a 7's stem) counts as this wide, centred
# on itself, when overlaps are measured: a vertical line has no width to overlap with.
MIN_WIDTH_SHARE = 0.3
# At most this many "together or apart?" questions to the model per drawing; the rest are settled
# by the overlap alone (a scribble of 100 strokes must not cost 100 squared model calls).
MAX_QUESTIONS = 48
# A group of pieces smaller than this share of the tallest group, both ways, is a speck (a stray
# tap, paper grain), not a digit.
SPECK_SHARE = 0.12
# A blob wider than this share of its height may be several touching digits: 99% of the single
# digits of UCI pendigits' held-out writers are narrower than 1.3 times their height.
SPLIT_ASPECT = 0.95
CUT_RANGE = (0.15, 0.85)  # where a cut may fall, as shares of the blob's width
MAX_CUTS = 5  # candidate cuts tried per blob, the columns of least ink
MIN_CUT_GAP = 0.08  # candidate cuts at least this share of the width apart
MIN_PART_WIDTH_SHARE = 0.12  # a cut leaves at least this share of the height on each side
# Large images are read at most this many pixels: each digit ends as 20x20 anyway.
WORK_PIXELS = 1_500_000
DUST_SHARE = SPECK_SHARE / 2  # blobs smaller than this share of the tallest are not looked at
MAX_BLOBS = 100
HALO = 1  # pixels of faint anti-aliased edge kept around each blob's own pixels

Box = tuple[float, float, float, float]  # left, top, right, bottom in the input's own units
# The model's confidence (highest probability) for each of several candidate digit images.
Judge = Callable[[list[np.ndarray]], np.ndarray]


class TooManyDigits(InputError):
    """More digits than a number may have."""

    code = "too_many_digits"
    status = 422


@dataclass(frozen=True)
class DigitPart:
    """One digit of the number: its box in the input's units and the 28x28 the model sees."""

    box: Box
    image: np.ndarray


# --- grouping pieces by horizontal overlap -----------------------------------------------------


def union_box(boxes: Sequence[Box]) -> Box:
    lefts, tops, rights, bottoms = zip(*boxes, strict=True)
    return min(lefts), min(tops), max(rights), max(bottoms)


def overlap_span(box: Box) -> tuple[float, float, float]:
    """(start, end, width) of a box left to right, a narrow box widened about its centre."""
    left, top, right, bottom = box
    width = max(right - left, MIN_WIDTH_SHARE * (bottom - top), 1e-9)
    centre = (left + right) / 2
    return centre - width / 2, centre + width / 2, width


def overlap_shares(spans: np.ndarray) -> np.ndarray:
    """(n, n): how much each two spans overlap, as a share of the narrower one (0 to 1)."""
    start, end, width = spans[:, 0], spans[:, 1], spans[:, 2]
    overlap = np.minimum(end[:, None], end[None, :]) - np.maximum(start[:, None], start[None, :])
    return np.maximum(overlap, 0.0) / np.minimum(width[:, None], width[None, :])


def group_pieces(
    boxes: Sequence[Box], render: Callable[[list[int]], np.ndarray], judge: Judge
) -> list[list[int]]:
    """Indices of the pieces in each digit, by horizontal overlap, the model settling doubts.

    `render` draws a set of pieces as a 28x28 model input; `judge` gives the model's confidence
    for a list of them. Pairs are taken from the most overlapping down, so a 5's flag joins its
    own 5 before it could be weighed against the next digit.
    """
    groups = [[index] for index in range(len(boxes))]
    spans = np.array([overlap_span(box) for box in boxes], dtype=np.float64).reshape(-1, 3)
    apart = np.zeros((len(groups), len(groups)), dtype=bool)
    questions = 0
    while len(groups) > 1:
        shares = overlap_shares(spans)
        shares[apart] = 0.0
        np.fill_diagonal(shares, 0.0)
        i, j = np.unravel_index(int(np.argmax(shares)), shares.shape)
        share = float(shares[i, j])
        if share < MAYBE_SAME_DIGIT:
            break
        i, j = min(i, j), max(i, j)
        together = groups[i] + groups[j]
        if share < SAME_DIGIT and questions < MAX_QUESTIONS:
            questions += 1
            first, second, both = judge([render(groups[i]), render(groups[j]), render(together)])
            if first * second > both:
                apart[i, j] = apart[j, i] = True
                continue
        groups[i] = together
        spans[i] = overlap_span(union_box([boxes[k] for k in together]))
        apart[i] = apart[:, i] = False  # a new group: its questions are new
        del groups[j]
        spans = np.delete(spans, j, axis=0)
        apart = np.delete(np.delete(apart, j, axis=0), j, axis=1)
    return groups


def without_specks(groups: list[list[int]], boxes: Sequence[Box]) -> list[list[int]]:
    """The groups without tiny ones (a stray tap), unless that would leave nothing."""
    extents = [union_box([boxes[i] for i in group]) for group in groups]
    tallest = max(bottom - top for _, top, _, bottom in extents)
    kept = [
        group
        for group, (left, top, right, bottom) in zip(groups, extents, strict=True)
        if max(right - left, bottom - top) > SPECK_SHARE * tallest
    ]
    return kept or groups


def check_count(count: int) -> None:
    if count > MAX_DIGITS:
        raise TooManyDigits(
            f"The drawing splits into {count} digits; a number may have at most {MAX_DIGITS}. "
            "Write fewer digits, or leave clear gaps only between digits."
        )


def left_to_right(parts: list[DigitPart]) -> list[DigitPart]:
    return sorted(parts, key=lambda part: part.box[0] + part.box[2])


# --- strokes ------------------------------------------------------------------------------------


def stroke_parts(
    strokes: object, judge: Judge, max_strokes: int = 100, max_points: int = 10_000
) -> list[DigitPart]:
    """The digits of a number drawn as strokes, left to right."""
    arrays = preprocessing.validate_strokes(strokes, max_strokes, max_points)
    if not arrays:
        raise EmptyInput("The drawing has no points: write a number, then send the strokes.")
    boxes: list[Box] = [(*points.min(axis=0), *points.max(axis=0)) for points in arrays]

    def render(members: list[int]) -> np.ndarray:
        return preprocessing.strokes_to_mnist([arrays[i] for i in members])

    groups = without_specks(group_pieces(boxes, render, judge), boxes)
    check_count(len(groups))
    parts = [
        DigitPart(
            tuple(float(v) for v in union_box([boxes[i] for i in group])),  # type: ignore[arg-type]
            render(group),
        )
        for group in groups
    ]
    return left_to_right(parts)


# --- images -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Blobs:
    """An ink map's connected blobs: a label per pixel (0 = none) and each blob's box."""

    labels: np.ndarray  # int32, same shape as the ink
    boxes: list[Box]  # blob k+1's (left, top, right, bottom), right and bottom exclusive


def connected_blobs(mask: np.ndarray) -> Blobs:
    """8-connected components of a boolean mask, by runs of ink along each row (no SciPy)."""
    height, width = mask.shape
    framed = np.zeros((height, width + 2), dtype=np.int8)
    framed[:, 1:-1] = mask
    steps = np.diff(framed, axis=1)
    rows, starts = np.nonzero(steps == 1)
    ends = np.nonzero(steps == -1)[1]  # same rows, same order: every run starts and ends
    parent = list(range(len(rows)))

    def root(run: int) -> int:
        while parent[run] != run:
            parent[run] = parent[parent[run]]
            run = parent[run]
        return run

    row_starts = np.searchsorted(rows, np.arange(height + 1))
    for row in range(1, height):
        above, above_end = int(row_starts[row - 1]), int(row_starts[row])
        here, here_end = above_end, int(row_starts[row + 1])
        while above < above_end and here < here_end:
            # Runs touch, diagonals included, when each starts no later than the other ends.
            if starts[here] <= ends[above] and starts[above] <= ends[here]:
                a, b = root(above), root(here)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            if ends[above] < ends[here]:
                above += 1
            else:
                here += 1
    roots = np.array([root(run) for run in range(len(rows))], dtype=np.int64)
    unique, run_labels = np.unique(roots, return_inverse=True)
    labels = np.zeros((height, width), dtype=np.int32)
    boxes = []
    for label in range(len(unique)):
        members = np.flatnonzero(run_labels == label)
        for run in members:
            labels[rows[run], starts[run] : ends[run]] = label + 1
        boxes.append(
            (
                float(starts[members].min()),
                float(rows[members].min()),
                float(ends[members].max()),
                float(rows[members].max() + 1),
            )
        )
    return Blobs(labels, boxes)


def main_blobs(boxes: list[Box]) -> list[int]:
    """The blobs worth grouping: not the dust of a photo (a blob far smaller than the tallest),
    and at most MAX_BLOBS of them, the tallest, so that grouping stays cheap."""
    tallest = max(bottom - top for _, top, _, bottom in boxes)
    sizes = [max(right - left, bottom - top) for left, top, right, bottom in boxes]
    kept = [i for i, size in enumerate(sizes) if size > DUST_SHARE * tallest]
    return sorted(sorted(kept, key=lambda i: -sizes[i])[:MAX_BLOBS])


class InkParts:
    """Cut-outs of one ink map: a set of blobs, optionally only some of their columns."""

    def __init__(self, ink: np.ndarray, blobs: Blobs) -> None:
        self.ink = ink
        self.blobs = blobs

    def outer_box(
        self, members: list[int], columns: tuple[int, int] | None
    ) -> tuple[int, int, int, int]:
        """The blobs' joint box in pixels, narrowed to the columns when given."""
        box = union_box([self.blobs.boxes[i] for i in members])
        left, top, right, bottom = (int(v) for v in box)
        if columns is not None:
            left, right = max(left, columns[0]), min(right, columns[1])
        return left, top, right, bottom

    def cut_out(self, members: list[int], columns: tuple[int, int] | None = None) -> np.ndarray:
        """The ink of these blobs (with their faint edge) inside their box, other ink removed."""
        left, top, right, bottom = self.outer_box(members, columns)
        top, left = max(top - HALO, 0), max(left - HALO, 0)
        bottom, right = bottom + HALO, right + HALO
        labels = self.blobs.labels[top:bottom, left:right]
        own = np.isin(labels, np.asarray(members) + 1).astype(np.uint8)
        if HALO:
            own = preprocessing.square_filter(own, HALO, np.maximum)
        piece = self.ink[top:bottom, left:right] * own
        if columns is not None:  # the halo must not reach over the cut
            piece[:, : max(columns[0] - left, 0)] = 0
            piece[:, max(columns[1] - left, 0) :] = 0
        return piece

    def box_of(self, members: list[int], columns: tuple[int, int] | None = None) -> Box:
        """The tight box of the part's own pixels."""
        left, top, right, bottom = self.outer_box(members, columns)
        own = np.isin(self.blobs.labels[top:bottom, left:right], np.asarray(members) + 1)
        rows, cols = np.flatnonzero(own.any(axis=1)), np.flatnonzero(own.any(axis=0))
        return (left + cols[0], top + rows[0], left + cols[-1] + 1, top + rows[-1] + 1)

    def model_input(self, members: list[int], columns: tuple[int, int] | None = None) -> np.ndarray:
        return preprocessing.ink_to_mnist(self.cut_out(members, columns))


def column_cuts(piece: np.ndarray, left: int, height: int) -> list[int]:
    """Up to MAX_CUTS columns (in the ink map's units) with the least ink, spread apart."""
    profile = piece.astype(np.float64).sum(axis=0)
    profile = np.convolve(profile, np.ones(3) / 3, mode="same")  # one-pixel noise is not a gap
    width = len(profile)
    low, high = int(width * CUT_RANGE[0]), int(math.ceil(width * CUT_RANGE[1]))
    margin = int(MIN_PART_WIDTH_SHARE * height)
    low, high = max(low, margin, 1), min(high, width - margin - 1)
    chosen: list[int] = []
    for column in np.argsort(profile[low:high], kind="stable") + low:
        if all(abs(column - other) >= MIN_CUT_GAP * width for other in chosen):
            chosen.append(int(column))
            if len(chosen) == MAX_CUTS:
                break
    return [left + column for column in chosen]


def split_touching(
    parts: InkParts, members: list[int], columns: tuple[int, int], judge: Judge, depth: int = 0
) -> list[tuple[int, int]]:
    """Column ranges of the digits in one group of blobs: cut while the model says it reads
    better cut (both sides more surely than the whole)."""
    left, top, right, bottom = parts.box_of(members, columns)
    width, height = right - left, bottom - top
    if width <= SPLIT_ASPECT * height or depth >= MAX_DIGITS:
        return [columns]
    piece = parts.cut_out(members, (int(left), int(right)))
    # cut_out widened the piece by its halo on the left, unless it met the image's edge
    offset = int(left) - max(int(left) - HALO, 0)
    cuts = column_cuts(piece[:, offset : offset + int(width)], int(left), int(height))
    if not cuts:
        return [columns]
    candidates = [parts.model_input(members, columns)]
    for cut in cuts:
        candidates += [
            parts.model_input(members, (columns[0], cut)),
            parts.model_input(members, (cut, columns[1])),
        ]
    confidence = judge(candidates)
    scores = confidence[1::2] * confidence[2::2]
    best = int(np.argmax(scores))
    if scores[best] <= confidence[0]:
        return [columns]
    cut = cuts[best]
    return split_touching(parts, members, (columns[0], cut), judge, depth + 1) + split_touching(
        parts, members, (cut, columns[1]), judge, depth + 1
    )


def ink_parts(ink: np.ndarray, judge: Judge) -> list[DigitPart]:
    """The digits of a number in an ink map (uint8 0..255 or float 0..1, ink bright)."""
    full_scale = 255.0 if ink.dtype == np.uint8 else 1.0
    peak = float(ink.max()) if ink.size else 0.0
    if peak < preprocessing.MIN_CONTRAST * full_scale:
        raise EmptyInput("No ink found: write a number, then send the drawing.")
    scale = 1.0
    if ink.size > WORK_PIXELS:
        scale = math.sqrt(WORK_PIXELS / ink.size)
        height, width = (max(1, round(side * scale)) for side in ink.shape)
        ink = preprocessing.resize(ink.astype(np.float32) / full_scale, height, width)
        peak, full_scale = float(ink.max()), 1.0
    # Every blob holds ink that ink_to_mnist takes for ink (MIN_CONTRAST), not only haze.
    threshold = max(preprocessing.INK_THRESHOLD * peak, preprocessing.MIN_CONTRAST * full_scale)
    blobs = connected_blobs(ink >= threshold)
    parts = InkParts(ink, blobs)
    everything = (0, ink.shape[1])
    pieces = main_blobs(blobs.boxes)
    groups = [
        [pieces[k] for k in group]
        for group in without_specks(
            group_pieces(
                [blobs.boxes[i] for i in pieces],
                lambda members: parts.model_input([pieces[k] for k in members]),
                judge,
            ),
            [blobs.boxes[i] for i in pieces],
        )
    ]
    check_count(len(groups))
    digits = []
    for group in groups:
        for columns in split_touching(parts, group, everything, judge):
            check_count(len(digits) + 1)
            box = tuple(float(v) / scale for v in parts.box_of(group, columns))
            digits.append(DigitPart(box, parts.model_input(group, columns)))  # type: ignore[arg-type]
    return left_to_right(digits)


def image_parts(
    data: bytes, judge: Judge, max_pixels: int = 4096 * 4096, max_side: int = 4096
) -> list[DigitPart]:
    """The digits of a number in an encoded image (boxes in the image's pixels)."""
    image = preprocessing.decode_image(data, max_pixels, max_side)
    return ink_parts(preprocessing.image_to_ink(image), judge)


def pixels_parts(pixels: object, judge: Judge) -> list[DigitPart]:
    """The digits of a number in 28x28 pixels (white on black), split as an image is."""
    return ink_parts(preprocessing.pixels_to_mnist(pixels), judge)


# --- the answer -----------------------------------------------------------------------------------

# Until the not-a-digit work (app.honesty) is merged, a digit's digit_score is the softmax maximum
# and is_digit that score against this threshold: the published baseline, the one place to change.
PLACEHOLDER_DIGIT_THRESHOLD = 0.5


def model_judge(model: Model) -> Judge:
    """The model's confidence in each candidate, for the splitting's doubtful cases."""

    def judge(images: list[np.ndarray]) -> np.ndarray:
        return model.predict(np.stack(images) * 255.0).max(axis=1)

    return judge


def read_digits(parts: Sequence[DigitPart], model: Model) -> list[dict[str, object]]:
    """Every digit through the model in one batch: its answer and its box."""
    probabilities = model.predict(np.stack([part.image for part in parts]) * 255.0)
    return [
        {**digit_fields(row), "box": [round(value, 2) for value in part.box]}
        for part, row in zip(parts, probabilities, strict=True)
    ]


def digit_fields(probabilities: np.ndarray) -> dict[str, object]:
    """digit, confidence, probabilities, is_digit and digit_score of one digit of a number.

    The one place where a number's digits get their is_digit verdict: point it at the same
    function /predict uses once that exists.
    """
    digit = int(probabilities.argmax())
    score = float(probabilities[digit])
    return {
        "digit": digit,
        "confidence": score,
        "probabilities": probabilities.tolist(),
        "is_digit": score >= PLACEHOLDER_DIGIT_THRESHOLD,
        "digit_score": score,
    }
